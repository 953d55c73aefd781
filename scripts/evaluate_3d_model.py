"""FID, KID and SWD of `nuclei-3d` volumes as `synthscope generate` writes them, for the 3D model card.

    OMP_NUM_THREADS=1 .venv/bin/python scripts/evaluate_3d_model.py --out runs/eval-3d [--count 8]

Generates ``--count`` volumes of the preset `nuclei-3d` (refined by its default model,
`nuclei-fluo-3d`) and scores the refined volumes and their raw sketches against the
held-out planes of the real volume (`compare_3d.real_volume`, planes `compare_3d.TEST`):

- XY: 32 x 32 patches of every plane (160 real patches: halves of 80, enough for FID);
- XZ/YZ: the 11 x 64 strips of `compare_3d.section_strips` after resampling in z to
  square pixels (128 real strips).

Each next to the real-vs-real floor (two random halves of the real patches). Writes
``OUT/realism-3d.json`` and prints a markdown table.
"""

import argparse
import json
from pathlib import Path

from compare_3d import SPACING, TEST, real_volume, resample_z, section_strips

from synthscope.evaluate import realism, to_patches
from synthscope.io import read_dataset
from synthscope.pipeline import generate

XY_PATCH = 32


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--count", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1000)
    args = parser.parse_args()
    root = generate("nuclei-3d", count=args.count, out=args.out / "data", seed=args.seed)
    dataset = read_dataset(root)
    items = [dataset.load(i) for i in dataset.ids]
    real = real_volume()[TEST.start : TEST.stop]
    depth = len(resample_z(real, spacing=SPACING[0], target=SPACING[2]))

    def cut(volume, view):
        if view == "xy":
            return list(to_patches([volume], size=XY_PATCH))
        return section_strips(resample_z(volume, spacing=SPACING[0], target=SPACING[2]), depth=depth)

    scores = {}
    for view in ("xy", "xz"):
        reference = cut(real, view)
        for kind in ("sketch", "image"):
            patches = [p for item in items for p in cut(getattr(item, kind), view)]
            report = realism(reference, patches, rng=0)
            scores[f"{kind}/{view}"] = {**report["metrics"], "n_candidate": report["n_candidate"],
                                        "n_reference": len(reference)}
    (args.out / "realism-3d.json").write_text(json.dumps(scores, indent=2) + "\n")
    print("| volumes | view | FID | KID | SWD | patches (synthetic / real) |")
    print("|---|---|---|---|---|---|")
    for view in ("xy", "xz"):
        floor = scores[f"sketch/{view}"]
        print(f"| real vs real (floor) | {view.upper()} | " + " | ".join(
            f"{floor[m]['floor']:.4g}" for m in ("fid", "kid", "swd")) + " | |")
        for kind, name in (("sketch", "raw sketches"), ("image", "refined by nuclei-fluo-3d")):
            s = scores[f"{kind}/{view}"]
            print(f"| {name} | {view.upper()} | " + " | ".join(f"{s[m]['score']:.4g}" for m in ("fid", "kid", "swd"))
                  + f" | {s['n_candidate']} / {s['n_reference']} |")


if __name__ == "__main__":
    main()
