"""Single-object masks from a diffusion model: conditioning on the specimen, training, batched sampling.

A mask model is a 2D `synthscope.diffusion` denoiser trained on crops of real instance
annotations (`synthscope.phantoms.mask_crops`): each object scaled to one equivalent
radius (the model folder's ``extra["mask_radius"]``, pixels of the crop) and centred on
its centroid, so the model learns shapes and the generator chooses sizes. A model may be conditioned on
the specimen classes of its ``extra["specimens"]`` in one of two ways, each also learning
``"any"``, the class-free mixture, by label dropout: one condition channel per class, that
of the class set to a radial ramp and the others zero (all zero for ``"any"``;
`specimen_condition`), or one class label per class and one more for ``"any"``, whose
learned embedding the denoiser adds to its time embedding (`specimen_class`).
`sample_masks` draws a batch from pure noise and keeps the masks that are one piece
without holes (rejects are redrawn); `synthscope.phantoms.mask_crops.decode` places
them in an item. Torch is imported only by `train_mask_model`, `sample_masks` and
`load_mask_model`, so `synthscope.phantoms` stays free of it.
"""

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

from synthscope import checks as check
from synthscope.errors import InputError
from synthscope.phantoms.mask_crops import CROP_RADIUS, is_simple

MAX_ROUNDS = 8  # sampling rounds before a model that keeps failing the checks is refused
SMOOTHING = 1.0  # Gaussian sigma (crop pixels) against the speckle a few-step sampler leaves
ANY = "any"  # the specimen class of a conditioned model's class-free mixture
CONDITIONINGS = ("ramp", "class")  # how `train_mask_model` conditions a model on the specimen


def specimen_condition(specimen: str, specimens: Sequence[str], size: Sequence[int]) -> np.ndarray:
    """Return the condition of one `specimen` class: one image per class of `specimens`.

    The channel of `specimen` holds the distance from the centre over its largest value
    (a ramp from 0 to 1) and the others are 0; ``"any"`` sets none (the class-free
    mixture, what a model trained with label dropout draws without a class). A ramp, not
    a constant: the denoiser's group normalisation (one channel per group at its first
    level) removes a constant offset, and a mask model trained with constant one-hot
    channels drew the same shapes for every class (docs/benchmarks.md, "Learned masks").

    Returns
    -------
    ndarray of float32, shape (len(specimens), *size)

    Raises
    ------
    InputError
        When `specimen` is neither one of `specimens` nor ``"any"``.

    Examples
    --------
    >>> condition = specimen_condition("hela", ["cells3d", "hela", "cho"], (3, 3))
    >>> condition[1].round(2).tolist(), float(condition[[0, 2]].max())
    ([[1.0, 0.71, 1.0], [0.71, 0.0, 0.71], [1.0, 0.71, 1.0]], 0.0)
    >>> float(specimen_condition("any", ["cells3d", "hela", "cho"], (3, 3)).max())
    0.0
    """
    index = specimen_class(specimen, specimens)  # checks the specimen
    condition = np.zeros((len(specimens), *size), np.float32)
    if specimen != ANY:
        distance = np.hypot(*np.indices(size) - (np.asarray(size)[:, None, None] - 1) / 2)
        condition[index] = distance / distance.max()
    return condition


def specimen_class(specimen: str, specimens: Sequence[str]) -> int:
    """Return the class label of `specimen` for a mask model of the classes `specimens`.

    A model conditioned on the specimen by class labels has one class per specimen, in
    the order of `specimens`, and one more for ``"any"``: the class-free mixture it
    learns by label dropout.

    Raises
    ------
    InputError
        When `specimen` is neither one of `specimens` nor ``"any"``.

    Examples
    --------
    >>> specimen_class("hela", ["cells3d", "hela", "cho"]), specimen_class("any", ["cells3d", "hela", "cho"])
    (1, 3)
    """
    specimens = list(specimens)
    if specimen != ANY and specimen not in specimens:
        raise InputError(f"specimen must be one of {[*specimens, ANY]}, got {specimen!r}")
    return len(specimens) if specimen == ANY else specimens.index(specimen)


def model_specimens(name_or_path) -> list[str]:
    """The specimen classes of the mask model `name_or_path`, read from its ``config.json`` alone (no torch).

    Raises
    ------
    InputError
        When there is no such model folder or bundled model, or its config cannot be read.

    Examples
    --------
    >>> model_specimens("nuclei-masks-2d")
    ['cells3d', 'hela', 'cho']
    """
    from synthscope.models import bundled_model_path

    folder = Path(name_or_path)
    if not (folder / "config.json").is_file():
        folder = bundled_model_path(str(name_or_path))
    if folder is None:
        raise InputError(f"{name_or_path}: no mask model folder (config.json) and no bundled model of that name")
    try:
        extra = json.loads((folder / "config.json").read_text()).get("extra", {})
    except (OSError, ValueError) as error:
        raise InputError(f"{name_or_path}: cannot read the mask model's config.json ({error})") from None
    return list(extra.get("specimens", []))


