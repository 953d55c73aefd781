"""The discrete refiner (SegRefiner's formulation): a diffusion over which pixels of a mask are right.

The forward process turns the true (fine) mask into the coarse one pixel by pixel: at level
``u`` in (0, 1] each pixel shows its coarse value with probability ``u`` and its fine value
otherwise, so level 1 is the coarse mask itself. The network (a `synthscope.diffusion.Denoiser`:
the current mask as its one channel, the image and the coarse probability as conditions, the
level as its timestep) predicts the fine mask's foreground probability, trained with binary
cross-entropy. The reverse process starts from the binarised coarse mask; each step commits
pixels to the prediction, a pixel of confidence ``c = |2p - 1|`` with probability
``r ** (1 - c)``, where ``r`` is the share of still-coarse pixels the schedule turns fine at that
step; committed pixels keep their value and the low-confidence ones are predicted again, with
more of their neighbours settled. The last step commits every pixel.
"""

import os
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from synthscope.diffusion import Denoiser, PatchSampler
from synthscope.diffusion.denoiser import autocast, to_model_range, use_bf16
from synthscope.diffusion.train import optimise
from synthscope.errors import InputError


def corrupt(fine: torch.Tensor, coarse: torch.Tensor, level: torch.Tensor, *, generator=None) -> torch.Tensor:
    """Return the mask at `level` (one per batch entry): each pixel coarse with probability `level`.

    Examples
    --------
    >>> fine, coarse = torch.ones(2, 1, 8, 8), torch.zeros(2, 1, 8, 8)
    >>> mixed = corrupt(fine, coarse, torch.tensor([0.0, 1.0]))
    >>> float(mixed[0].mean()), float(mixed[1].mean())
    (1.0, 0.0)
    """
    shape = (len(level),) + (1,) * (fine.ndim - 1)
    keep_coarse = torch.rand(fine.shape, generator=generator) < level.reshape(shape)
    return torch.where(keep_coarse, coarse, fine)


def timestep(model: Denoiser, level: torch.Tensor) -> torch.Tensor:
    """Return the network's timestep for levels in [0, 1] (level 1: the last training timestep)."""
    return (level * (model.config.num_train_timesteps - 1)).round().long()


def train_discrete_refiner(
    model: Denoiser,
    patches: PatchSampler,
    *,
    steps: int,
    batch_size: int = 8,
    lr: float = 5e-4,
    ema_decay: float = 0.999,
    checkpoint_dir: str | os.PathLike | None = None,
    checkpoint_every: int = 500,
    resume: bool = False,
    rng: int | np.random.Generator = 0,
    callback: Callable[..., None] | None = None,
) -> dict:
    """Train `model` in place as a discrete refiner; checkpoints and resume as `train_denoiser`.

    Parameters
    ----------
    model : Denoiser
        One channel (the current mask), two condition channels (image, coarse probability).
    patches : PatchSampler
        The true masks as images, ``(image, coarse probability)`` as conditions.
    steps, batch_size, lr, ema_decay, checkpoint_dir, checkpoint_every, resume, rng, callback :
        As for `synthscope.diffusion.train_denoiser` (bfloat16 autocast for 2D models
        where the CPU has it; the EMA of the weights is what `load_denoiser` loads).

    Returns
    -------
    dict
        ``steps``, ``first_loss`` and ``final_loss`` (binary cross-entropy, means over the
        first and last tenth of this call's steps), ``seconds``, ``bf16``.

    Examples
    --------
    >>> from synthscope.diffusion import build_denoiser
    >>> model = build_denoiser(channels=(8, 8, 8), patch_size=(16, 16), condition_channels=2)
    >>> mask = np.zeros((32, 32), np.float32); mask[8:24, 8:24] = 1
    >>> patches = PatchSampler([mask], patch_size=(16, 16), conditions=[np.stack([mask, mask])], jitter=0)
    >>> train_discrete_refiner(model, patches, steps=2, batch_size=2)["steps"]
    2
    """
    if patches.condition_channels != 2 or model.config.condition_channels != 2 or model.config.in_channels != 1:
        raise InputError("discrete refiner: needs one mask channel and two condition channels (image, coarse)")
    if patches.patch_size != model.config.patch_size:
        raise InputError(f"patches: size {patches.patch_size} differs from the model's {model.config.patch_size}")
    if resume and checkpoint_dir is None:
        raise InputError("resume: needs a checkpoint_dir")

    def loss(rng, generator, bf16):
        fine, conditions = (torch.from_numpy(array) for array in patches.draw(batch_size, rng=rng))
        fine = (fine > 0.5).float()
        coarse = (conditions[:, 1:] > 0.5).float()
        level = torch.rand(len(fine), generator=generator)
        current = corrupt(fine, coarse, level, generator=generator)
        with autocast(bf16):
            logits = model(to_model_range(current), timestep(model, level), to_model_range(conditions))
        return F.binary_cross_entropy_with_logits(logits.float(), fine)

    return optimise(
        model,
        loss,
        patches,
        steps=steps,
        lr=lr,
        ema_decay=ema_decay,
        bf16=use_bf16() if model.config.spatial_dims == 2 else False,
        checkpoint_dir=checkpoint_dir,
        checkpoint_every=checkpoint_every,
        resume=resume,
        rng=rng,
        callback=callback,
    )


