"""Refining one item: its sketch through the model's stages, then masks that agree with the image.

Mask-faithful refinement
------------------------
A refinement may paint an object where no label is, or erase a labelled one. After each
refinement the masks are moved to the image's edges (`synthscope.annotate.update_labels`),
and the result is checked against the sketch (`synthscope.annotate.find_mismatches`): an
*unlabeled object* is a blob the refined image shows, away from every label, that the sketch
did not show; an *empty label* is one whose object lost most of the contrast the sketch gave
it. ``refine.mismatch`` says what happens then:

- ``"retry"`` (default): refine again with a new seed derived from the item's seed, up to
  ``refine.retries`` more times, and keep the first result with no mismatch; when none is
  clean, ``"relabel"`` the last one. A retry refines only a window around what disagreed
  (`retry_window`: at least the model's patch, the disagreeing pixels and `RETRY_MARGIN`
  pixels around them drawn again from the sketch, the rest of the window held to the
  previous result), so that it costs a few tiles of the network instead of the whole
  image, and what was already right stays as it was.
- ``"relabel"``: bring the labels into agreement with the image
  (`synthscope.annotate.reconcile_labels`): each unlabeled object becomes a new label (ids
  after the largest), each empty label is removed.
- ``"keep"``: keep the first result and only report what was found.

With ``"retry"`` and ``"relabel"`` every item passes the check: no unlabeled object, no
empty label. The result depends only on the item, the spec and the seed.

``refine.update`` chooses the annotation update: ``"edges"`` (default) is `update_labels`;
``"tubules"`` (the cilia presets) fits TEM tubules with their lumens filled
(`synthscope.annotate.tubules.update_tubules`) and then brings the item's classes and
named masks into agreement with them (`synthscope.annotate.tubules.follow_tubules`).
"""

import dataclasses

import numpy as np
from scipy import ndimage as ndi

from synthscope.annotate import find_mismatches, reconcile_labels, update_labels
from synthscope.annotate.tubules import follow_tubules, update_tubules
from synthscope.errors import InputError
from synthscope.item import Item
from synthscope.refine.conditions import check_condition, condition
from synthscope.refine.regions import soft_held_region
from synthscope.refine.spec import RefineSpec
from synthscope.refine.tracks import retrack
from synthscope.seeds import item_seed

#: Pixels around what disagreed that a retry draws again from the sketch.
RETRY_MARGIN = 8
#: The Gaussian sigma (pixels) of the seam between what a retry draws again and what it holds.
RETRY_SOFTNESS = 2.0


def load_model(spec: RefineSpec):
    """Return ``(denoiser, info)`` for the model `spec` names, or ``(None, None)`` for none.

    ``info`` is ``{"name", "sha256"}`` as a data set records it. A model whose condition
    channels do not fit ``spec.condition`` (`check_condition`), or a distilled student run
    with settings it was not trained for (`check_distilled`), is refused before any work.
    """
    if spec.model is None:
        return None, None
    from synthscope.diffusion import load_denoiser
    from synthscope.diffusion.distill import check_distilled

    denoiser = load_denoiser(spec.model)
    check_condition(spec, denoiser.config.condition_channels)
    starts = [stage.start(denoiser.config) for stage in spec.plan]
    check_distilled(denoiser, sampler=spec.sampler, steps=spec.steps, t_starts=starts)
    return denoiser, {"name": str(spec.model), "sha256": denoiser.source["sha256"]}


def refine_item(item: Item, denoiser, spec: RefineSpec, *, rng: int, polarity: str = "bright") -> Item:
    """Refine an item's sketch with `denoiser`, update its masks, and settle any mismatch.

    The sketch is refined through ``spec.plan``, every mask moved to the refined image's
    edges (ids kept; frame by frame for a time-lapse, so that every label stays in the
    frames of its track), and the result checked against the sketch (frame by frame for a
    time-lapse) for unlabeled objects and empty labels; ``spec.mismatch`` decides what
    follows (see the module notes). ``"retry"`` refines the window around what disagreed
    again with seed ``item_seed(rng, k)`` for ``k = 1, 2, ...``; ``"relabel"`` makes a time-lapse lose the
    whole track of a label empty in any frame, and each new object a one-frame track.

    Parameters
    ----------
    item : Item
        An item with a sketch.
    denoiser : synthscope.diffusion.Denoiser
    spec : RefineSpec
    rng : int
        Seed of the sampling noise of the first refinement.
    polarity : {"bright", "dark"}
        Whether objects are brighter than the background (fluorescence) or darker (TEM).

    Returns
    -------
    Item
        A copy with ``image`` set, ``labels`` (and ``tracks``) updated and
        ``metadata["refinement"]``: ``iou`` (per kept id, old vs new mask), ``mean_iou``,
        ``refused`` (ids whose update was refused), ``added`` and ``lost`` (ids),
        ``attempts`` (refinements run), ``mismatch`` (the policy), ``unlabeled_objects``
        (count) and ``empty_labels`` (ids) found after the first refinement, before the
        policy acted, and ``stages``. With ``spec.update == "tubules"`` also ``classes``
        and ``masks`` follow the fitted tubules.

    Raises
    ------
    InputError
        Before any work, for ``spec.update == "tubules"`` on an item that is not 2D or not dark on light.
    """
    if spec.update == "tubules" and (item.labels.ndim != 2 or polarity != "dark"):
        raise InputError(
            f"refine.update: tubules fits dark tubules in 2D items (TEM); this item has axes {item.axes} "
            f"and {polarity} objects"
        )
    retries = spec.retries if spec.mismatch == "retry" else 0
    stages = _stages(item, spec, denoiser.config)
    frames = "T" in item.axes
    check = dict(reference=item.sketch, polarity=polarity, frames=frames)
    image = _refine(item, denoiser, spec, stages, rng)
    for attempt in range(retries + 1):
        labels, update = _update(image, item.labels, spec, frames=frames)
        blobs, empty = find_mismatches(image, labels, **check)
        if attempt == 0:
            found = {"unlabeled_objects": int(blobs.max()), "empty_labels": empty}
        if (not blobs.any() and not empty) or attempt == retries:
            break
        wrong = (blobs > 0) | np.isin(labels, empty)
        image = _refine_window(item, image, wrong, denoiser, spec, stages, item_seed(rng, attempt + 1))
    changes = {"added": [], "lost": []}
    if spec.mismatch != "keep" and (blobs.any() or empty):
        labels, changes = reconcile_labels(image, labels, band=spec.band, **check)
    iou = {k: v for k, v in update["iou"].items() if k not in changes["lost"]}
    report = {
        "iou": {str(k): round(v, 4) for k, v in iou.items()},
        "mean_iou": float(np.mean(list(iou.values()))) if iou else None,
        "refused": update["refused"],
        **changes,
        "attempts": attempt + 1,
        "mismatch": spec.mismatch,
        **found,
        "stages": [{"t_start": stage.t, "hold": stage.hold} for stage in spec.plan],
    }
    tracks = item.tracks if item.tracks is None else retrack(item.tracks, labels, **changes)
    metadata = {**item.metadata, "refinement": report}
    classes, masks = item.classes, item.masks
    if spec.update == "tubules":
        classes, masks = follow_tubules(labels, drawn=item.labels, classes=item.classes, masks=item.masks)
    return dataclasses.replace(
        item, image=image, labels=labels, classes=classes, masks=masks, tracks=tracks, metadata=metadata
    )