def train_mask_model(
    crops: dict[str, np.ndarray],
    *,
    steps: int,
    channels: Sequence[int] = (16, 32, 64),
    dropout: float = 0.25,
    batch_size: int = 32,
    lr: float = 5e-4,
    radius: float = CROP_RADIUS,
    conditioning: str = "ramp",
    prediction_type: str = "epsilon",
    beta_schedule: str = "linear",
    checkpoint_dir=None,
    rng: check.Rng = 0,
    callback=None,
):
    """Train a mask model conditioned on the specimen and return it with its training statistics.

    Each specimen of `crops` is drawn equally often (flips and 90-degree rotations) with
    its class, or with probability `dropout` as ``"any"``, so that the model also learns
    the class-free mixture. The model is a `synthscope.diffusion` denoiser without
    attention, its ``extra`` the ``mask_radius`` and ``specimens`` that `load_mask_model`
    reads.

    Parameters
    ----------
    crops : dict of str to ndarray, shape (N, S, S)
        Per specimen class, its crops (`synthscope.phantoms.mask_crops.mask_crops`), all of one square size S.
    steps : int
        Optimiser steps (in all, with those before a resume).
    channels : sequence of int
        Feature channels per level of the U-Net.
    dropout : float
        Share of crops drawn without their class, in [0, 1).
    batch_size, lr : int, float
        Crops per step; AdamW learning rate.
    radius : float
        The equivalent radius the crops were scaled to (recorded for `decode`).
    conditioning : {"ramp", "class"}
        How the model takes the specimen: one condition channel per specimen
        (`specimen_condition`; the bundled model), or a class label per specimen and one
        for ``"any"`` (`specimen_class`), a learned embedding added to the time
        embedding (docs/benchmarks.md compares them).
    prediction_type, beta_schedule : str
        What the network predicts and the training noise schedule, as
        `synthscope.diffusion.DenoiserConfig` names them.
    checkpoint_dir : path-like, optional
        Checkpoints every 500 steps; a run in the same folder resumes where it stopped.
    rng : int or numpy.random.Generator
        Seeds the initial weights and the training (torch's global random state is left
        as it was).
    callback : callable, optional
        ``callback(done, total, loss=...)`` after each step.

    Returns
    -------
    model : Denoiser
        The trained weights (the caller saves the EMA copy in `checkpoint_dir`, if any).
    stats : dict
        Those of `synthscope.diffusion.train_denoiser`.
    """
    import torch

    from synthscope.diffusion import PatchSampler, build_denoiser, train_denoiser
    from synthscope.seeds import as_seed

    specimens = list(crops)
    if not specimens or ANY in specimens or any(np.ndim(c) != 3 or not len(c) for c in crops.values()):
        raise InputError(f"crops: expected named, non-empty stacks of 2D crops (no class named {ANY!r})")
    check.check_number(dropout, "dropout", low=0, high=1, high_open=True)
    if conditioning not in CONDITIONINGS:
        raise InputError(f"conditioning: expected one of {CONDITIONINGS}, got {conditioning!r}")
    ramp = conditioning == "ramp"
    size = np.shape(next(iter(crops.values())))[1:]
    free = specimen_class(ANY, specimens)

    class LabelDropout(PatchSampler):
        def draw_with_classes(self, batch_size, *, rng=None):
            rng = np.random.default_rng(rng)  # the trainer's Generator itself: a resumed run continues exactly
            images, conditions, classes = super().draw_with_classes(batch_size, rng=rng)
            dropped = rng.random(batch_size) < dropout
            if ramp:
                conditions[dropped] = 0.0
            else:
                classes[dropped] = free
            return images, conditions, classes

    conditions = None
    if ramp:
        conditions = [
            np.broadcast_to(specimen_condition(name, specimens, size)[:, None], (len(specimens), *np.shape(c)))
            for name, c in crops.items()
        ]
    sampler = LabelDropout(
        list(crops.values()),
        conditions=conditions,
        classes=None if ramp else range(len(specimens)),
        patch_size=size,
        jitter=0.0,
    )
    seed = as_seed(rng)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = build_denoiser(
            channels=tuple(channels),
            attention_levels=(False,) * len(channels),
            patch_size=size,
            condition_channels=len(specimens) if ramp else 0,
            num_classes=0 if ramp else len(specimens) + 1,
            prediction_type=prediction_type,
            beta_schedule=beta_schedule,
        )
    stats = train_denoiser(
        model,
        sampler,
        steps=steps,
        batch_size=batch_size,
        lr=lr,
        checkpoint_dir=checkpoint_dir,
        checkpoint_every=500,
        resume=checkpoint_dir is not None,
        rng=seed,
        callback=callback,
    )
    model.extra = {"mask_radius": float(radius), "specimens": specimens, "label_dropout": dropout}
    return model, stats


