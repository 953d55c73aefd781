"""The training loop: noise prediction (or velocity) on random patches, on a CPU.

bfloat16 autocast where the CPU has it, an EMA of the weights, periodic checkpoints
that a run resumes from exactly, and a PNG grid of samples at each checkpoint.
"""

import copy
import dataclasses
import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import safetensors.torch
import torch
import torch.nn.functional as F

from synthscope.diffusion.checkpoint import load_denoiser, save_denoiser
from synthscope.diffusion.denoiser import Denoiser, autocast, to_model_range, use_bf16
from synthscope.diffusion.patches import PatchSampler
from synthscope.diffusion.schedulers import training_scheduler
from synthscope.errors import InputError
from synthscope.io import atomic_path, write_text
from synthscope.seeds import as_seed


def train_denoiser(
    model: Denoiser,
    patches: PatchSampler | Sequence[np.ndarray],
    *,
    steps: int,
    batch_size: int = 8,
    lr: float = 5e-4,
    ema_decay: float = 0.999,
    bf16: bool | None = None,
    checkpoint_dir: str | os.PathLike | None = None,
    checkpoint_every: int = 500,
    resume: bool = False,
    rng: int | np.random.Generator = 0,
    callback: Callable[..., None] | None = None,
) -> dict:
    """Train `model` in place and return training statistics.

    Parameters
    ----------
    model : Denoiser
        Its config's ``normalisation`` is set from `patches` when empty.
    patches : PatchSampler or list of numpy.ndarray
        Training data; arrays (in [0, 1]) are wrapped in a `PatchSampler` of the model's
        patch size. A model with classes (``num_classes``) needs a sampler with
        ``classes``, drawn by its `PatchSampler.draw_with_classes`.
    steps : int
        Total optimiser steps (including those done before a resume).
    batch_size, lr : int, float
        Patches per step; AdamW learning rate.
    ema_decay : float
        Decay of the exponential moving average of the weights (warmed up as
        ``min(decay, (1 + step) / (10 + step))``), saved as ``ema.safetensors``.
    bf16 : bool, optional
        bfloat16 autocast; when None, on for 2D models where the CPU supports it and off
        for 3D ones: 3D training under bfloat16 autocast gave NaN losses in 9 of 12 runs
        of a toy task on this machine's CPU (PyTorch 2.13; 2D: none in 12).
    checkpoint_dir : path-like, optional
        Model folder written every `checkpoint_every` steps and at the end, with the
        optimiser and random states for `resume` and a ``samples_{step}.png`` grid.
    resume : bool
        Continue from the checkpoint in `checkpoint_dir` (the same run, step for step).
    rng : int or numpy.random.Generator
        Seeds patch draws, noise and timesteps (a Generator gives one draw, the seed of
        both the patch draws and the torch generator of noise and timesteps).
    callback : callable, optional
        ``callback(done, total, loss=...)`` after each step.

    Returns
    -------
    dict
        ``steps``, ``first_loss`` and ``final_loss`` (means over the first and last tenth
        of this call's steps), ``seconds``, ``bf16``.

    Examples
    --------
    >>> from synthscope.diffusion import build_denoiser
    >>> model = build_denoiser(channels=(8, 8, 8), patch_size=(16, 16))
    >>> stats = train_denoiser(model, [np.zeros((32, 32), np.float32)], steps=2, batch_size=2)
    >>> stats["steps"]
    2
    """
    if not isinstance(patches, PatchSampler):
        patches = PatchSampler(list(patches), patch_size=model.config.patch_size, channels=model.config.in_channels)
    if patches.condition_channels != model.config.condition_channels:
        raise InputError(
            f"patches: the model takes {model.config.condition_channels} condition channels, "
            f"the data has {patches.condition_channels}"
        )
    if (patches.classes is None) != (model.config.num_classes == 0) or (
        patches.classes is not None and patches.classes.max() >= model.config.num_classes
    ):
        raise InputError(
            f"patches: the model has {model.config.num_classes} classes, the data "
            + ("none" if patches.classes is None else f"class labels up to {patches.classes.max()}")
        )
    if patches.patch_size != model.config.patch_size:
        raise InputError(
            f"patches: size {patches.patch_size} differs from the model's patch_size {model.config.patch_size}"
        )
    if resume and checkpoint_dir is None:
        raise InputError("resume: needs a checkpoint_dir")
    scheduler = training_scheduler(model.config)

    def loss(rng, generator, bf16):
        images, conditions, classes = patches.draw_with_classes(batch_size, rng=rng)
        x0 = to_model_range(torch.from_numpy(images))
        condition = None if conditions is None else to_model_range(torch.from_numpy(conditions))
        class_labels = None if classes is None else torch.from_numpy(classes)
        noise = torch.randn(x0.shape, generator=generator)
        t = torch.randint(0, scheduler.config.num_train_timesteps, (len(x0),), generator=generator)
        target = noise if model.config.prediction_type == "epsilon" else scheduler.get_velocity(x0, noise, t)
        with autocast(bf16):
            prediction = model(scheduler.add_noise(x0, noise, t), t, condition, class_labels)
        return F.mse_loss(prediction.float(), target)

    bf16 = use_bf16(bf16) if bf16 is not None or model.config.spatial_dims == 2 else False
    return optimise(
        model,
        loss,
        patches,
        steps=steps,
        lr=lr,
        ema_decay=ema_decay,
        bf16=bf16,
        checkpoint_dir=checkpoint_dir,
        checkpoint_every=checkpoint_every,
        resume=resume,
        rng=rng,
        callback=callback,
    )


