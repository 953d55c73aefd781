"""Train the specimen-conditioned mask model of the `learned` generator on the real nuclei training splits.

    OMP_NUM_THREADS=1 python scripts/train_mask_model.py --out runs/learned/mask-model \
        [--steps 5000] [--batch-size 32] [--dropout 0.25] [--conditioning ramp|class] \
        [--model-dir src/synthscope/models/nuclei-masks-2d]

Crops (`synthscope.phantoms.mask_crops.mask_crops`) of every usable object in the
``train`` labels of each specimen of `synthscope.sample_data.SPECIMENS` (cells3d at the
0.52 um of the presets and at its native 0.26 um, both of class ``cells3d``; HeLa; CHO),
trained by `synthscope.phantoms.mask_model.train_mask_model`: conditioned on the
specimen (``--conditioning``: a radial ramp in one condition channel per specimen, as the
bundled model, or a class label whose learned embedding is added to the time embedding),
each drawn equally often, flips and 90-degree rotations, and with probability
``--dropout`` a crop's class dropped so the model also learns the class-free ``"any"``.
No test split is read. The training folder (``--out``, resumable) keeps the optimiser
state; ``--model-dir`` receives the EMA weights in bfloat16 with the provenance the
generator reads (``mask_radius``, ``specimens``).
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from synthscope.diffusion import load_denoiser, save_denoiser
from synthscope.phantoms.mask_crops import CROP_RADIUS, mask_crops
from synthscope.phantoms.mask_model import CONDITIONINGS, train_mask_model
from synthscope.sample_data import SPECIMENS, nuclei_2d

CHANNELS = (16, 32, 64)


def training_crops():
    """``{specimen: crops}`` of the training splits (cells3d also at its native pixel size)."""
    crops = {name: mask_crops(list(specimen.load("train")[1])) for name, specimen in SPECIMENS.items()}
    crops["cells3d"] = np.concatenate([crops["cells3d"], mask_crops(list(nuclei_2d("train", scale=1.0)[1]))])
    return crops


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="training folder (checkpoints, resumable)")
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--dropout", type=float, default=0.25, help="share of crops drawn without their class")
    parser.add_argument("--conditioning", choices=CONDITIONINGS, default="ramp", help="how the specimen is given")
    parser.add_argument("--model-dir", type=Path, help="write the trained model here (e.g. the bundled folder)")
    args = parser.parse_args()
    crops = training_crops()
    print({name: len(c) for name, c in crops.items()}, flush=True)
    started, cpu = time.perf_counter(), time.process_time()
    _, stats = train_mask_model(
        crops,
        steps=args.steps,
        channels=CHANNELS,
        dropout=args.dropout,
        conditioning=args.conditioning,
        batch_size=args.batch_size,
        radius=CROP_RADIUS,
        checkpoint_dir=args.out,
        rng=0,
        callback=lambda done, total, loss: done % 100 or print(f"{done}/{total} loss {loss:.4f}", flush=True),
    )
    stats.update(wall_seconds=time.perf_counter() - started, cpu_seconds=time.process_time() - cpu)
    print(json.dumps(stats), flush=True)
    if args.model_dir:
        trained = load_denoiser(args.out)  # the EMA weights
        extra = {
            "mask_radius": CROP_RADIUS,
            "specimens": list(crops),
            "label_dropout": args.dropout,
            "steps": args.steps,
            "batch_size": args.batch_size,
            "loss": trained.extra["loss"],  # mean of the last 100 steps before the checkpoint
            "crops": {name: len(c) for name, c in crops.items()},
            "data": "train splits of synthscope.sample_data.SPECIMENS (cells3d also at 0.26 um), each drawn equally",
            "parameters": int(sum(p.numel() for p in trained.parameters())),
        }
        save_denoiser(trained, args.model_dir, extra=extra, dtype=torch.bfloat16)
        print(f"wrote {args.model_dir} ({np.round((args.model_dir / 'model.safetensors').stat().st_size / 1e6, 2)} MB)")


if __name__ == "__main__":
    main()
