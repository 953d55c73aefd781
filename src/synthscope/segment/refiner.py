"""Diffusion refinement of a coarse mask, conditioned on the image and on the coarse mask.

The refiner is a `synthscope.diffusion.Denoiser` over one channel, the foreground mask
(0/1, i.e. -1/+1 inside the model), with two condition channels: the prepared image and
the coarse foreground probability (SegRefiner's conditions). Refinement is SDEdit: the
coarse probability is noised to `t_start` (the strength) and denoised in a few steps;
K draws with different noise give a mean mask and a per-pixel uncertainty.
"""

import dataclasses
from collections.abc import Callable

import numpy as np
from scipy import ndimage

from synthscope.checks import check_choice, check_number
from synthscope.diffusion import Denoiser, Stage, refine
from synthscope.diffusion.schedulers import SAMPLERS
from synthscope.seeds import item_seed

#: Condition channels of a refiner, in order.
CONDITIONS = ("image", "coarse")


@dataclasses.dataclass(frozen=True)
class Refinement:
    """How a coarse mask is refined.

    Parameters
    ----------
    t_start : int
        Noise level the coarse mask is brought to (of the model's 1000): the refinement
        strength. Larger lets the refiner move edges further from the coarse mask.
    steps : int
        Network evaluations per draw (SegRefiner uses 6).
    sampler : {"ddim", "dpm", "ddpm"}
        See `synthscope.diffusion.refine`.
    ensemble : int
        Draws averaged into the mean mask; their spread is the uncertainty.
    threshold : float
        The mean probability above which a pixel is foreground.

    Examples
    --------
    >>> Refinement(steps=4).steps
    4
    >>> Refinement(ensemble=0)
    Traceback (most recent call last):
    ...
    synthscope.errors.InputError: refinement.ensemble must be in [1, 64], got 0
    """

    t_start: int = 400
    steps: int = 5
    sampler: str = "ddim"
    ensemble: int = 1
    threshold: float = 0.5

    def __post_init__(self):
        check_number(self.t_start, "refinement.t_start", low=1, high=1000, integer=True)
        check_number(self.steps, "refinement.steps", low=1, high=1000, integer=True)
        check_choice(self.sampler, "refinement.sampler", tuple(SAMPLERS))
        check_number(self.ensemble, "refinement.ensemble", low=1, high=64, integer=True)
        check_number(self.threshold, "refinement.threshold", low=0, high=1, low_open=True, high_open=True)

    def to_dict(self) -> dict:
        """Return the settings as a JSON-ready dict."""
        return dataclasses.asdict(self)


def refine_mask(
    model: Denoiser,
    image: np.ndarray,
    coarse: np.ndarray,
    settings: Refinement = Refinement(),
    *,
    rng: int = 0,
    callback: Callable[..., None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Return the refined foreground probability and its uncertainty.

    Parameters
    ----------
    model : Denoiser
        A refiner: one image channel, the `CONDITIONS` as condition channels.
    image : numpy.ndarray
        The prepared image, float32 in [0, 1], 2D or 3D.
    coarse : numpy.ndarray
        The coarse foreground probability, the shape of `image`.
    settings : Refinement
    rng : int
        Draw k uses the seed ``item_seed(rng, k)``, so draw k is the same for any
        ensemble size.
    callback : callable, optional
        ``callback(done, total, draw=k)`` after each network evaluation.

    Returns
    -------
    probability : numpy.ndarray
        float32 in [0, 1]: the mean of the draws.
    uncertainty : numpy.ndarray
        float32 in [0, 1]: the binary entropy (bits) of the fraction of draws that call a
        pixel foreground (their disagreement); with one draw, of that draw's own value.
        The vote separates boundary from elsewhere far better than the entropy or the
        spread of the soft mean (40x against 1.4x and 5x on the toy task of the tests).

    Examples
    --------
    >>> from synthscope.diffusion import build_denoiser
    >>> model = build_denoiser(channels=(8, 8, 8), patch_size=(16, 16), condition_channels=2).eval()
    >>> image = np.zeros((16, 16), np.float32)
    >>> probability, uncertainty = refine_mask(model, image, image, Refinement(steps=2, ensemble=2))
    >>> probability.shape, uncertainty.dtype
    ((16, 16), dtype('float32'))
    """
    condition = np.stack([image, coarse]).astype(np.float32)
    draws = []
    for k in range(settings.ensemble):
        progress = None if callback is None else (lambda done, total, k=k, **_: callback(done, total, draw=k))
        draws.append(
            refine(
                model,
                coarse.astype(np.float32),
                stages=[Stage(t_start=settings.t_start)],
                condition=condition,
                sampler=settings.sampler,
                steps=settings.steps,
                rng=item_seed(rng, k),
                callback=progress,
            )
        )
    probability = np.mean(draws, axis=0).astype(np.float32)
    votes = np.mean(np.asarray(draws) > settings.threshold, axis=0) if len(draws) > 1 else probability
    return probability, binary_entropy(votes)


def binary_entropy(probability: np.ndarray) -> np.ndarray:
    """Return the entropy in bits (0 where certain, 1 at p = 0.5) of per-pixel probabilities.

    Examples
    --------
    >>> binary_entropy(np.array([0.0, 0.5, 1.0]))
    array([0., 1., 0.], dtype=float32)
    """
    p = np.clip(np.asarray(probability, np.float64), 1e-12, 1 - 1e-12)
    entropy = -(p * np.log2(p) + (1 - p) * np.log2(1 - p))
    return np.where(entropy < 1e-9, 0.0, entropy).astype(np.float32)


def degrade_mask(mask: np.ndarray, *, strength: float = 1.0, rng: int | np.random.Generator = 0) -> np.ndarray:
    """Return a plausible coarse probability made from a true `mask` (2D or 3D), for training the refiner.

    The edge is moved by a smooth random field of about `strength` * 2 pixels (growing
    some objects, shrinking others, making edges wavy), the result blurred and scaled
    towards 0.5, with a few spurious blobs and dropped pixels: the errors a coarse
    network makes.

    Examples
    --------
    >>> mask = np.zeros((32, 32), bool); mask[8:24, 8:24] = True
    >>> coarse = degrade_mask(mask, rng=0)
    >>> coarse.dtype, 0.5 < float(coarse[16, 16]) <= 1, float(coarse[0, 0]) < 0.5
    (dtype('float32'), True, True)
    """
    rng = np.random.default_rng(rng)
    mask = np.asarray(mask, bool)
    signed = ndimage.distance_transform_edt(mask) - ndimage.distance_transform_edt(~mask)
    field = ndimage.gaussian_filter(rng.normal(size=mask.shape), rng.uniform(2, 6))
    field *= 2 * strength / max(field.std(), 1e-6)
    shifted = signed + field + rng.normal(0, 0.5 * strength)
    blobs = ndimage.gaussian_filter(rng.normal(size=mask.shape), 2)
    spots = blobs > 3.2 * blobs.std()  # a few spurious blobs of a few pixels
    probability = 1 / (1 + np.exp(-shifted / rng.uniform(0.5, 1.5)))
    probability = np.where(spots & ~mask, np.maximum(probability, 0.6), probability)
    confidence = rng.uniform(0.6, 1.0)
    return np.clip(0.5 + (probability - 0.5) * confidence, 0, 1).astype(np.float32)