@torch.no_grad()
def refine_discrete(
    model: Denoiser,
    crops: np.ndarray,
    condition: np.ndarray,
    *,
    steps: int,
    start: float = 1.0,
    rng: int = 0,
    callback: Callable[..., None] | None = None,
) -> np.ndarray:
    """Return refined foreground probabilities of a batch of crops, by the reverse process.

    Parameters
    ----------
    model : Denoiser
        A discrete refiner (`train_discrete_refiner`).
    crops : numpy.ndarray
        ``(n, *spatial)`` coarse foreground probabilities; their binarisation is the start.
    condition : numpy.ndarray
        ``(n, 2, *spatial)``: the image and the coarse probability, in [0, 1].
    steps : int
        Network evaluations.
    start : float
        The level in (0, 1] the coarse mask is taken to be at (1: wholly coarse, the
        strongest refinement).
    rng : int
        Seed of the commit draws.
    callback : callable, optional
        ``callback(done, total)`` after each evaluation.

    Returns
    -------
    numpy.ndarray
        float32 in [0, 1], the shape of `crops`: each pixel's predicted probability at the
        step it was committed.

    Examples
    --------
    >>> from synthscope.diffusion import build_denoiser
    >>> model = build_denoiser(channels=(8, 8, 8), patch_size=(16, 16), condition_channels=2).eval()
    >>> coarse = np.zeros((1, 16, 16), np.float32)
    >>> refine_discrete(model, coarse, np.stack([coarse, coarse], axis=1), steps=2).shape
    (1, 16, 16)
    """
    generator = torch.Generator().manual_seed(int(rng))
    coarse = torch.from_numpy(np.asarray(crops, np.float32))[:, None]
    condition = to_model_range(torch.from_numpy(np.asarray(condition, np.float32)))
    current, probability = (coarse > 0.5).float(), coarse.clone()
    settled = torch.zeros_like(current, dtype=torch.bool)
    levels = np.linspace(start, 0, steps + 1)
    bf16 = use_bf16() if model.config.spatial_dims == 2 else False
    for done, (level, following) in enumerate(zip(levels[:-1], levels[1:]), start=1):
        predicted = _predict(model, current, float(level), condition, bf16)
        share = (level - following) / level  # of the still-coarse pixels, those the schedule turns fine
        confidence = (2 * predicted - 1).abs()
        commit = ~settled & (torch.rand(current.shape, generator=generator) < share ** (1 - confidence))
        current = torch.where(commit, (predicted > 0.5).float(), current)
        probability = torch.where(commit, predicted, probability)
        settled |= commit
        if callback is not None:
            callback(done, steps)
    return probability[:, 0].numpy().astype(np.float32)


def _predict(model, current, level, condition, bf16, *, chunk=16):
    """Return the network's foreground probability for a batch, in chunks, padded (by
    repeating the edge) to the sides the network takes."""
    multiple = model.config.size_multiple
    sides = current.shape[2:]
    pad = [p for side in reversed(sides) for p in (0, -side % multiple)]
    inputs = F.pad(torch.cat([to_model_range(current), condition], dim=1), pad, mode="replicate")
    out = []
    for batch in inputs.split(chunk):
        t = timestep(model, torch.full((len(batch),), level))
        with autocast(bf16):
            out.append(torch.sigmoid(model(batch[:, :1], t, batch[:, 1:]).float()))
    return torch.cat(out)[(slice(None), slice(None), *(slice(0, side) for side in sides))]
