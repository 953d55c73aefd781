"""A SHAPR-like deterministic baseline: one 3D shape per cell from its 2D image and mask.

SHAPR maps a cell's 2D image and mask to its 3D mask with one network trained by Dice +
binary cross-entropy. Here the network is `synthscope.nets.segmentation_unet` in 3D
given exactly the diffusion model's input (the 2D image and mask tiled along z), trained
on the same phantom cells with the same flips and turns, so that the two differ only in
being generative or not.
"""

import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import safetensors.torch
import torch

from synthscope.diffusion import PatchSampler
from synthscope.io import atomic_path, write_text
from synthscope.nets import segmentation_unet
from synthscope.seeds import as_seed
from synthscope.shape3d.cells import Cells
from synthscope.shape3d.model import conditions


def build_deterministic(size: int, *, channels=(16, 32, 64), rng: int = 0) -> torch.nn.Module:
    """Return an untrained baseline network for a grid of side `size` (its config is ``net.shape_config``)."""
    net = segmentation_unet(3, in_channels=2, out_channels=1, channels=channels, rng=rng)
    net.shape_config = {"size": int(size), "channels": list(channels)}
    return net


def train_deterministic(
    net: torch.nn.Module,
    cells: Cells,
    *,
    steps: int,
    batch_size: int = 4,
    lr: float = 2e-3,
    rng: int = 0,
    callback: Callable[..., None] | None = None,
) -> dict:
    """Train `net` in place on `cells` by Dice + binary cross-entropy; return ``first_loss`` and ``final_loss``.

    Examples
    --------
    >>> from synthscope.shape3d import phantom_cells
    >>> net = build_deterministic(16, channels=(8, 8))
    >>> stats = train_deterministic(net, phantom_cells("rbc", 2, size=16), steps=2, batch_size=2)
    >>> sorted(stats)
    ['final_loss', 'first_loss']
    """
    from monai.losses import DiceCELoss

    size = net.shape_config["size"]
    patches = PatchSampler(
        list(cells.shapes.astype(np.float32)),
        patch_size=(size,) * 3,
        conditions=list(conditions(cells.images, cells.masks)),
        jitter=0.0,
    )
    loss_function = DiceCELoss(sigmoid=True)
    optimizer = torch.optim.AdamW(net.parameters(), lr=lr)
    generator = np.random.default_rng(as_seed(rng))
    losses = []
    net.train()
    for step in range(steps):
        shapes, inputs = patches.draw(batch_size, rng=generator)
        loss = loss_function(net(torch.from_numpy(inputs)), torch.from_numpy(shapes))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if callback is not None:
            callback(step + 1, steps, loss=float(np.mean(losses[-20:])))
    net.eval()
    tenth = max(1, len(losses) // 10)
    return {"first_loss": float(np.mean(losses[:tenth])), "final_loss": float(np.mean(losses[-tenth:]))}


@torch.inference_mode()
def predict_deterministic(net: torch.nn.Module, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Return the baseline's foreground probability ``(S, S, S)`` for one cell's grid image and mask."""
    inputs = torch.from_numpy(conditions(np.asarray(image)[None], np.asarray(mask)[None]))
    return torch.sigmoid(net.eval()(inputs))[0, 0].numpy()


def save_deterministic(net: torch.nn.Module, folder: str | os.PathLike) -> None:
    """Write `net` as ``config.json`` + ``model.safetensors`` into `folder`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / "model.safetensors") as tmp:
        safetensors.torch.save_model(net, str(tmp))
    write_text(folder / "config.json", json.dumps(net.shape_config) + "\n")


def load_deterministic(folder: str | os.PathLike) -> torch.nn.Module:
    """Return the baseline network saved in `folder`, in eval mode (safetensors only)."""
    folder = Path(folder)
    config = json.loads((folder / "config.json").read_text())
    net = build_deterministic(config["size"], channels=tuple(config["channels"]))
    safetensors.torch.load_model(net, str(folder / "model.safetensors"))
    return net.eval()
