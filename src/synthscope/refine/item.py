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
  clean, ``"relabel"`` the last one.
- ``"relabel"``: bring the labels into agreement with the image
  (`synthscope.annotate.reconcile_labels`): each unlabeled object becomes a new label (ids
  after the largest), each empty label is removed.
- ``"keep"``: keep the first result and only report what was found.

With ``"retry"`` and ``"relabel"`` every item passes the check: no unlabeled object, no
empty label. The result depends only on the item, the spec and the seed.
"""

import dataclasses

import numpy as np

from synthscope.annotate import find_mismatches, reconcile_labels, update_labels
from synthscope.item import Item
from synthscope.refine.conditions import check_condition, condition
from synthscope.refine.regions import soft_held_region
from synthscope.refine.spec import RefineSpec
from synthscope.refine.tracks import retrack
from synthscope.seeds import item_seed


def load_model(spec: RefineSpec):
    """Return ``(denoiser, info)`` for the model `spec` names, or ``(None, None)`` for none.

    ``info`` is ``{"name", "sha256"}`` as a data set records it. A model whose condition
    channels do not fit ``spec.condition`` is refused (`check_condition`) before any work.
    """
    if spec.model is None:
        return None, None
    from synthscope.diffusion import load_denoiser

    denoiser = load_denoiser(spec.model)
    check_condition(spec, denoiser.config.condition_channels)
    return denoiser, {"name": str(spec.model), "sha256": denoiser.source["sha256"]}


def refine_item(item: Item, denoiser, spec: RefineSpec, *, rng: int, polarity: str = "bright") -> Item:
    """Refine an item's sketch with `denoiser`, update its masks, and settle any mismatch.

    The sketch is refined through ``spec.plan``, every mask moved to the refined image's
    edges (ids kept; frame by frame for a time-lapse, so that every label stays in the
    frames of its track), and the result checked against the sketch (frame by frame for a
    time-lapse) for unlabeled objects and empty labels; ``spec.mismatch`` decides what
    follows (see the module notes). ``"retry"`` refines again with seed
    ``item_seed(rng, k)`` for ``k = 1, 2, ...``; ``"relabel"`` makes a time-lapse lose the
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
        policy acted, and ``stages``.
    """
    retries = spec.retries if spec.mismatch == "retry" else 0
    stages = _stages(item, spec)
    frames = "T" in item.axes
    check = dict(reference=item.sketch, polarity=polarity, frames=frames)
    for attempt in range(retries + 1):
        image = _refine(item, denoiser, spec, stages, rng if attempt == 0 else item_seed(rng, attempt))
        labels, update = update_labels(image, item.labels, band=spec.band, frames=frames)
        blobs, empty = find_mismatches(image, labels, **check)
        if attempt == 0:
            found = {"unlabeled_objects": int(blobs.max()), "empty_labels": empty}
        if not blobs.any() and not empty:
            break
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
    return dataclasses.replace(item, image=image, labels=labels, tracks=tracks, metadata=metadata)


def _stages(item, spec):
    from synthscope.diffusion import Stage

    return [
        Stage(t_start=stage.t, hold=None if stage.hold is None else soft_held_region(item, stage.hold))
        for stage in spec.plan
    ]


def _refine(item, denoiser, spec, stages, seed):
    from synthscope.diffusion import refine

    return refine(
        denoiser,
        item.sketch,
        stages=stages,
        condition=condition(item, spec.condition),
        sampler=spec.sampler,
        steps=spec.steps,
        rng=seed,
        slice_rho=spec.slice_rho,
    )