def load_mask_model(name_or_path):
    """Return the mask model `name_or_path` (a bundled name or a model folder).

    Raises
    ------
    InputError
        When the model is not a 2D single-channel model made by
        ``scripts/train_mask_model.py`` (its ``extra`` records ``mask_radius``, and the
        specimen classes of ``extra["specimens"]`` are its condition channels or, with
        ``"any"``, its class labels).
    """
    from synthscope.diffusion import load_denoiser

    model = load_denoiser(name_or_path)
    config = model.config
    radius = model.extra.get("mask_radius")
    classes = model.extra.get("specimens", [])
    if config.spatial_dims != 2 or config.in_channels != 1 or radius is None:
        raise InputError(f"model {name_or_path}: not a mask model (a 2D denoiser whose config records mask_radius)")
    if config.num_classes and (config.condition_channels or config.num_classes != len(classes) + 1):
        raise InputError(
            f"model {name_or_path}: {config.num_classes} classes but {len(classes)} specimens (and {ANY!r})"
        )
    if not config.num_classes and config.condition_channels != len(classes):
        raise InputError(
            f"model {name_or_path}: {config.condition_channels} condition channels but {len(classes)} specimen classes"
        )
    return model


def sample_masks(
    model,
    count: int,
    *,
    specimen: str = ANY,
    steps: int = 20,
    sampler: str = "ddpm",
    smoothing: float = SMOOTHING,
    batch: int = 256,
    rng: check.Rng = None,
    callback=None,
) -> np.ndarray:
    """Return `count` masks drawn by the mask `model` from pure noise, each one piece without holes.

    Masks are sampled `batch` at a time (`steps` network evaluations), smoothed by a
    Gaussian of `smoothing` pixels (a few-step sampler leaves speckle) and binarised at
    one half; those that fail `is_simple` are redrawn.

    Parameters
    ----------
    model : Denoiser
        A mask model (`load_mask_model`).
    count : int
        Masks to return.
    specimen : str
        The specimen class whose shapes to draw, one of the model's (`model_specimens`),
        or ``"any"`` (their mixture; the only choice of an unconditioned model).
    steps : int
        Network evaluations per batch, in [1, 50].
    sampler : {"ddpm", "dpm", "ddim"}
        The sampler of `synthscope.diffusion.sample`. Ancestral ``"ddpm"`` draws clean
        masks in few steps where the deterministic ones leave grey, speckled backgrounds
        (docs/benchmarks.md).
    smoothing : float
        Gaussian sigma in crop pixels, at least 0.
    batch : int
        Masks per network call.
    rng : int or numpy.random.Generator, optional
    callback : callable, optional
        ``callback(done, count)`` after each batch.

    Returns
    -------
    ndarray of float32, shape (count, S, S)
        The smoothed output in [0, 1] (edges are soft; `decode` thresholds it at one half).

    Raises
    ------
    InputError
        For an unknown `specimen` or a bad option, before any work; when fewer than a
        tenth of the masks pass the checks (a damaged or untrained model).
    """
    from synthscope.diffusion import sample

    check.check_number(count, "count", low=0, integer=True)
    check.check_number(steps, "steps", low=1, high=50, integer=True)
    check.check_number(smoothing, "smoothing", low=0)
    check.check_number(batch, "batch", low=1, integer=True)
    size = model.config.patch_size
    classes = model.extra.get("specimens", [])
    if not classes and specimen != ANY:
        raise InputError(f"specimen: the mask model is not conditioned on specimens; use {ANY!r}, got {specimen!r}")
    condition = label = None
    if classes and model.config.num_classes:
        label = specimen_class(specimen, classes)
    elif classes:
        condition = specimen_condition(specimen, classes, size)
    rng = check.as_rng(rng)
    kept, drawn = [], 0
    while len(kept) < count:
        if drawn >= max(count, batch) * MAX_ROUNDS:
            raise InputError(f"mask model: only {len(kept)} of {drawn} sampled masks were one piece without holes")
        accepted = (len(kept) + 1) / (drawn + 1) if drawn else 0.8  # draw enough to cover the expected rejects
        wanted = min(batch, max(1, round((count - len(kept)) / max(accepted, 0.1))))
        masks = sample(
            model,
            (wanted, *size),
            condition=None if condition is None else np.repeat(condition[:, None], wanted, axis=1),
            class_labels=None if label is None else np.full(wanted, label),
            sampler=sampler,
            steps=steps,
            rng=rng,
            tile_batch=wanted,
        )  # one network call a step
        masks = ndi.gaussian_filter(masks, (0, smoothing, smoothing))
        kept.extend(m for m in masks if is_simple(m > 0.5))
        drawn += wanted
        if callback is not None:
            callback(min(len(kept), count), count)
    return np.stack(kept[:count]) if count else np.zeros((0, *size), np.float32)
