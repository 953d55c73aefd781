"""Training both stages of a segmentation model on annotated images, resumable, into a model folder.

The coarse network learns background / interior / boundary; the refiner learns to turn
a coarse foreground probability into the true mask, given the image, in the formulation
``config.refinement.formulation`` names (continuous: `synthscope.diffusion.train_denoiser`;
discrete: `synthscope.segment.discrete.train_discrete_refiner`). Its coarse masks
come from the trained coarse network itself (``"model"``) or from the true masks,
degraded (``"degrade"``, `degrade_mask`).
"""

import dataclasses
import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from synthscope.checks import check_choice, check_number
from synthscope.diffusion import DenoiserConfig, PatchSampler, build_denoiser, train_denoiser
from synthscope.errors import InputError
from synthscope.seeds import as_seed, item_seed
from synthscope.segment.coarse import CLASSES, predict_coarse, train_coarse
from synthscope.segment.config import SegmenterConfig
from synthscope.segment.discrete import train_discrete_refiner
from synthscope.segment.preprocess import preprocess
from synthscope.segment.refiner import CONDITIONS, degrade_mask
from synthscope.segment.segmenter import Segmenter

COARSE_MASKS = ("degrade", "model")
#: The refiner's network unless a config names another: no attention (it is applied in tiles).
REFINER = DenoiserConfig(channels=(16, 32, 64), attention_levels=(False, False, False), patch_size=(64, 64))


@dataclasses.dataclass(frozen=True)
class Training:
    """The training budget and choices of both stages.

    Parameters
    ----------
    coarse_steps, refiner_steps : int
        Optimiser steps of each stage (0 for the refiner trains a coarse-only model).
    batch_size : int
        Patches per step.
    coarse_lr, refiner_lr : float
        Learning rates.
    coarse_masks : {"degrade", "model"}
        Where the refiner's coarse masks come from: the true masks degraded (default:
        on cells3d it beat the coarse model's own masks, which are nearly right on the
        images it was trained on, by 0.037 Dice and 0.059 boundary F1 over 3 seeds; on
        HeLa, whose coarse masks err alike on training and test frames, the model's own
        scored 0.002 Dice higher; docs/benchmarks.md), or the coarse model.
    degraded_copies : int
        With ``"degrade"``: degraded versions drawn per training image.

    Examples
    --------
    >>> Training(coarse_masks="blur")
    Traceback (most recent call last):
    ...
    synthscope.errors.InputError: training.coarse_masks must be one of 'degrade', 'model'; got 'blur'
    """

    coarse_steps: int = 2000
    refiner_steps: int = 3000
    batch_size: int = 8
    coarse_lr: float = 2e-3
    refiner_lr: float = 5e-4
    coarse_masks: str = "degrade"
    degraded_copies: int = 4

    def __post_init__(self):
        for name in ("coarse_steps", "refiner_steps", "batch_size", "degraded_copies"):
            low = 0 if name == "refiner_steps" else 1
            check_number(getattr(self, name), f"training.{name}", low=low, integer=True)
        for name in ("coarse_lr", "refiner_lr"):
            check_number(getattr(self, name), f"training.{name}", low=0, high=1, low_open=True)
        check_choice(self.coarse_masks, "training.coarse_masks", COARSE_MASKS)


