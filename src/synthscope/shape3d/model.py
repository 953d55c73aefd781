"""The shape model: a 3D denoiser of the cell's mask, conditioned on its 2D image and mask (as DISPR).

The 2D image and mask, each tiled along z, are concatenated to the noisy 3D mask
(-1/+1 inside the model) as two condition channels of a `synthscope.diffusion.Denoiser`;
sampling is the diffusion package's DPM-Solver++ (few network evaluations), and an
ensemble of K shapes is drawn as one batch.
"""

import os

import numpy as np
import torch

from synthscope.checks import check_number
from synthscope.diffusion import Denoiser, DenoiserConfig, load_denoiser
from synthscope.diffusion.denoiser import autocast, from_model_range, to_model_range
from synthscope.diffusion.schedulers import make_scheduler
from synthscope.errors import InputError
from synthscope.seeds import as_seed

#: The default network: 32^3 (64^3 costs 12x more per training step on a CPU: docs/benchmarks.md).
#: Velocity prediction: near pure noise it is a prediction of the clean shape itself, which an
#: epsilon model of binary shapes had not learned after 300 steps (its shapes from pure
#: noise scored IoU 0.04 with phantoms it fits well from t = 200).
SHAPE_MODEL = DenoiserConfig(
    spatial_dims=3,
    in_channels=1,
    condition_channels=2,
    channels=(16, 32, 64),
    attention_levels=(False, False, False),
    prediction_type="v_prediction",
    patch_size=(32, 32, 32),
    axes="ZYX",
)


def check_shape_model(model: Denoiser) -> Denoiser:
    """Return `model` after checking that it is a shape model (3D, one channel, two conditions, a cube)."""
    config = model.config
    source = (getattr(model, "source", None) or {"path": "the model"})["path"]
    if config.spatial_dims != 3 or config.in_channels != 1 or config.condition_channels != 2:
        raise InputError(f"{source}: not a shape model (needs a 3D denoiser of one channel with two conditions)")
    if len(set(config.patch_size)) != 1:
        raise InputError(f"{source}: a shape model's grid is a cube, got {config.patch_size}")
    return model


def load_shape_model(name_or_path: str | os.PathLike = "shape3d-nuclei") -> Denoiser:
    """Return the shape model in a model folder or shipped under `name_or_path`, in eval mode."""
    return check_shape_model(load_denoiser(name_or_path))


def conditions(images: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Return the condition channels: each 2D image and mask tiled along z, ``(N, 2, S, S, S)`` float32.

    Examples
    --------
    >>> conditions(np.zeros((3, 8, 8)), np.ones((3, 8, 8))).shape
    (3, 2, 8, 8, 8)
    """
    pair = np.stack([np.asarray(images, np.float32), np.asarray(masks, np.float32)], axis=1)
    return np.repeat(pair[:, :, None], pair.shape[-1], axis=2)


@torch.inference_mode()
def sample_shapes(
    model: Denoiser,
    image: np.ndarray,
    mask: np.ndarray,
    *,
    ensemble: int = 5,
    steps: int = 20,
    sampler: str = "dpm",
    rng: int | np.random.Generator | None = 0,
    bf16: bool | None = None,
) -> np.ndarray:
    """Return `ensemble` 3D shapes drawn for one cell's grid image and mask, in one batch.

    Parameters
    ----------
    model : Denoiser
        A shape model (`check_shape_model`).
    image, mask : numpy.ndarray
        The cell's 2D image (float in [0, 1]) and mask (0/1) on the model's grid
        (`synthscope.shape3d.cells.grid_input`).
    ensemble : int
        Shapes drawn.
    steps : int
        Network evaluations (DPM-Solver++ 2M by default).
    sampler : {"dpm", "ddim", "ddpm"}
    rng : int or numpy.random.Generator, optional
        Seeds the noise.
    bf16 : bool, optional
        bfloat16 autocast; automatic when None.

    Returns
    -------
    numpy.ndarray
        ``(ensemble, S, S, S)`` float32 in [0, 1]: each draw's soft mask.

    Examples
    --------
    >>> import dataclasses
    >>> model = Denoiser(dataclasses.replace(SHAPE_MODEL, channels=(8, 8, 8), patch_size=(16, 16, 16))).eval()
    >>> mask = np.zeros((16, 16), np.float32); mask[5:11, 4:12] = 1
    >>> sample_shapes(model, mask, mask, ensemble=2, steps=2).shape
    (2, 16, 16, 16)
    """
    check_shape_model(model)
    size = model.config.patch_size[0]
    check_number(ensemble, "ensemble", low=1, high=64, integer=True)
    for name, array in (("image", image), ("mask", mask)):
        if np.shape(array) != (size, size):
            raise InputError(f"{name}: expected the model's grid ({size}, {size}), got {np.shape(array)}")
    scheduler, timesteps = make_scheduler(model.config, sampler, steps=steps)
    condition = to_model_range(torch.from_numpy(conditions(image[None], mask[None]))).expand(ensemble, -1, -1, -1, -1)
    generator = torch.Generator().manual_seed(as_seed(rng))
    x = torch.randn((ensemble, 1, size, size, size), generator=generator) * scheduler.init_noise_sigma
    ancestral = scheduler.config.algorithm_type.startswith("sde")
    for t in timesteps:
        with autocast(bf16):
            output = model(x, t.expand(ensemble), condition).float()
        noise = torch.randn(x.shape, generator=generator) if ancestral else None
        x = scheduler.step(output, t, x, variance_noise=noise).prev_sample
    if not torch.isfinite(x).all():
        raise InputError("the shape model gives NaN or infinite values; its weights may be damaged")
    return from_model_range(x[:, 0]).numpy()


def binary_shape(draws: np.ndarray) -> np.ndarray:
    """Return the ensemble's binary shape: the voxels of highest mean, as many as a member has on average.

    The majority vote (mean above 0.5) of members that disagree at their boundaries is
    smaller than each of them; this shape keeps the members' mean volume instead. Ties at
    the cut are kept (soft draws rarely tie).

    Parameters
    ----------
    draws : numpy.ndarray
        ``(K, S, S, S)`` soft shapes in [0, 1] (`sample_shapes`); a member's voxels are
        those above 0.5.

    Examples
    --------
    >>> draws = np.array([[0.9, 0.8, 0.6, 0.0], [0.0, 0.9, 0.7, 0.8]])[:, None, None]  # 3 voxels each
    >>> (draws.mean(axis=0) > 0.5).sum(), binary_shape(draws)[0, 0].astype(int).tolist()
    (np.int64(2), [1, 1, 1, 0])
    """
    draws = np.asarray(draws, np.float32)
    mean = draws.mean(axis=0)
    count = int(round(float(np.mean(np.sum(draws > 0.5, axis=tuple(range(1, draws.ndim)))))))
    if count == 0:
        return np.zeros(mean.shape, bool)
    return mean >= np.sort(mean, axis=None)[-count]
