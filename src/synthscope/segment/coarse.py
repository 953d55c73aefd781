"""The coarse model: a MONAI attention U-Net that gives every pixel background, interior or boundary.

The semantic mask is "not background"; the interior class seeds the instances (the thin
boundary class keeps touching nuclei apart), as in the downstream benchmark's segmenter.
"""

import dataclasses
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import safetensors.torch
import torch
import torch.nn.functional as F

from synthscope.diffusion import PatchSampler
from synthscope.diffusion.tiling import predict_tiled
from synthscope.errors import InputError
from synthscope.evaluate.segmenter import CLASS_WEIGHTS, three_classes
from synthscope.io import atomic_path, write_text
from synthscope.nets import attention_unet
from synthscope.seeds import as_seed

#: Output classes of the coarse model, in channel order.
CLASSES = ("background", "interior", "boundary")


@dataclasses.dataclass(frozen=True)
class CoarseConfig:
    """The coarse network: `synthscope.nets.attention_unet` with three output classes.

    Parameters
    ----------
    spatial_dims : {2, 3}
    channels : tuple of int
        Feature channels per level, from the finest.
    patch_size : tuple of int
        Training patch; inference runs on tiles of four times its side (the net is
        fully convolutional, tiles only bound the memory).

    Examples
    --------
    >>> CoarseConfig(channels=(8, 8, 8), patch_size=(32, 32)).size_multiple
    4
    """

    spatial_dims: int = 2
    channels: tuple = (16, 32, 64, 128)
    patch_size: tuple = (128, 128)

    def __post_init__(self):
        object.__setattr__(self, "channels", tuple(int(c) for c in self.channels))
        object.__setattr__(self, "patch_size", tuple(int(p) for p in self.patch_size))
        if self.spatial_dims not in (2, 3):
            raise InputError(f"coarse.spatial_dims: expected 2 or 3, got {self.spatial_dims!r}")
        if len(self.channels) < 2:
            raise InputError(f"coarse.channels: need at least two levels, got {self.channels}")
        if len(self.patch_size) != self.spatial_dims or any(p % self.size_multiple for p in self.patch_size):
            raise InputError(
                f"coarse.patch_size: expected {self.spatial_dims} sides, multiples of {self.size_multiple}, "
                f"got {self.patch_size}"
            )

    @property
    def size_multiple(self) -> int:
        """Sides the network takes are multiples of this."""
        return 2 ** (len(self.channels) - 1)

    def build(self, *, rng: int | np.random.Generator | None = 0) -> torch.nn.Module:
        """Return the untrained network, its weights drawn from `rng`."""
        return attention_unet(
            self.spatial_dims, in_channels=1, out_channels=len(CLASSES), channels=self.channels, rng=rng
        )


@torch.inference_mode()
def predict_coarse(net: torch.nn.Module, config: CoarseConfig, image: np.ndarray) -> np.ndarray:
    """Return the class probabilities ``(3, *image.shape)`` (float32) of a prepared `image` in [0, 1].

    Examples
    --------
    >>> config = CoarseConfig(channels=(8, 8, 8), patch_size=(16, 16))
    >>> probabilities = predict_coarse(config.build(rng=0).eval(), config, np.zeros((20, 24), np.float32))
    >>> probabilities.shape, bool(np.allclose(probabilities.sum(0), 1))
    ((3, 20, 24), True)
    """
    x = torch.from_numpy(np.ascontiguousarray(image, np.float32))[None, None]

    def network(tiles):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return net(tiles).float()

    tile = [4 * p for p in config.patch_size]
    logits = predict_tiled(network, x, tile_size=tile, overlap=0.125, batch=2, multiple=config.size_multiple)
    return torch.softmax(logits, 1)[0].numpy()