def optimise(
    model: Denoiser,
    loss: Callable[[np.random.Generator, torch.Generator, bool], torch.Tensor],
    patches: PatchSampler,
    *,
    steps: int,
    lr: float,
    ema_decay: float,
    bf16: bool,
    checkpoint_dir: str | os.PathLike | None,
    checkpoint_every: int,
    resume: bool,
    rng: int | np.random.Generator,
    callback: Callable[..., None] | None,
) -> dict:
    """The training loop that `train_denoiser` and other trainings of a `Denoiser` share.

    ``loss(rng, generator, bf16)`` draws a batch with the numpy and torch generators and
    returns its loss; this function owns the optimiser (AdamW), the EMA of the weights, the
    checkpoints and resume, the callback and the statistics, as `train_denoiser` documents.
    `model`'s config takes the normalisation of `patches` when it has none. Options are
    checked by the caller.
    """
    if not model.config.normalisation:
        model.config = dataclasses.replace(model.config, normalisation=patches.normalisation)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    ema = copy.deepcopy(model).eval().requires_grad_(False)
    base_seed = as_seed(rng)
    rng, generator, start = np.random.default_rng(base_seed), torch.Generator().manual_seed(base_seed), 0
    if resume and (Path(checkpoint_dir) / "training.json").is_file():
        start = _restore(Path(checkpoint_dir), model, ema, optimizer, rng, generator)
    model.train()
    losses, began = [], time.perf_counter()
    for step in range(start, steps):
        value = loss(rng, generator, bf16)
        optimizer.zero_grad(set_to_none=True)
        value.backward()
        optimizer.step()
        _update_ema(ema, model, min(ema_decay, (1 + step) / (10 + step)))
        losses.append(value.item())
        if callback is not None:
            callback(step + 1, steps, loss=float(np.mean(losses[-20:])))
        if checkpoint_dir is not None and ((step + 1) % checkpoint_every == 0 or step + 1 == steps):
            _checkpoint(Path(checkpoint_dir), model, ema, optimizer, rng, generator, step + 1, losses)
    model.eval()
    tenth = max(1, len(losses) // 10)
    return {
        "steps": steps,
        "first_loss": float(np.mean(losses[:tenth])) if losses else None,
        "final_loss": float(np.mean(losses[-tenth:])) if losses else None,
        "seconds": time.perf_counter() - began,
        "bf16": bf16,
    }


@torch.no_grad()
def _update_ema(ema, model, decay):
    torch._foreach_lerp_(list(ema.parameters()), list(model.parameters()), 1 - decay)


def _checkpoint(folder, model, ema, optimizer, rng, generator, step, losses):
    save_denoiser(model, folder, ema=ema, extra={"steps": step, "loss": float(np.mean(losses[-100:]))})
    state = optimizer.state_dict()
    tensors = {f"{i}.{key}": value for i, entry in state["state"].items() for key, value in entry.items()}
    tensors["generator"] = generator.get_state()
    with atomic_path(folder / "training.safetensors") as tmp:
        safetensors.torch.save_file(tensors, str(tmp))
    record = {"step": step, "rng": rng.bit_generator.state, "param_groups": state["param_groups"]}
    write_text(folder / "training.json", json.dumps(record))
    if ema.config.condition_channels == 0:
        _write_grid(folder / f"samples_{step:06d}.png", ema)


def _restore(folder, model, ema, optimizer, rng, generator):
    saved = load_denoiser(folder)
    if saved.config != model.config:
        raise InputError(f"{folder}: the checkpoint's config differs from the model being trained")
    safetensors.torch.load_model(model, str(folder / "model.safetensors"))
    ema.load_state_dict(saved.state_dict())
    record = json.loads((folder / "training.json").read_text())
    tensors = safetensors.torch.load_file(str(folder / "training.safetensors"))
    generator.set_state(tensors.pop("generator"))
    state = {}
    for key, value in tensors.items():
        index, name = key.split(".", 1)
        state.setdefault(int(index), {})[name] = value
    optimizer.load_state_dict({"state": state, "param_groups": record["param_groups"]})
    rng.bit_generator.state = record["rng"]
    return record["step"]


def _write_grid(path, model):
    """Save four samples (2D; of classes 0, 1, ... in turn) or four slices of one sample (3D,
    class 0), first channel, side by side."""
    from PIL import Image

    from synthscope.diffusion.sample import sample

    config = model.config
    shape = (4, *config.patch_size) if config.spatial_dims == 2 else config.patch_size
    classes = None
    if config.num_classes:
        classes = np.arange(4) % config.num_classes if config.spatial_dims == 2 else 0
    images = sample(model, (config.in_channels, *shape), class_labels=classes, steps=20, rng=0)[0]
    images = images[np.linspace(0, len(images) - 1, 4).round().astype(int)]
    grid = np.concatenate([np.pad(image, 1, constant_values=1) for image in images], axis=1)
    with atomic_path(path) as tmp:
        Image.fromarray((grid * 255).round().astype(np.uint8)).save(tmp)
