"""Does synthscope data help a segmenter? The three downstream targets, end to end.

    python benchmarks/downstream_targets.py --out runs/targets [--count 32] [--seeds 0,1,2]
        [--steps 600] [--model NAME|PATH] [--base nuclei-2d] [--set KEY=VALUE ...]
        [--k-real 1,2] [--skip-full] [--learned nuclei-2d-learned] [--specimen cells3d]

Real data: ``synthscope.sample_data.nuclei_2d`` (training slices z 20-35, held-out
slices z 40-51, 0.52 um pixels), or another specimen of ``synthscope.sample_data.SPECIMENS``
with its fixed split (``--specimen``). Every score is AP@0.5 of the fixed segmenter of
``synthscope.evaluate.downstream_benchmark`` on the held-out images; mean and sample
standard deviation over the seeds.

1. All 16 real training slices: ``synthscope.phantoms.fit`` fits a preset to them;
   ``synthscope.generate`` makes `count` items of it, refined as the base preset refines
   (or by `model`), and the same phantoms as raw sketches (same seeds). The segmenter
   is trained on the real slices, on the sketches, on the refined images, and on real +
   refined.
   Targets: refined >= 90% of real; refined >= sketches + 0.05.
2. Only `k` real slices (k in --k-real): for each seed the same `k` slices that the
   benchmark draws are the only examples for the fit, and a data set is generated
   from that fit. Real alone against real + refined (half of the patches real).
   Target: real + refined >= real + 0.03.

With ``--learned PRESET`` the data are drawn by the ``learned`` generator (masks of the
mask model): each fitted preset is converted by `synthscope.phantoms.learned.as_learned`
(sizes, density, out-of-plane nuclei, mitotic share and brightness from the fit), and
the other ``learned`` settings (model, specimen class, touching, gap, sampling) and the
refinement are those of PRESET.

Writes every data set, fitted preset and report under ``--out`` (rerunning resumes the
data sets) and prints one table; ``targets.json`` holds all runs.
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
import yaml

from synthscope.evaluate import downstream_benchmark
from synthscope.io import read_dataset
from synthscope.phantoms import load_preset
from synthscope.phantoms.fit_report import fit_report
from synthscope.phantoms.learned import SHARED_KEYS, as_learned
from synthscope.pipeline import generate
from synthscope.sample_data import SPECIMENS


def fitted_data(images, labels, folder, *, base, count, settings, seed, learned=None, spacing=None, sketches=True):
    """Fit a preset to the examples, write it, and generate refined items and their raw sketches.

    `learned` (a preset of the ``learned`` generator, or None): draw the fitted objects with
    it, as the module notes say. With `sketches` False no sketches are made (None returned).
    """
    folder.mkdir(parents=True, exist_ok=True)
    preset, report = fit_report(images, labels, base=base, spacing=spacing, check_count=4, rng=seed)
    if learned is not None:
        own = {key: value for key, value in learned["learned"].items() if key not in SHARED_KEYS}
        preset = as_learned(preset, **own) | {"refine": learned["refine"]}
    path = folder / "preset.yaml"
    path.write_text(yaml.safe_dump(preset, sort_keys=False))
    (folder / "fit.json").write_text(json.dumps(report, indent=2) + "\n")
    started = time.perf_counter()
    refined = generate(path, count=count, out=folder / "refined", rng=seed, settings=settings)
    seconds = time.perf_counter() - started
    raw = None
    if sketches:
        raw = _pairs(generate(path, count=count, out=folder / "sketches", rng=seed, settings={"refine.model": None}))
    return _pairs(refined), raw, seconds / count


def _pairs(root):
    items = list(read_dataset(root))
    return [item.picture for item in items], [item.labels for item in items]


def ap50(report, condition):
    return report["conditions"][condition]["ap50"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--count", type=int, default=32)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--model", help="refinement model instead of the base preset's")
    parser.add_argument("--base", default="nuclei-2d")
    parser.add_argument("--set", action="append", default=[], help="preset setting KEY=VALUE (YAML value)")
    parser.add_argument("--k-real", default="1,2")
    parser.add_argument("--skip-full", action="store_true", help="only the few-real-images part")
    parser.add_argument("--learned", help="draw the fitted objects by this preset of the learned generator")
    parser.add_argument("--specimen", default="cells3d", choices=list(SPECIMENS))
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    settings = {k: yaml.safe_load(v) for k, v in (s.split("=", 1) for s in args.set)}
    if args.model:
        settings["refine.model"] = args.model
    specimen = SPECIMENS[args.specimen]
    train, test = specimen.load("train"), specimen.load("test")
    spacing = None if args.specimen == "cells3d" else [specimen.pixel_size] * 2  # cells3d: as the runs before
    options = dict(steps=args.steps, seeds=seeds)
    learned = load_preset(args.learned) if args.learned else None
    results = {"settings": vars(args) | {"out": str(args.out)}, "full": None, "few": {}}
    rows = []

    if not args.skip_full:
        refined, sketches, seconds = fitted_data(
            list(train[0]),
            list(train[1]),
            args.out / "full",
            base=args.base,
            count=args.count,
            settings=settings,
            learned=learned,
            spacing=spacing,
            seed=1000,
        )
        on_refined = downstream_benchmark(train, test, synthetic=refined, **options)
        on_sketches = downstream_benchmark(train, test, synthetic=sketches, k_real=0, **options)
        results["full"] = {"refined": on_refined, "sketches": on_sketches, "seconds_per_item": seconds}
        real, synthetic = ap50(on_refined, "real"), ap50(on_refined, "synthetic")
        rows += [
            ("real (16 slices)", real),
            ("sketches of the fitted preset", ap50(on_sketches, "synthetic")),
            ("refined, fitted preset", synthetic),
            ("real + refined", ap50(on_refined, "real+synthetic")),
        ]
        print(
            f"refined / real = {synthetic['mean'] / real['mean']:.3f} (target >= 0.90); refined - sketches = "
            f"{synthetic['mean'] - ap50(on_sketches, 'synthetic')['mean']:+.3f} (target >= +0.05)"
        )
        save(args.out, results, rows)

    for k in (int(v) for v in args.k_real.split(",") if v):
        runs = []
        for seed in seeds:
            chosen = np.sort(np.random.default_rng(seed).choice(len(train[0]), k, replace=False))
            examples = ([train[0][i] for i in chosen], [train[1][i] for i in chosen])
            refined, _, _ = fitted_data(
                *examples,
                args.out / f"k{k}-seed{seed}",
                base=args.base,
                count=args.count,
                settings=settings,
                learned=learned,
                spacing=spacing,
                sketches=False,
                seed=1000 + seed,
            )
            runs.append(
                downstream_benchmark(
                    train, test, synthetic=refined, k_real=k, real_fraction=0.5, steps=args.steps, seeds=[seed]
                )
            )
        real = [r["conditions"]["real"]["runs"][0]["ap50"] for r in runs]
        both = [r["conditions"]["real+synthetic"]["runs"][0]["ap50"] for r in runs]
        results["few"][k] = {"real": real, "real+synthetic": both, "reports": runs}
        rows += [(f"real ({k} slice{'s' * (k > 1)})", _stats(real)), (f"real ({k}) + refined", _stats(both))]
        print(f"k={k}: real + refined - real = {np.mean(both) - np.mean(real):+.3f} (target >= +0.03)")
        save(args.out, results, rows)
    print(table(rows))


def save(out, results, rows):
    """Write what is measured so far: ``targets.json`` (every run) and ``targets.md`` (the table)."""
    (out / "targets.json").write_text(json.dumps({**results, "table": rows}, indent=2, default=float) + "\n")
    (out / "targets.md").write_text(table(rows))


def table(rows):
    lines = ["| training data | AP@0.5 mean | sd | min | max |", "| --- | --- | --- | --- | --- |"]
    lines += [f"| {name} | {s['mean']:.3f} | {s['std']:.3f} | {s['min']:.3f} | {s['max']:.3f} |" for name, s in rows]
    return "\n".join(lines) + "\n"


def _stats(values):
    values = np.asarray(values, float)
    return {
        "mean": values.mean(),
        "std": values.std(ddof=1) if values.size > 1 else 0.0,
        "min": values.min(),
        "max": values.max(),
    }


if __name__ == "__main__":
    main()
