"""Train the mask model of the `learned` generator on the training splits of the real nuclei specimens.

    OMP_NUM_THREADS=1 python scripts/train_mask_model.py --out runs/learned/mask-model \
        [--steps 3000] [--model-dir src/synthscope/models/nuclei-masks-2d]

Crops (`synthscope.phantoms.mask_model.mask_crops`) of every usable object in the
``train`` labels of each specimen of `synthscope.sample_data.SPECIMENS` (cells3d at the
0.52 um of the presets and at its native 0.26 um, HeLa, CHO), each specimen drawn
equally often, with flips and 90-degree rotations. No test split is read. The training
folder (``--out``, resumable) keeps the optimiser state; ``--model-dir`` receives the
EMA weights with the provenance the generator reads (``mask_radius``).
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np

from synthscope.diffusion import PatchSampler, build_denoiser, load_denoiser, save_denoiser, train_denoiser
from synthscope.phantoms.mask_model import CROP_RADIUS, CROP_SIZE, mask_crops
from synthscope.sample_data import SPECIMENS, nuclei_2d

CHANNELS = (16, 32, 64)


def training_crops():
    """``{source: crops}`` of the training splits (cells3d also at its native pixel size)."""
    crops = {name: mask_crops(list(specimen.load("train")[1])) for name, specimen in SPECIMENS.items()}
    crops["cells3d-native"] = mask_crops(list(nuclei_2d("train", scale=1.0)[1]))
    return crops


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="training folder (checkpoints, resumable)")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--model-dir", type=Path, help="write the trained model here (e.g. the bundled folder)")
    args = parser.parse_args()
    crops = training_crops()
    print({name: len(c) for name, c in crops.items()}, flush=True)
    sampler = PatchSampler(list(crops.values()), patch_size=(CROP_SIZE, CROP_SIZE), jitter=0.0)
    model = build_denoiser(channels=CHANNELS, attention_levels=(False, False, False), patch_size=(CROP_SIZE,) * 2)
    started, cpu = time.perf_counter(), time.process_time()
    stats = train_denoiser(
        model,
        sampler,
        steps=args.steps,
        batch_size=args.batch_size,
        checkpoint_dir=args.out,
        checkpoint_every=500,
        resume=True,
        rng=0,
        callback=lambda done, total, loss: done % 100 or print(f"{done}/{total} loss {loss:.4f}", flush=True),
    )
    stats.update(wall_seconds=time.perf_counter() - started, cpu_seconds=time.process_time() - cpu)
    print(json.dumps(stats), flush=True)
    if args.model_dir:
        trained = load_denoiser(args.out)  # the EMA weights
        extra = {
            "mask_radius": CROP_RADIUS,
            "steps": args.steps,
            "batch_size": args.batch_size,
            "loss": trained.extra["loss"],  # mean of the last 100 steps before the checkpoint
            "crops": {name: len(c) for name, c in crops.items()},
            "data": "train splits of synthscope.sample_data.SPECIMENS (+ cells3d at 0.26 um), each drawn equally",
            "parameters": int(sum(p.numel() for p in trained.parameters())),
        }
        save_denoiser(trained, args.model_dir, extra=extra)
        print(f"wrote {args.model_dir} ({np.round((args.model_dir / 'model.safetensors').stat().st_size / 1e6, 2)} MB)")


if __name__ == "__main__":
    main()