def train_segmenter(
    images: Sequence[np.ndarray],
    labels: Sequence[np.ndarray],
    out: str | os.PathLike,
    *,
    config: SegmenterConfig = SegmenterConfig(),
    refiner: DenoiserConfig = REFINER,
    training: Training = Training(),
    resume: bool = False,
    rng: int | np.random.Generator = 0,
    callback: Callable[..., None] | None = None,
) -> Segmenter:
    """Train a coarse network and a refiner on annotated images; write and return the model.

    Parameters
    ----------
    images : sequence of numpy.ndarray
        Raw 2D or 3D images (the dimension of `config`), any real dtype; each is prepared
        by ``config.preprocessing`` (explicit percentile mapping, ...).
    labels : sequence of numpy.ndarray
        Instance labels (integers, 0 = background) of the same shapes; a binary mask
        is split into its connected components.
    out : path-like
        The model folder. Checkpoints are written into it as training goes;
        ``config.json`` is written last and marks the model complete.
    config : SegmenterConfig
    refiner : DenoiserConfig
        The refiner's network; its channels, spatial_dims and axes are set here.
    training : Training
    resume : bool
        Continue an interrupted run in `out` (the same run, step for step).
    rng : int or numpy.random.Generator
    callback : callable, optional
        ``callback(done, total, stage=..., loss=...)`` after each step.

    Returns
    -------
    Segmenter

    Examples
    --------
    >>> import tempfile
    >>> from synthscope.segment.coarse import CoarseConfig
    >>> labels = np.zeros((32, 32), np.uint16); labels[4:14, 4:14] = 1; labels[18:28, 16:30] = 2
    >>> config = SegmenterConfig(coarse=CoarseConfig(channels=(8, 8, 8), patch_size=(16, 16)))
    >>> net = dict(channels=(8, 8, 8), patch_size=(16, 16))
    >>> model = train_segmenter([labels * 0.4], [labels], tempfile.mkdtemp(), config=config,
    ...     refiner=DenoiserConfig(**net), training=Training(coarse_steps=2, refiner_steps=2, batch_size=2))
    >>> model(labels * 0.4, steps=1).labels.shape
    (32, 32)
    """
    out = Path(out)
    dims = config.coarse.spatial_dims
    _check_pairs(images, labels, dims)
    if resume != (out / "coarse_training.json").is_file():
        raise InputError(f"{out}: no checkpoint to resume" if resume else f"{out}: holds a checkpoint; resume it")
    refiner = dataclasses.replace(
        refiner, spatial_dims=dims, axes=config.axes, in_channels=1, condition_channels=len(CONDITIONS)
    )
    seed, began = as_seed(rng), time.perf_counter()
    prepared = [preprocess(image, config.preprocessing) for image in images]
    labels = [_as_instances(np.asarray(label)) for label in labels]
    size = np.max([config.coarse.patch_size, refiner.patch_size], axis=0)
    prepared, labels = zip(*(_padded(image, label, size) for image, label in zip(prepared, labels)))
    coarse = config.coarse.build(rng=item_seed(seed, 0))
    coarse_stats = train_coarse(
        coarse,
        config.coarse,
        prepared,
        labels,
        steps=training.coarse_steps,
        batch_size=training.batch_size,
        lr=training.coarse_lr,
        checkpoint_dir=out,
        resume=resume,
        rng=item_seed(seed, 1),
        callback=_stage(callback, "coarse"),
    )
    model = Segmenter(config, coarse)
    refiner_stats = None
    if training.refiner_steps:
        masks, conditions = _refiner_data(coarse, config, prepared, labels, training, seed)
        patches = PatchSampler(masks, patch_size=refiner.patch_size, conditions=conditions, jitter=0.0)
        model.refiner = build_denoiser(refiner)
        trainer = train_discrete_refiner if config.refinement.formulation == "discrete" else train_denoiser
        refiner_stats = trainer(
            model.refiner,
            patches,
            steps=training.refiner_steps,
            batch_size=training.batch_size,
            lr=training.refiner_lr,
            checkpoint_dir=out / "refiner",
            resume=resume and (out / "refiner" / "training.json").is_file(),
            rng=item_seed(seed, 2),
            callback=_stage(callback, "refiner"),
        )
        model.refiner.eval()
    extra = {
        "training": dataclasses.asdict(training),
        "seed": seed,
        "images": len(images),
        "coarse": coarse_stats,
        "refiner": refiner_stats,
        "minutes": (time.perf_counter() - began) / 60,
    }
    model.save(out, extra=json.loads(json.dumps(extra)))
    return Segmenter.load(out)


def _refiner_data(coarse, config, prepared, labels, training, seed):
    """Return the refiner's targets (true masks) and conditions (image, coarse probability)."""
    masks, conditions = [], []
    for index, (image, label) in enumerate(zip(prepared, labels)):
        truth = label > 0
        if training.coarse_masks == "model":
            coarses = [1 - predict_coarse(coarse, config.coarse, image)[CLASSES.index("background")]]
        else:
            draws = range(training.degraded_copies)
            coarses = [degrade_mask(truth, rng=item_seed(seed, 1000 + index * 64 + k)) for k in draws]
        for guess in coarses:
            masks.append(truth.astype(np.float32))
            conditions.append(np.stack([image, guess]).astype(np.float32))
    return masks, conditions


def _check_pairs(images, labels, dims):
    if len(images) == 0 or len(images) != len(labels):
        raise InputError(f"need one label image per image: got {len(images)} images and {len(labels)} label images")
    for i, (image, label) in enumerate(zip(images, labels)):
        if np.ndim(image) != dims or np.shape(image) != np.shape(label):
            raise InputError(
                f"image {i}: shape {np.shape(image)} and labels {np.shape(label)} must be one {dims}D shape"
            )
        if not np.issubdtype(np.asarray(label).dtype, np.integer) and np.asarray(label).dtype != bool:
            raise InputError(f"labels {i}: dtype {np.asarray(label).dtype}; labels must be integers")


def _as_instances(label):
    """Return instance labels; a binary mask (one value besides 0) becomes its connected components."""
    from scipy import ndimage

    values = np.unique(label)
    return ndimage.label(label > 0)[0] if len(values[values > 0]) == 1 else label


def _padded(image, label, size):
    """Pad `image` (by reflection) and `label` (by 0) up to at least `size` on each side."""
    pad = [(0, max(int(p) - s, 0)) for s, p in zip(image.shape, size)]
    return np.pad(image, pad, mode="reflect"), np.pad(label, pad)


def _stage(callback, stage):
    if callback is None:
        return None
    return lambda done, total, **fields: callback(done, total, stage=stage, **fields)
