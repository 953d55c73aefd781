"""FID, KID and SWD of `nuclei-3d` volumes as `synthscope generate` writes them, for the 3D model card.

    OMP_NUM_THREADS=1 .venv/bin/python scripts/evaluate_3d_model.py --out runs/eval-3d [--count 8] [--limit 384]
        [--card src/synthscope/models/nuclei-fluo-3d/card.md]

Generates ``--count`` volumes of the preset `nuclei-3d` (refined by its default model,
`nuclei-fluo-3d`) and scores the refined volumes and their raw sketches against the
held-out planes of the real volume (`sample_data.nuclei_3d_zoomed`, planes
``sample_data.NUCLEI_3D_SPLITS["test"]``):

- XY: 32 x 32 patches of every plane (160 real patches: halves of 80, enough for FID);
- XZ/YZ: the 11 x 64 strips of `synthscope.evaluate.section_strips` after resampling in z
  to square pixels (128 real strips). As measured for the model card and
  docs/benchmarks.md, every volume is resampled twice (0.58 to 0.52 um, then once more as
  if it were still 0.58 um), which stretches real and synthetic volumes alike in z by a
  further 0.58 / 0.52 (`compare_3d.py` resamples once).

At most ``--limit`` synthetic patches per view are scored (Inception features cost
about 0.3 CPU s per patch here), at the same random positions for sketches and refined
volumes. Each next to the real-vs-real floor (two random halves of the real patches). Writes
``OUT/realism-3d.json``, prints a markdown table and, with ``--card``, appends it to the
model card that `compare_3d.py --install` wrote.
"""

import argparse
import json
from pathlib import Path

import numpy as np

from synthscope.evaluate import realism, resample_z, section_strips, to_patches
from synthscope.io import read_dataset
from synthscope.pipeline import generate
from synthscope.sample_data import NUCLEI_3D_SPLITS, nuclei_3d_zoomed

XY_PATCH = 32
CARD_SECTION = """## FID as generated (scripts/evaluate_3d_model.py)
{count} volumes of preset `nuclei-3d` (24x128x128, seed {seed}) as `synthscope generate` writes them (refined by this \
model, masks updated), against the held-out planes 20-29: XY as 32x32 patches (160 real: halves of 80, enough for \
FID), XZ/YZ as the 11x64 strips above; {limit} synthetic patches per view at the same positions for sketches and \
refined volumes.

"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--count", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1000)
    parser.add_argument("--limit", type=int, default=384, help="synthetic patches scored per view and kind")
    parser.add_argument("--card", type=Path, help="append the table to this model card")
    args = parser.parse_args()
    root = generate("nuclei-3d", count=args.count, out=args.out / "data", rng=args.seed)
    items = list(read_dataset(root))
    volume, spacing = nuclei_3d_zoomed()
    real = volume[NUCLEI_3D_SPLITS["test"]]

    def resampled(volume):
        return resample_z(volume, spacing=spacing["Z"], target=spacing["X"])

    depth = len(resampled(real))

    def cut(volume, view):
        if view == "xy":
            return list(to_patches([volume], size=XY_PATCH))
        return list(section_strips(resampled(resampled(volume)), depth=depth))  # twice: see the module docstring

    scores = {}
    for view in ("xy", "xz"):
        reference = cut(real, view)
        pick = None
        for kind in ("sketch", "image"):
            patches = [p for item in items for p in cut(getattr(item, kind), view)]
            if pick is None:  # the same positions for both kinds, so that they pair up
                pick = np.sort(np.random.default_rng(0).permutation(len(patches))[: args.limit])
            report = realism(reference, [patches[i] for i in pick], rng=0)
            scores[f"{kind}/{view}"] = {
                **report["metrics"],
                "n_candidate": report["n_candidate"],
                "n_reference": len(reference),
            }
    (args.out / "realism-3d.json").write_text(json.dumps(scores, indent=2) + "\n")
    lines = ["| volumes | view | FID | KID | SWD | patches (synthetic / real) |", "|---|---|---|---|---|---|"]
    for view in ("xy", "xz"):
        name = {"xy": "XY", "xz": "XZ/YZ"}[view]
        floor = scores[f"sketch/{view}"]
        lines.append(
            f"| real vs real (floor) | {name} | "
            + " | ".join(f"{floor[m]['floor']:.4g}" for m in ("fid", "kid", "swd"))
            + " | |"
        )
        for kind, label in (("sketch", "raw sketches"), ("image", "refined by nuclei-fluo-3d")):
            got = scores[f"{kind}/{view}"]
            lines.append(
                f"| {label} | {name} | "
                + " | ".join(f"{got[m]['score']:.4g}" for m in ("fid", "kid", "swd"))
                + f" | {got['n_candidate']} / {got['n_reference']} |"
            )
    table = "\n".join(lines) + "\n"
    print(table)
    if args.card:
        args.card.write_text(
            args.card.read_text().rstrip("\n")
            + "\n\n"
            + CARD_SECTION.format(count=args.count, seed=args.seed, limit=args.limit)
            + table
        )


if __name__ == "__main__":
    main()
