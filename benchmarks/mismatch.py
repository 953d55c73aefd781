"""How often refined images disagree with their labels, and what each mismatch policy costs.

    python benchmarks/mismatch.py [--preset nuclei-2d] [--count 16] [--out runs/mismatch]

Two refinement settings of the preset, each generated with the three policies of
``refine.mismatch`` (``retry``, ``relabel``, ``keep``) from the same seeds:

- ``default``: the preset as it ships (for `nuclei-2d`: the model conditioned on labelled and
  out-of-plane nuclei, the empty background held);
- ``stress``: plain SDEdit by ``nuclei-fluo-2d`` with nothing held, the setting that
  painted unlabeled nuclei into the background (``FINDINGS.md``).

For every run it prints the mismatches found after the first refinement (unlabeled
objects and empty labels per item, items with any), what the policy did about them
(refinements run, labels added and dropped) and the wall seconds per item. The
written items of ``retry`` and ``relabel`` always agree with their labels (the
pipeline checks it), so what differs between policies is the cost and how many
labels change.
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np

from synthscope.pipeline import generate
from synthscope.refine import MISMATCH_POLICIES

SETTINGS = {
    "default": {},
    "stress": {"refine.model": "nuclei-fluo-2d", "refine.condition": None, "refine.hold": None},
}


def summarise(root):
    """Per-run figures from the items' refinement records."""
    records = [json.loads(p.read_text())["metadata"]["refinement"] for p in sorted((root / "items").glob("*.json"))]
    unlabeled = np.array([r["unlabeled_objects"] for r in records])
    empty = np.array([len(r["empty_labels"]) for r in records])
    return {
        "items": len(records),
        "unlabeled_per_item": float(unlabeled.mean()),
        "empty_per_item": float(empty.mean()),
        "items_with_mismatch": int(np.sum((unlabeled + empty) > 0)),
        "refinements_per_item": float(np.mean([r["attempts"] for r in records])),
        "labels_added": int(sum(len(r["added"]) for r in records)),
        "labels_dropped": int(sum(len(r["lost"]) for r in records)),
        "mean_iou": float(np.mean([r["mean_iou"] for r in records if r["mean_iou"] is not None])),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="nuclei-2d")
    parser.add_argument("--count", type=int, default=16)
    parser.add_argument("--seed", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=Path("runs/mismatch"))
    args = parser.parse_args()
    rows = []
    for setting, overrides in SETTINGS.items():
        for policy in MISMATCH_POLICIES:
            root = args.out / f"{setting}-{policy}"
            started = time.perf_counter()
            generate(
                args.preset,
                count=args.count,
                out=root,
                rng=args.seed,
                settings={**overrides, "refine.mismatch": policy},
            )
            figures = summarise(root) | {"seconds_per_item": (time.perf_counter() - started) / args.count}
            rows.append({"setting": setting, "policy": policy, **figures})
            print(json.dumps(rows[-1]), flush=True)
    (args.out / "mismatch.json").write_text(json.dumps(rows, indent=2) + "\n")
    print(
        "| setting | policy | unlabeled / item | empty / item | items with a mismatch | refinements / item "
        "| labels added | labels dropped | mean IoU | s / item |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['setting']} | {r['policy']} | {r['unlabeled_per_item']:.2f} | {r['empty_per_item']:.2f} | "
            f"{r['items_with_mismatch']}/{r['items']} | {r['refinements_per_item']:.2f} | {r['labels_added']} | "
            f"{r['labels_dropped']} | {r['mean_iou']:.3f} | {r['seconds_per_item']:.1f} |"
        )


if __name__ == "__main__":
    main()
