"""Diffusion refinement of a coarse mask, conditioned on the image and on the coarse mask.

The refiner is a `synthscope.diffusion.Denoiser` over one channel, the foreground mask
(0/1, i.e. -1/+1 inside the model), with two condition channels: the prepared image and
the coarse foreground probability (SegRefiner's conditions). A draw starts from the coarse
mask at the level `t_start` (the strength) and takes a few steps towards the fine mask;
K draws with different noise give a mean mask and a per-pixel uncertainty.

Only the blocks (the refiner's patch size) near the coarse mask's edge are refined, each
with a margin of context; the rest keeps the coarse probability, which is confident there
(so the refiner cannot add an object far from every coarse edge). The selected blocks are
laid side by side and sampled as exact tiles of one call, so 2D and 3D share the path.

Two formulations share this path, the network (a `synthscope.diffusion.Denoiser`) and the
block selection. ``"continuous"``: Gaussian diffusion on the mask's values (±1) with the
shared schedulers and samplers of `synthscope.diffusion`, SDEdit from the noised coarse
mask. ``"discrete"``: SegRefiner's diffusion over which pixels are right
(`synthscope.segment.discrete`), from the binarised coarse mask, committing confident pixels
first. The measured comparison is in docs/benchmarks.md, "Segmentation with diffusion
refinement".
"""

import dataclasses
from collections.abc import Callable

import numpy as np
from scipy import ndimage
from skimage.segmentation import find_boundaries

from synthscope.checks import check_choice, check_number
from synthscope.diffusion import Denoiser, Stage, refine
from synthscope.diffusion.schedulers import SAMPLERS
from synthscope.seeds import item_seed
from synthscope.segment.discrete import refine_discrete

#: Condition channels of a refiner, in order.
CONDITIONS = ("image", "coarse")
#: Pixels of context on every side of a refined block.
CONTEXT = 8
#: The refiner's formulations (see the module's docstring).
FORMULATIONS = ("continuous", "discrete")
#: Default strength of each formulation: the noise level (continuous), or the level the
#: coarse mask is taken to be at, of the model's 1000 (discrete: wholly coarse).
T_START = {"continuous": 400, "discrete": 1000}


