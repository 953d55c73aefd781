"""Train a shape model (`synthscope.shape3d`) from a YAML file, and optionally ship it into the package.

    OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE nice -n 5 .venv/bin/python scripts/train_shape3d.py \
        runs/shape3d/nuclei.yaml [--resume] [--ship src/synthscope/models/shape3d-nuclei]

The YAML file holds the keys of `synthscope.shape3d.ShapeTraining`. `--baseline DIR` trains the
SHAPR-like deterministic baseline (`synthscope.shape3d.deterministic`) on the same cells, with
the same steps and batch size, instead. `--ship` copies the
finished model's EMA weights (as float16, to keep the package small) and config into
the folder and writes its card from the run's statistics (the card's measured section
comes from benchmarks/shape3d.py).
"""

import argparse
import json
import os
import platform
import time
from pathlib import Path

import safetensors.torch
import torch

from synthscope.shape3d import ShapeTraining, phantom_cells, train_shape3d
from synthscope.shape3d.deterministic import build_deterministic, save_deterministic, train_deterministic


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--ship", help="model folder to install the trained model into")
    parser.add_argument(
        "--baseline", help="train the SHAPR-like deterministic baseline on the same cells into this folder instead"
    )
    args = parser.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    settings = ShapeTraining.from_yaml(args.config)
    began = time.process_time()

    def report(done, total, loss):
        if done % 50 == 0 or done == total:
            print(f"step {done}/{total} loss {loss:.4f} cpu {time.process_time() - began:.0f}s", flush=True)

    if args.baseline:
        cells = phantom_cells(
            settings.source, settings.cells, size=settings.size, flatten=settings.flatten, rng=settings.seed
        )
        net = build_deterministic(settings.size, channels=settings.channels, rng=settings.seed)
        stats = train_deterministic(
            net, cells, steps=settings.steps, batch_size=settings.batch_size, rng=settings.seed, callback=report
        )
        save_deterministic(net, args.baseline)
        stats["cpu_seconds"] = time.process_time() - began
        print(json.dumps(stats), flush=True)
        return
    model, stats = train_shape3d(settings, resume=args.resume, callback=report)
    stats["cpu_seconds"] = time.process_time() - began
    stats["load_average"] = os.getloadavg()
    print(json.dumps(stats), flush=True)
    Path(settings.out, "stats.json").write_text(json.dumps({**stats, "settings": settings.to_dict()}, indent=2) + "\n")
    if args.ship:
        ship(Path(settings.out), Path(args.ship), settings, stats)


def ship(run, folder, settings, stats):
    """Install the run's EMA weights (float16) and config into `folder`, with a card."""
    folder.mkdir(parents=True, exist_ok=True)
    weights = safetensors.torch.load_file(str(run / "ema.safetensors"))
    safetensors.torch.save_file({k: v.half() for k, v in weights.items()}, str(folder / "model.safetensors"))
    (folder / "model.safetensors").chmod(0o644)
    config = json.loads((run / "config.json").read_text())
    config["extra"] = {**config.get("extra", {}), "training": settings.to_dict() | {"out": None}}
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    params = sum(v.numel() for v in weights.values())
    card = f"""# {folder.name}

A conditional 3D diffusion model (MONAI DiffusionModelUNet, channels {list(settings.channels)}, no attention,
{params:,} parameters, {config["prediction_type"]} prediction, linear schedule of 1000 steps) that predicts a cell's 3D
shape on a {settings.size}^3 grid from its 2D image and mask, each tiled along z beside the noisy volume
(as DISPR). Used by `synthscope shape3d` and `synthscope.shape3d.predict`.

## Training
- Data: {settings.cells} phantom cells of source `{settings.source}` (`synthscope.shape3d.phantom_cells`,
  seed {settings.seed}; nuclei flattened along z by a factor in {list(settings.flatten)}); no real cell.
- {config["extra"]["steps"]} steps of batch {settings.batch_size} (flips on every axis, 90-degree turns in YX), AdamW lr
  {settings.lr}, bfloat16 autocast: {stats["bf16"]}; EMA of the weights (decay 0.999), stored as float16.
- CPU time: {stats["cpu_seconds"] / 60:.1f} CPU-minutes on one thread ({platform.machine()}, shared 2-core
  machine, load average {stats["load_average"][0]:.1f} at the end); final loss {stats["final_loss"]:.4f}.
- Reproduce: `OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE .venv/bin/python scripts/train_shape3d.py
  CONFIG.yaml --ship src/synthscope/models/{folder.name}` with the settings in `config.json["extra"]["training"]`.

## Measured
See docs/benchmarks.md, section "shape3d" (benchmarks/shape3d.py).
"""
    (folder / "card.md").write_text(card)


if __name__ == "__main__":
    main()
