"""Train the refinement model of preset ``nuclei-2d-broad`` on the images of several specimens.

    python scripts/train_broad_model.py --out runs/broad-model [--without hela] [--install DIR]

The model is conditioned on the nuclei mask (``refine.condition: mask``), so that it draws
a nucleus wherever the sketch has one, dim ones included, and is trained on the training
split of every specimen of ``synthscope.sample_data.SPECIMENS`` but ``--without`` (the
specimen a benchmark scores it on). It starts from the bundled ``nuclei-fluo-2d-masked``,
which was trained on cells3d; without cells3d it starts from random weights instead and
trains ``--scratch-steps``.
"""

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from synthscope.diffusion import PatchSampler, build_denoiser, load_denoiser, save_denoiser, train_denoiser
from synthscope.sample_data import SPECIMENS

BASE = "nuclei-fluo-2d-masked"
BASE_SPECIMEN = "cells3d"  # the specimen BASE was trained on
NORMALISATION = {"method": "percentile", "low": 1.0, "high": 99.8, "of": "each image"}


def train_broad_model(out, *, without=None, steps=1000, scratch_steps=3000, seed=0):
    """Train the model in `out` on every specimen but `without`; return its training record."""
    names = [name for name in SPECIMENS if name != without]
    images, masks = [], []
    for name in names:
        split_images, split_labels = SPECIMENS[name].load("train")
        images += list(split_images)
        masks += [(labels > 0).astype(np.float32) for labels in split_labels]
    model = load_denoiser(BASE)
    scratch = without == BASE_SPECIMEN
    if scratch:
        model = build_denoiser(model.config)
    model.config = dataclasses.replace(model.config, normalisation=NORMALISATION)
    patches = PatchSampler(images, conditions=masks, patch_size=model.config.patch_size)
    out = Path(out)
    began = time.process_time()
    stats = train_denoiser(
        model,
        patches,
        steps=scratch_steps if scratch else steps,
        lr=5e-4 if scratch else 2e-4,
        checkpoint_dir=out,
        checkpoint_every=250,
        resume=(out / "training.json").is_file(),
        rng=seed,
    )
    record = {
        **stats,
        "cpu_minutes": round((time.process_time() - began) / 60, 1),
        "specimens": names,
        "start": "random weights" if scratch else BASE,
        "images": len(images),
    }
    (out / "broad.json").write_text(json.dumps(record, indent=2) + "\n")
    return record


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--without", choices=list(SPECIMENS), help="the specimen left out")
    parser.add_argument("--steps", type=int, default=1000, help="fine-tuning steps from the bundled model")
    parser.add_argument("--scratch-steps", type=int, default=3000, help="steps from random weights")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--install", type=Path, help="bundled model folder to write the EMA weights into")
    args = parser.parse_args()
    record = train_broad_model(
        args.out, without=args.without, steps=args.steps, scratch_steps=args.scratch_steps, seed=args.seed
    )
    print(json.dumps(record, indent=2))
    if args.install:  # the EMA weights, which load_denoiser prefers, with the record as provenance
        save_denoiser(load_denoiser(args.out), args.install, extra={**record, "card": "card.md"})


if __name__ == "__main__":
    main()