@dataclasses.dataclass(frozen=True)
class Refinement:
    """How a coarse mask is refined.

    Parameters
    ----------
    formulation : {"discrete", "continuous"}
        SegRefiner's pixel-flip diffusion, or Gaussian diffusion on the mask's values
        (module docstring); the refiner must have been trained for it. Discrete is the
        default: on the same coarse networks it scored higher (cells3d, 3 training seeds:
        +0.023 Dice, +0.036 boundary F1, +0.047 AP@0.5; docs/benchmarks.md).
    t_start : int, optional
        The refinement strength, of the model's 1000 levels: the noise level the coarse
        mask is brought to (continuous), or the level it is taken to be at (discrete).
        Larger lets the refiner move edges further from the coarse mask. None: the
        formulation's default, `T_START`.
    steps : int
        Network evaluations per draw (SegRefiner uses 6; on cells3d 3 scored as 5 did,
        README "Segment").
    sampler : {"ddim", "dpm", "ddpm"}
        See `synthscope.diffusion.refine` (continuous only).
    ensemble : int
        Draws averaged into the mean mask; their spread is the uncertainty.
    threshold : float
        The mean probability above which a pixel is foreground.
    reach : int, optional
        Only blocks holding a pixel within `reach` pixels of the coarse mask's edge (or
        of a coarse probability in (0.1, 0.9)) are refined; the others keep the coarse
        probability. None refines every block.

    Examples
    --------
    >>> Refinement(steps=4).steps
    4
    >>> Refinement().t_start, Refinement(formulation="continuous").t_start
    (1000, 400)
    >>> Refinement(ensemble=0)
    Traceback (most recent call last):
    ...
    synthscope.errors.InputError: refinement.ensemble must be in [1, 64], got 0
    """

    formulation: str = "discrete"
    t_start: int | None = None
    steps: int = 3
    sampler: str = "ddim"
    ensemble: int = 1
    threshold: float = 0.5
    reach: int | None = 8

    def __post_init__(self):
        check_choice(self.formulation, "refinement.formulation", FORMULATIONS)
        if self.t_start is None:
            object.__setattr__(self, "t_start", T_START[self.formulation])
        check_number(self.t_start, "refinement.t_start", low=1, high=1000, integer=True)
        check_number(self.steps, "refinement.steps", low=1, high=1000, integer=True)
        check_choice(self.sampler, "refinement.sampler", tuple(SAMPLERS))
        check_number(self.ensemble, "refinement.ensemble", low=1, high=64, integer=True)
        check_number(self.threshold, "refinement.threshold", low=0, high=1, low_open=True, high_open=True)
        if self.reach is not None:
            check_number(self.reach, "refinement.reach", low=0, integer=True)

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
        float32 in [0, 1]: the binary entropy (bits) of `probability`; for several
        continuous draws, of the fraction of draws that call a pixel foreground (their
        disagreement), which separates boundary from elsewhere far better than the
        entropy or the spread of their soft mean (40x against 1.4x and 5x on the toy task
        of the tests). Discrete draws commit confident pixels alike and seldom disagree:
        their vote pointed at errors 1.9x, the entropy of their mean 20.6x (cells3d,
        docs/benchmarks.md).

    Examples
    --------
    >>> from synthscope.diffusion import build_denoiser
    >>> model = build_denoiser(channels=(8, 8, 8), patch_size=(16, 16), condition_channels=2).eval()
    >>> image = np.zeros((16, 16), np.float32); image[4:12, 4:12] = 1
    >>> probability, uncertainty = refine_mask(model, image, image, Refinement(steps=2, ensemble=2))
    >>> probability.shape, uncertainty.dtype
    ((16, 16), dtype('float32'))
    """
    blocks = Blocks(coarse.shape, model.config.patch_size, margin=CONTEXT)
    chosen = blocks.near_edges(coarse, reach=settings.reach)
    draws = [coarse.astype(np.float32)] * settings.ensemble
    if chosen:  # else nothing is near an edge: every draw is the coarse probability
        mosaic = blocks.mosaic(coarse, chosen)
        condition = np.stack([blocks.mosaic(image, chosen), mosaic])
        for k in range(settings.ensemble):
            progress = None if callback is None else (lambda done, total, k=k, **_: callback(done, total, draw=k))
            if settings.formulation == "discrete":
                crops, conditions = blocks.batch(mosaic), np.stack([blocks.batch(c) for c in condition], axis=1)
                start = settings.t_start / model.config.num_train_timesteps
                refined = refine_discrete(
                    model,
                    crops,
                    conditions,
                    steps=settings.steps,
                    start=start,
                    rng=item_seed(rng, k),
                    callback=progress,
                )
                refined = np.concatenate(list(refined), axis=-1)
            else:
                refined = refine(
                    model,
                    mosaic,
                    stages=[Stage(t_start=settings.t_start)],
                    condition=condition,
                    sampler=settings.sampler,
                    steps=settings.steps,
                    rng=item_seed(rng, k),
                    tile_size=blocks.crop,
                    tile_overlap=0.0,
                    callback=progress,
                )
            draws[k] = blocks.paste(refined, chosen, into=draws[k])
    probability = np.mean(draws, axis=0).astype(np.float32)
    if settings.formulation == "continuous" and len(draws) > 1:
        return probability, binary_entropy(np.mean(np.asarray(draws) > settings.threshold, axis=0))
    return probability, binary_entropy(probability)


class Blocks:
    """A grid of blocks over an image, each cut with a `margin` of context, laid side by side.

    Parameters
    ----------
    shape : tuple of int
        The image's spatial shape (2D or 3D).
    block : tuple of int
        The block's shape (the refiner's patch size); shrunk to the image.
    margin : int
        Context added on every side of a block (reflected at the image's border).

    Examples
    --------
    >>> blocks = Blocks((20, 30), (16, 16), margin=2)
    >>> blocks.crop, len(blocks.origins)
    ((20, 20), 4)
    >>> image = np.arange(600, dtype=np.float32).reshape(20, 30)
    >>> mosaic = blocks.mosaic(image, [0, 3])
    >>> mosaic.shape
    (20, 40)
    >>> bool(np.array_equal(blocks.paste(mosaic, [0, 3], into=np.zeros_like(image))[16:, 16:], image[16:, 16:]))
    True
    """

    def __init__(self, shape, block, *, margin):
        self.shape = tuple(shape)
        self.block = tuple(min(int(b), s) for b, s in zip(block, shape))
        self.margin = margin
        self.crop = tuple(b + 2 * margin for b in self.block)
        counts = [-(-s // b) for s, b in zip(self.shape, self.block)]
        self.origins = [tuple(i * b for i, b in zip(index, self.block)) for index in np.ndindex(*counts)]

    def near_edges(self, coarse, *, reach):
        """Return the indices of the blocks within `reach` of the coarse mask's edge (all if None)."""
        if reach is None:
            return list(range(len(self.origins)))
        edge = find_boundaries(coarse > 0.5, mode="inner") | (np.abs(coarse - 0.5) < 0.4)
        near = ndimage.distance_transform_edt(~edge) <= reach if edge.any() else edge
        return [i for i, origin in enumerate(self.origins) if near[self._core(origin)].any()]

    def mosaic(self, array, chosen):
        """Return the chosen blocks of `array` with their margins, side by side along the last axis."""
        padded = self._padded(array)
        crops = [padded[tuple(slice(o, o + c) for o, c in zip(self.origins[i], self.crop))] for i in chosen]
        return np.concatenate(crops, axis=-1).astype(np.float32)

    def batch(self, mosaic):
        """Return the blocks of a `mosaic` stacked along a new first axis."""
        return np.stack(np.split(mosaic, mosaic.shape[-1] // self.crop[-1], axis=-1))

    def paste(self, mosaic, chosen, *, into):
        """Return `into` with the chosen blocks' cores replaced by those of `mosaic`."""
        out = into.copy()
        width = self.crop[-1]
        for position, i in enumerate(chosen):
            crop = mosaic[..., position * width : (position + 1) * width]
            core = crop[tuple(slice(self.margin, self.margin + b) for b in self.block)]
            target = self._core(self.origins[i])
            out[target] = core[tuple(slice(0, t.stop - t.start) for t in target)]
        return out

    def _core(self, origin):
        return tuple(slice(o, min(o + b, s)) for o, b, s in zip(origin, self.block, self.shape))

    def _padded(self, array):
        ends = [-(-s // b) * b - s for s, b in zip(self.shape, self.block)]
        return np.pad(array, [(self.margin, self.margin + end) for end in ends], mode="reflect")


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
