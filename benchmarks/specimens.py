"""Does synthscope data help a segmenter on specimens it was not made for? One table per specimen.

    python benchmarks/specimens.py --out runs/specimens [--specimens hela,cho,cells3d]
        [--count 32] [--seeds 0,1,2] [--steps 600] [--adapt-steps 1000] [--arms ...]

The downstream protocol of ``benchmarks/downstream_targets.py`` (the fixed segmenter of
``synthscope.evaluate.downstream_benchmark``, trained per seed on each source alone and
scored by AP@0.5 on the specimen's held-out real images), run on every specimen of
``synthscope.sample_data.SPECIMENS`` with its fixed split. Arms:

- ``real``: the specimen's real training images;
- ``ellipses``: naive sketches (smooth ellipses of one intensity each, blur, noise, no
  texture, no out-of-focus light), sizes, density, brightness, blur and noise fitted to
  the real training labels, 256x256;
- ``nuclei-2d``: ``synthscope generate nuclei-2d`` with its defaults, as a user with no
  images of their own would run it;
- ``broad-sketches`` and ``broad``: the zero-shot preset ``nuclei-2d-broad`` (every image
  draws its own sizes, density, brightness, blur, noise, texture), as sketches and refined
  by its model trained on every specimen but the one scored
  (``scripts/train_broad_model.py --without NAME --out BROAD_MODELS/without-NAME``);
- ``learned`` (not run by default): ``nuclei-2d-learned``, masks drawn by the mask model;
- ``PATH.yaml`` (not run by default): ``generate`` of any preset file, e.g. a candidate
  preset before it is bundled (made once, under OUT/shared, like ``nuclei-2d``);
- ``fit-sketches``: sketches of the preset ``synthscope fit`` makes from the training
  labels, not refined;
- ``fit`` and ``learned-fit`` (not run by default): that fitted preset refined as
  ``nuclei-2d-learned`` refines (by the bundled model, trained on cells3d), its objects
  drawn by the rule-based ``nuclei`` generator (``fit``) or by the mask model of the
  specimen's class (``learned-fit``: `synthscope.phantoms.learned.as_learned`, touching
  and gap as `PACKING`), to compare the two generators on every specimen with all else
  equal;
- ``ellipses+KEY`` (not run by default; e.g. ``ellipses+render.texture``): the naive
  baseline with one of its switched-off features (a key of `NAIVE`) as the fit set it,
  to find which feature of the sketches misleads a segmenter;
- ``ARM@KEY=VALUE[@KEY=VALUE]`` (not run by default): any arm with preset settings changed
  for its data (e.g. ``adapt-labels@refine.t_start=250``,
  ``adapt-labels@refine.model=nuclei-fluo-2d``: the fitted preset refined by the bundled
  model, not fine-tuned);
- ``adapt-labels``: ``synthscope adapt`` with the training images and labels
  (fine-tuned model, fitted preset), then ``generate``;
- ``adapt-images``: ``synthscope adapt`` with the training images only. Fine-tuning
  reads no labels, so this arm reuses the model of ``adapt-labels`` (same images, seed
  and steps) and only fits its preset anew, from nuclei found by ``label_nuclei``.

Nothing is fitted or trained on a specimen's test images. The only model trained on a
specimen before the benchmark is the bundled ``nuclei-fluo-2d`` (cells3d training
slices), which every adapted model starts from. Everything is written under ``--out``
(rerunning resumes: finished data sets, adaptations and scores are kept; several
processes may share one ``--out`` with different ``--arms``); ``NAME/scores/ARM.json``
holds each arm's runs, ``specimens.json`` all of them and ``specimens.md`` the table.
"""

import argparse
import json
import re
import shutil
import time
from pathlib import Path
from urllib.parse import quote, unquote

import yaml

from synthscope.adapt import BASE, adapt
from synthscope.diffusion import load_denoiser
from synthscope.evaluate import downstream_benchmark
from synthscope.io import read_dataset, write_text
from synthscope.phantoms import load_preset
from synthscope.phantoms.learned import as_learned
from synthscope.phantoms.mask_model import model_specimens
from synthscope.pipeline import generate
from synthscope.sample_data import SPECIMENS

