"""Few-step students against their 10-step teachers: realism, CPU time, downstream AP.

    python benchmarks/distill.py --specimens-out runs/specimens [--patch-size 32] [--max-patches 512]
        [--arm LABEL=ARM ...]

For each bundled student, its preset's teacher arm and student arm of ``benchmarks/specimens.py`` (the same 32
sketches, seed 1000, refined once by each), and any further arms given with ``--arm`` (e.g.
a narrower student), prints:

- realism (KID, FID, SWD on 32x32 patches) of the refined images against the held-out real
  test images of each specimen (``synthscope.sample_data.SPECIMENS``), next to the raw
  sketches and the real-vs-real floor (two random halves of the real patches). The
  Inception features of every set are computed once; each set is cut to at most
  ``--max-patches`` random patches (HeLa's test images give 4,284), the same for every row
  (``--patch-seed`` draws others: the spread of the figures over draws);
- AP@0.5 of the specimens benchmark's fixed segmenter (3 seeds) trained on each, read from
  the arms' score files;
- CPU seconds of one refinement of a 256x256 item of the preset by each (its network
  evaluations; one thread), and the ratio to the published 400-step schedule measured by
  ``benchmarks/sampling.py`` (given with ``--published-seconds``).

Run ``benchmarks/specimens.py`` with the arms first.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from synthscope.evaluate import fid, inception_features, kid, swd, to_patches
from synthscope.io import read_dataset
from synthscope.maker import ItemMaker
from synthscope.refine import condition
from synthscope.sample_data import SPECIMENS

sys.path.insert(0, str(Path(__file__).parent))
from specimens import _file_name, _parse  # noqa: E402  (the arms' folder names and settings)

STUDENT = "@refine.sampler=ddim@refine.steps=2"
#: preset -> (its benchmark arm refined by the teacher, the same by the student).
PAIRS = {
    "nuclei-2d": (
        "nuclei-2d@refine.model=nuclei-fluo-2d-out-of-plane@refine.sampler=dpm@refine.steps=10",
        "nuclei-2d@refine.model=nuclei-fluo-2d-out-of-plane-distilled" + STUDENT,
    ),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--specimens-out", type=Path, default=Path("runs/specimens"))
    parser.add_argument("--patch-size", type=int, default=32)
    parser.add_argument("--max-patches", type=int, default=512, help="random patches kept of each set")
    parser.add_argument("--patch-seed", type=int, default=0, help="seed of the draw of patches (the figure's spread)")
    parser.add_argument("--published-seconds", type=float, default=262.0, help="CPU s of the 400-step schedule")
    parser.add_argument("--arm", action="append", default=[], help="LABEL=ARM: one more row for every preset")
    args = parser.parse_args()
    torch.set_num_threads(1)
    extra = dict(pair.split("=", 1) for pair in args.arm)
    real = {}
    for name, specimen in SPECIMENS.items():
        patches = to_patches(list(specimen.load("test")[0]), size=args.patch_size)
        patches = _some(patches, args.max_patches, args.patch_seed)
        real[name] = {"patches": patches, "features": inception_features(patches)}
    results = {}
    for preset, (teacher, student) in PAIRS.items():
        rows = {}
        for role, arm in {"teacher": teacher, "student": student, **extra}.items():
            items = list(read_dataset(args.specimens_out / "shared" / _file_name(arm)))
            rows[role] = {"arm": arm, "images": [item.image for item in items]}
            rows[role]["seconds"] = _refine_seconds(preset, arm)
            rows[role]["ap50"] = _ap50(args.specimens_out, arm)
        rows = {"sketches": {"images": [item.sketch for item in items]}, **rows}
        for row in rows.values():
            patches = _some(to_patches(row.pop("images"), size=args.patch_size), args.max_patches, args.patch_seed)
            row["realism"] = _realism(real, patches)
        results[preset] = rows
        print(_table(preset, rows, _floor(real), args.published_seconds), flush=True)
    out = args.specimens_out / "distill.json"
    out.write_text(json.dumps(results, indent=2, default=float) + "\n")
    print(f"wrote {out}")


def _some(patches, count, seed):
    """At most `count` of `patches`, drawn at random (the same draw for sets of one size)."""
    if len(patches) <= count:
        return list(patches)
    keep = np.random.default_rng(seed).choice(len(patches), count, replace=False)
    return [patches[i] for i in np.sort(keep)]


def _realism(real, patches):
    """KID, FID and SWD of `patches` against each specimen's real patches."""
    features = inception_features(patches)
    return {
        name: {
            "kid": kid(ref["features"], features, rng=0),
            "fid": fid(ref["features"], features),
            "swd": swd(ref["patches"], patches, rng=0),
        }
        for name, ref in real.items()
    }


def _floor(real):
    """The same metrics between two random halves of each specimen's real patches."""
    floor = {}
    for name, ref in real.items():
        order = np.random.default_rng(0).permutation(len(ref["patches"]))
        a, b = np.array_split(order, 2)
        floor[name] = {
            "kid": kid(ref["features"][a], ref["features"][b], rng=0),
            "fid": fid(ref["features"][a], ref["features"][b]),
            "swd": swd([ref["patches"][i] for i in a], [ref["patches"][i] for i in b], rng=0),
        }
    return floor


def _refine_seconds(preset, arm, repeats=3):
    """CPU seconds of one refinement (no annotation update) of item 0 of `preset` with the arm's settings."""
    from synthscope.diffusion import Stage, refine

    _, settings = _parse(arm)
    maker = ItemMaker(preset, rng=1000, settings=settings)
    item = ItemMaker(preset, rng=1000, settings=settings | {"refine.model": None})(0)
    spec = maker.refine
    options = {"condition": condition(item, spec.condition), "sampler": spec.sampler, "steps": spec.steps, "rng": 0}
    stages = [Stage(t_start=stage.t) for stage in spec.plan]
    refine(maker.denoiser, item.sketch, stages=stages, **options)  # warm-up
    times = []
    for _ in range(repeats):
        began = time.process_time()
        refine(maker.denoiser, item.sketch, stages=stages, **options)
        times.append(time.process_time() - began)
    return min(times)


def _ap50(root, arm):
    scores = {}
    for name in SPECIMENS:
        path = root / name / "scores" / f"{_file_name(arm)}.json"
        if path.is_file():
            scores[name] = json.loads(path.read_text())["ap50"]
    return scores


def _table(preset, rows, floor, published):
    header = " | ".join(f"{n} KID / FID / SWD" for n in SPECIMENS)
    lines = [f"\n{preset}", f"| | {header} | AP@0.5 | CPU s (x published) |"]
    lines.append("|---" * (len(SPECIMENS) + 3) + "|")
    for role, row in rows.items():
        cells = [_metrics(row["realism"][name]) for name in SPECIMENS]
        ap = " / ".join(f"{v['mean']:.3f}" for v in row.get("ap50", {}).values()) or "-"
        seconds = f"{row['seconds']:.2f} ({published / row['seconds']:.0f}x)" if "seconds" in row else "-"
        lines.append(f"| {role} | " + " | ".join(cells) + f" | {ap} | {seconds} |")
    lines.append("| real vs real (floor) | " + " | ".join(_metrics(floor[n]) for n in SPECIMENS) + " | | |")
    return "\n".join(lines)


def _metrics(metrics):
    return f"{metrics['kid']:.4f} / {metrics['fid']:.1f} / {metrics['swd']:.3f}"


if __name__ == "__main__":
    main()