def _update(image, labels, spec, *, frames):
    """The annotation update ``spec.update`` of `labels` to `image`: ``(labels, report)``."""
    if spec.update == "tubules":
        return update_tubules(image, labels, band=spec.band)
    return update_labels(image, labels, band=spec.band, frames=frames)


def _stages(item, spec, config):
    """The `synthscope.diffusion.Stage`s of ``spec.plan`` for a model of `config`."""
    from synthscope.diffusion import Stage

    return [
        Stage(t_start=stage.start(config), hold=None if stage.hold is None else soft_held_region(item, stage.hold))
        for stage in spec.plan
    ]


def _refine(item, denoiser, spec, stages, seed, *, window=(), sketch=None):
    """Refine the item's sketch with `stages`; or the `sketch` of its `window` (a tuple of slices of the labels)."""
    from synthscope.diffusion import refine

    given = condition(item, spec.condition)
    return refine(
        denoiser,
        item.sketch if sketch is None else sketch,
        stages=stages,
        condition=None if given is None else given[(slice(None),) * (given.ndim - item.labels.ndim) + window],
        sampler=spec.sampler,
        steps=spec.steps,
        rng=seed,
        slice_rho=spec.slice_rho,
        tile_size=None if spec.tile is None else (spec.tile,) * denoiser.config.spatial_dims,
    )


def _refine_window(item, image, wrong, denoiser, spec, stages, seed):
    """`image` with the window around the `wrong` pixels refined again from the sketch; the rest as it was."""
    from synthscope.diffusion import Stage

    window = retry_window(wrong, least=denoiser.config.patch_size)
    redo = ndi.binary_dilation(wrong[window], iterations=RETRY_MARGIN)
    keep = 1 - ndi.gaussian_filter(redo.astype(np.float32), RETRY_SOFTNESS)  # held to the previous result
    keep[~redo] = 1.0  # the rest of the window is the previous result, so it joins the image around it
    channels = (slice(None),) * (item.sketch.ndim - item.labels.ndim)
    sketch = np.clip(image[channels + window] * keep + item.sketch[channels + window] * (1 - keep), 0, 1)
    held = [
        Stage(t_start=stage.t_start, hold=keep if stage.hold is None else np.maximum(stage.hold[window], keep))
        for stage in stages
    ]
    again = image.copy()
    again[channels + window] = _refine(item, denoiser, spec, held, seed, window=window, sketch=sketch)
    return again


def retry_window(wrong, *, least, margin=None):
    """The window (a tuple of slices) that a retry refines again: around the `wrong` pixels.

    Along the last ``len(least)`` axes (the model's), the box of the `wrong` pixels widened
    by `margin` (by default twice `RETRY_MARGIN`: the pixels drawn again and a band as wide
    that holds the previous result) and to at least `least` pixels (the model's patch),
    inside the image; any axes before them (time, or the slices of a 2D model) whole. The
    whole image when nothing is wrong.

    Examples
    --------
    >>> wrong = np.zeros((256, 256), bool); wrong[100:108, 250:254] = True
    >>> retry_window(wrong, least=(64, 64))
    (slice(72, 136, None), slice(192, 256, None))
    """
    margin = 2 * RETRY_MARGIN if margin is None else margin
    lead = wrong.ndim - len(least)
    if not wrong.any():
        return (slice(None),) * wrong.ndim
    window = [slice(None)] * lead
    for points, size, side in zip(np.nonzero(wrong)[lead:], wrong.shape[lead:], least):
        low, high = int(points.min()) - margin, int(points.max()) + 1 + margin
        width = min(max(high - low, side), size)
        low = min(max(low - (width - (high - low)) // 2, 0), size - width)
        window.append(slice(low, low + width))
    return tuple(window)