ARMS = (
    "real",
    "ellipses",
    "nuclei-2d",
    "broad-sketches",
    "broad",
    "fit-sketches",
    "adapt-labels",
    "adapt-images",
)
# Arms whose data do not depend on the specimen: made once, under OUT/shared.
SHARED = {
    "nuclei-2d": ("nuclei-2d", {}),
    "broad": ("nuclei-2d-broad", {}),  # with refine.model set; without it, see _source
    "broad-sketches": ("nuclei-2d-broad", {"refine.model": None}),
    "learned": ("nuclei-2d-learned", {}),  # learned masks (issue 19); not run by default
}
# What makes the ellipse baseline naive: everything but size, density, brightness, blur and noise off.
NAIVE = {
    "nuclei.roughness": 0.0,
    "nuclei.mitotic_fraction": 0.0,
    "nuclei.dividing_fraction": 0.0,
    "nuclei.out_of_focus_fraction": 0.0,
    "nuclei.out_of_plane": 0.0,
    "nuclei.clusters": 0,
    "render.texture": 0.0,
    "render.haze": 0.0,
    "render.background": 0.0,
    "refine.model": None,
}
SEED = 1000  # base seed of every generated data set
# Touching share and gap of `learned-fit`: benchmarks/learned_masks.py's calibration on each training split.
PACKING = {
    "cells3d": {"touching": 0.1, "gap": 2},
    "hela": {"touching": 0.0, "gap": 2},
    "cho": {"touching": 0.1, "gap": 3},
}
# Arm and specimen pairs whose refinement model was trained on that specimen's training images.
SEEN = {
    ("cells3d", arm)
    for arm in ("nuclei-2d", "broad@refine.model=nuclei-fluo-2d@refine.condition=null", "learned", "fit", "learned-fit")
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--specimens", default=",".join(SPECIMENS))
    parser.add_argument("--arms", default=",".join(ARMS))
    parser.add_argument("--count", type=int, default=32)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--steps", type=int, default=600, help="segmenter training steps")
    parser.add_argument("--adapt-steps", type=int, default=1000, help="fine-tuning steps of adapt")
    parser.add_argument(
        "--broad-models",
        type=Path,
        default=Path("runs/broad-models"),
        help="folder of the broad preset's models trained without each specimen (without-NAME)",
    )
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    arms = re.split(r",(?![^\[]*\])", args.arms)  # commas inside [...] belong to a value
    for name in args.specimens.split(","):
        specimen = SPECIMENS[name]
        train, test = specimen.load("train"), specimen.load("test")
        folder = args.out / name
        for arm in arms:
            scores = folder / "scores" / f"{_file_name(arm)}.json"
            if scores.is_file():
                continue
            started = time.perf_counter()
            synthetic, extra = _source(arm, specimen, train, folder, args)
            report = downstream_benchmark(
                train, test, synthetic=synthetic, k_real=None if arm == "real" else 0, steps=args.steps, seeds=seeds
            )
            condition = "real" if arm == "real" else "synthetic"
            result = {
                "ap50": report["conditions"][condition]["ap50"],
                "runs": report["conditions"][condition]["runs"],
                "settings": report["settings"],
                "seconds": time.perf_counter() - started,
                **extra,
            }
            print(f"{name} {arm}: AP@0.5 {_cell(result['ap50'])}", flush=True)
            write_text(scores, json.dumps(result, indent=2, default=float) + "\n")
            results = collect(args.out)  # every arm scored so far, by any process writing to --out
            write_text(args.out / "specimens.json", json.dumps(results, indent=2, default=float) + "\n")
            write_text(args.out / "specimens.md", table(results))
    print(table(collect(args.out)))


def collect(out):
    """``{specimen: {arm: result}}`` of every arm scored under `out`, specimens in `SPECIMENS` order."""
    results = {}
    for name in SPECIMENS:
        files = sorted((out / name / "scores").glob("*.json"), key=lambda f: f.stat().st_mtime)
        if files:
            results[name] = {unquote(f.stem): json.loads(f.read_text()) for f in files}
    return results


def _source(arm, specimen, train, folder, args):
    """The training pairs of `arm` (None for the real images) and what making them cost."""
    kind, changes = _parse(arm)
    made_in = folder / _file_name(arm)
    if kind == "real":
        return None, {}
    if kind == "broad" and "refine.model" not in changes:  # its model without this specimen's images
        model = args.broad_models / f"without-{specimen.name}"
        if not (model / "config.json").is_file():
            raise SystemExit(f"{model}: make it with scripts/train_broad_model.py --without {specimen.name}")
        settings = {"refine.model": str(model.resolve())} | changes
        return _pairs(generate("nuclei-2d-broad", count=args.count, out=made_in, rng=SEED, settings=settings)), {}
    if kind in SHARED or kind.endswith(".yaml"):
        preset, settings = SHARED.get(kind, (Path(kind), {}))
        shared = args.out / "shared" / _file_name(arm)
        made = generate(preset, count=args.count, out=shared, rng=SEED, settings=settings | changes)
        return _pairs(made), {}
    base = changes.pop("base", None)  # an adapt option, not a preset setting
    adapted = _adapted(specimen, train, folder, args, labels=kind != "adapt-images", base=base)
    preset = adapted / "preset.yaml"
    if kind in ("adapt-labels", "adapt-images"):
        record = json.loads((adapted / "adapt.json").read_text())
        started = time.perf_counter()
        data = _pairs(generate(preset, count=args.count, out=made_in, rng=SEED, settings=changes))
        costs = {"adapt_seconds": record["seconds"], "adapt_cpu_seconds": record["cpu_seconds"]}
        return data, {**costs, "generate_seconds_per_item": (time.perf_counter() - started) / args.count}
    if kind in ("fit", "learned-fit"):  # the same fitted preset, refined as nuclei-2d-learned refines
        fitted = yaml.safe_load(preset.read_text())
        if kind == "learned-fit":
            model = load_preset(SHARED["learned"][0])["learned"]["model"]
            own = specimen.name if specimen.name in model_specimens(model) else "any"
            fitted = as_learned(fitted, model=model, specimen=own, **PACKING.get(specimen.name, {}))
        fitted["refine"] = load_preset(SHARED["learned"][0])["refine"]
        preset = folder / f"{_file_name(arm)}.yaml"
        write_text(preset, yaml.safe_dump(fitted, sort_keys=False))
        return _pairs(generate(preset, count=args.count, out=made_in, rng=SEED, settings=changes)), {}
    if kind.startswith("ellipses+"):  # the naive baseline with one feature of the fitted preset back
        settings = {key: value for key, value in NAIVE.items() if key != kind.removeprefix("ellipses+")}
    else:
        settings = {"refine.model": None} if kind == "fit-sketches" else NAIVE
    return _pairs(generate(preset, count=args.count, out=made_in, rng=SEED, settings=settings | changes)), {}


def _file_name(arm):
    """`arm` as a file or folder name: a model path's slashes (``@refine.model=runs/m``) escaped."""
    return quote(arm, safe="@=+,.-_[]")


def _parse(arm):
    """``"adapt-labels@refine.t_start=250"`` -> ``("adapt-labels", {"refine.t_start": 250})``."""
    kind, *changes = arm.split("@")
    return kind, {key: yaml.safe_load(value) for key, value in (change.split("=", 1) for change in changes)}


def _adapted(specimen, train, folder, args, *, labels, base=None):
    """The folder of ``adapt`` on the training split, with or without its labels (made once).

    `base` is the model fine-tuned (adapt's default when None).
    """
    out = folder / "adapted" / (("labels" if labels else "images") + (f"-{base}" if base else ""))
    if (out / "adapt.json").is_file():
        return out
    options = {} if base is None else {"base": base}
    if not labels and not load_denoiser(base or BASE).config.condition_channels:
        # an unconditional model reads no labels: the labelled run's model is this run's too
        model = _adapted(specimen, train, folder, args, labels=True, base=base) / "model"
        shutil.copytree(model, out / "model", dirs_exist_ok=True)
    images, annotation = train
    adapt(
        list(images),
        out,
        labels=list(annotation) if labels else None,
        spacing=[specimen.pixel_size] * 2,
        steps=args.adapt_steps,
        normalisation={"method": "percentile", "low": 1.0, "high": 99.8, "of": "each image"},
        rng=0,
        **options,
    )
    return out


def _pairs(root):
    items = list(read_dataset(root))
    return [item.picture for item in items], [item.labels for item in items]


def _cell(summary):
    return f"{summary['mean']:.3f} ± {summary['std']:.3f}"


def table(results):
    """One row per arm, one column per specimen: AP@0.5 mean ± sd, and the share of real."""
    names = list(results)
    seen_arms = list(dict.fromkeys(arm for by_arm in results.values() for arm in by_arm))
    arms = [arm for arm in ARMS if arm in seen_arms] + [arm for arm in seen_arms if arm not in ARMS]
    lines = ["| arm | " + " | ".join(names) + " |", "| --- |" + " --- |" * len(names)]
    for arm in arms:
        cells = []
        for name in names:
            result, real = results[name].get(arm), results[name].get("real", {}).get("ap50", {}).get("mean")
            if result is None:
                cells.append("")
                continue
            share = f" ({result['ap50']['mean'] / real:.0%})" if real and arm != "real" else ""
            seen = " (model saw this specimen)" if (name, arm) in SEEN else ""
            cells.append(_cell(result["ap50"]) + share + seen)
        lines.append(f"| {arm} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
