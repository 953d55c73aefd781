"""One-step students against their 10-step teachers: realism, CPU time, downstream AP.

    python benchmarks/distill.py --specimens-out runs/specimens [--patch-size 32]

For each bundled student, its preset's teacher arm and student arm of ``benchmarks/specimens.py`` (the same 32
sketches, seed 1000, refined once by each), prints:

- realism (FID, KID, SWD on 32x32 patches) of the refined images against the held-out real
  test images of each specimen (``synthscope.sample_data.SPECIMENS``), next to the raw
  sketches and the real-vs-real floor;
- AP@0.5 of the specimens benchmark's fixed segmenter (3 seeds) trained on each, read from
  the arms' score files, and the student's difference to its teacher;
- CPU seconds of one refinement of a 256x256 item of the preset by each (its network
  evaluations; one thread), and the ratio to the published 400-step schedule measured by
  ``benchmarks/sampling.py`` (given with ``--published-seconds``).

Run ``benchmarks/specimens.py`` with the arms of `PAIRS` first.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from synthscope.evaluate import realism, to_patches
from synthscope.io import read_dataset
from synthscope.maker import ItemMaker
from synthscope.refine import condition
from synthscope.sample_data import SPECIMENS

sys.path.insert(0, str(Path(__file__).parent))
from specimens import _file_name, _parse  # noqa: E402  (the arms' folder names and settings)

STUDENT = "@refine.sampler=ddim@refine.steps=1"
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
    parser.add_argument("--published-seconds", type=float, default=262.0, help="CPU s of the 400-step schedule")
    args = parser.parse_args()
    torch.set_num_threads(1)
    real = {name: to_patches(list(s.load("test")[0]), size=args.patch_size) for name, s in SPECIMENS.items()}
    results = {}
    for preset, arms in PAIRS.items():
        rows = {}
        for role, arm in zip(("teacher", "student"), arms):
            items = list(read_dataset(args.specimens_out / "shared" / _file_name(arm)))
            rows[role] = {"arm": arm, "images": [item.image for item in items]}
            rows[role]["seconds"] = _refine_seconds(preset, arm)
        rows["sketches"] = {"images": [item.sketch for item in items]}
        for row in rows.values():
            patches = to_patches(row.pop("images"), size=args.patch_size)
            row["realism"] = {name: realism(ref, patches, rng=0)["metrics"] for name, ref in real.items()}
            if "arm" in row:
                row["ap50"] = _ap50(args.specimens_out, row["arm"])
        results[preset] = rows
        print(_table(preset, rows, args.published_seconds), flush=True)
    out = args.specimens_out / "distill.json"
    out.write_text(json.dumps(results, indent=2, default=float) + "\n")
    print(f"wrote {out}")


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


def _table(preset, rows, published):
    header = " | ".join(f"{n} KID / FID / SWD" for n in SPECIMENS)
    lines = [f"\n{preset}", f"| | {header} | AP@0.5 | CPU s (x published) |"]
    lines.append("|---" * (len(SPECIMENS) + 3) + "|")
    floor = {n: rows["teacher"]["realism"][n] for n in SPECIMENS}
    for role, row in rows.items():
        cells = []
        for name in SPECIMENS:
            m = row["realism"][name]
            cells.append(_metrics(m, "score"))
        ap = " / ".join(f"{v['mean']:.3f}" for v in row.get("ap50", {}).values()) or "-"
        seconds = f"{row['seconds']:.2f} ({published / row['seconds']:.0f}x)" if "seconds" in row else "-"
        lines.append(f"| {role} | " + " | ".join(cells) + f" | {ap} | {seconds} |")
    cells = [_metrics(floor[name], "floor") for name in SPECIMENS]
    lines.append("| real vs real (floor) | " + " | ".join(cells) + " | | |")
    return "\n".join(lines)


def _metrics(metrics, which):
    """``KID / FID / SWD`` of one realism report's `which` ("score" or "floor"); "-" where not computed."""
    formats = {"kid": "{:.4f}", "fid": "{:.1f}", "swd": "{:.3f}"}
    return " / ".join(formats[k].format(metrics[k][which]) if k in metrics else "-" for k in formats)


if __name__ == "__main__":
    main()