def train_coarse(
    net: torch.nn.Module,
    config: CoarseConfig,
    images: Sequence[np.ndarray],
    labels: Sequence[np.ndarray],
    *,
    steps: int,
    batch_size: int = 8,
    lr: float = 2e-3,
    checkpoint_dir: str | os.PathLike | None = None,
    checkpoint_every: int = 200,
    resume: bool = False,
    rng: int | np.random.Generator = 0,
    callback: Callable[..., None] | None = None,
) -> dict:
    """Train `net` in place on prepared `images` (in [0, 1]) and their instance `labels`.

    Cross-entropy over background / interior / boundary (boundary weighted 5x) on random
    patches with flips, right-angle rotations and mild intensity jitter, Adam with a cosine
    decay, bfloat16 autocast.

    Parameters
    ----------
    steps, batch_size, lr : int, int, float
        Total optimiser steps (including those before a resume), patches per step, rate.
    checkpoint_dir : path-like, optional
        ``coarse.safetensors`` is written there every `checkpoint_every` steps and at the
        end, with the optimiser and random states (``coarse_training.*``) for `resume`.
    resume : bool
        Continue from the checkpoint in `checkpoint_dir`, step for step.
    rng : int or numpy.random.Generator
    callback : callable, optional
        ``callback(done, total, loss=...)`` after each step.

    Returns
    -------
    dict
        ``steps``, ``first_loss``, ``final_loss`` (means over the first and last tenth).

    Examples
    --------
    >>> labels = np.zeros((32, 32), np.uint16); labels[4:14, 4:14] = 1
    >>> config = CoarseConfig(channels=(8, 8, 8), patch_size=(16, 16))
    >>> train_coarse(config.build(), config, [(labels > 0) * 0.8], [labels], steps=2, batch_size=2)["steps"]
    2
    """
    if resume and checkpoint_dir is None:
        raise InputError("resume: needs a checkpoint_dir")
    onehot = [
        np.moveaxis(np.eye(len(CLASSES), dtype=np.float32)[three_classes(np.asarray(lab))], -1, 0) for lab in labels
    ]
    patches = PatchSampler(list(images), patch_size=config.patch_size, conditions=onehot)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 0.5 * (1 + np.cos(np.pi * min(s / steps, 1))))
    rng, start = np.random.default_rng(as_seed(rng)), 0
    folder = None if checkpoint_dir is None else Path(checkpoint_dir)
    if resume and (folder / "coarse_training.json").is_file():
        start = _restore(folder, net, optimizer, schedule, rng)
    weights, losses = torch.tensor(CLASS_WEIGHTS), []
    net.train()
    for step in range(start, steps):
        x, onehot_batch = patches.draw(batch_size, rng=rng)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits = net(torch.from_numpy(x))
        loss = F.cross_entropy(logits.float(), torch.from_numpy(onehot_batch.argmax(1)), weight=weights)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
        if callback is not None:
            callback(step + 1, steps, loss=float(np.mean(losses[-20:])))
        if folder is not None and ((step + 1) % checkpoint_every == 0 or step + 1 == steps):
            _checkpoint(folder, net, optimizer, schedule, rng, step + 1)
    net.eval()
    tenth = max(1, len(losses) // 10)
    return {
        "steps": steps,
        "first_loss": float(np.mean(losses[:tenth])) if losses else None,
        "final_loss": float(np.mean(losses[-tenth:])) if losses else None,
    }


def _checkpoint(folder, net, optimizer, schedule, rng, step):
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / "coarse.safetensors") as tmp:
        safetensors.torch.save_model(net, str(tmp))
    state = optimizer.state_dict()
    tensors = {f"{i}.{key}": value for i, entry in state["state"].items() for key, value in entry.items()}
    with atomic_path(folder / "coarse_training.safetensors") as tmp:
        safetensors.torch.save_file(tensors, str(tmp))
    record = {
        "step": step,
        "rng": rng.bit_generator.state,
        "param_groups": state["param_groups"],
        "schedule": schedule.state_dict()["last_epoch"],
    }
    write_text(folder / "coarse_training.json", json.dumps(record))


def _restore(folder, net, optimizer, schedule, rng):
    safetensors.torch.load_model(net, str(folder / "coarse.safetensors"))
    record = json.loads((folder / "coarse_training.json").read_text())
    state = {}
    for key, value in safetensors.torch.load_file(str(folder / "coarse_training.safetensors")).items():
        index, name = key.split(".", 1)
        state.setdefault(int(index), {})[name] = value
    optimizer.load_state_dict({"state": state, "param_groups": record["param_groups"]})
    schedule.last_epoch = record["schedule"]
    rng.bit_generator.state = record["rng"]
    return record["step"]
