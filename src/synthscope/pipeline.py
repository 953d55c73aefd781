"""The end-to-end job ``generate``: phantom -> sketch -> refine -> annotate -> data set.

The pipeline only wires stages together; model details live in `synthscope.diffusion`,
formats in `synthscope.io`, geometry in `synthscope.phantoms`.

Mask-faithful refinement
------------------------
A refinement may paint an object where no label is, or erase a labelled one. After
each refinement the masks are moved to the image's edges (`update_labels`), and the
result is checked against the sketch (`find_mismatches`): an *unlabeled object* is a
blob the refined image shows, away from every label, that the sketch did not show;
an *empty label* is one whose object lost most of the contrast the sketch gave it.
The preset's ``refine.mismatch`` says what happens then:

- ``"retry"`` (default): refine again with a new seed derived from the item's seed,
  up to ``refine.retries`` (default 2) more times, and keep the first result with no
  mismatch; when none is clean, ``"relabel"`` the last one.
- ``"relabel"``: bring the labels into agreement with the image
  (`reconcile_labels`): each unlabeled object becomes a new label (ids after the
  largest), each empty label is removed.
- ``"keep"``: keep the first result and only report what was found.

With ``"retry"`` and ``"relabel"`` every item passes the check: no unlabeled object,
no empty label. Item ``i`` still depends only on ``(seed, i)``.
"""

import dataclasses

import numpy as np
from scipy import ndimage as ndi

import synthscope
from synthscope.annotate import find_mismatches, reconcile_labels, update_labels
from synthscope.errors import InputError
from synthscope.phantoms import held_region, load_preset, make_item
from synthscope.seeds import item_seed

#: What refine_item may do when image and labels disagree (``refine.mismatch``), the default first.
MISMATCH_POLICIES = ("retry", "relabel", "keep")
#: How many more refinements "retry" tries, unless ``refine.retries`` says.
RETRIES_DEFAULT = 2


def generate(preset, *, count, out, seed=0, settings=None, callback=None):
    """Write a data set of `count` annotated items made from `preset`.

    Each item is drawn by the preset's generator, rendered to a sketch, refined by the
    preset's diffusion model (if it names one), its masks updated to the refined image,
    and written to `out` in the synthscope data set layout. Item ``i`` depends only on
    ``(seed, i)``; items already complete in `out` are skipped, so an interrupted job
    resumes where it stopped and ends with the same files an uninterrupted run writes.

    When a refined image and its labels disagree (an object with no label, a label
    with no object), the preset's ``refine.mismatch`` policy decides (see the module
    notes and `refine_item`): by default the item is refined again with seeds derived
    from its own, and relabelled if that does not help, so that every written item
    agrees with its labels; ``refine.mismatch: keep`` only reports the disagreement.

    Parameters
    ----------
    preset : str or path
        A bundled preset name (see `synthscope.phantoms.preset_names`) or a YAML file.
    count : int
        Number of items.
    out : str or path
        The data set folder; created, or resumed if it holds the same job.
    seed : int, optional
        Base seed of the data set.
    settings : dict, optional
        Preset overrides by dotted key, e.g. ``{"nuclei.count": 30,
        "refine.model": None, "refine.steps": 10}``.
    callback : callable, optional
        Called as ``callback(done, total)`` after every item.

    Returns
    -------
    pathlib.Path
        The data set folder.

    Examples
    --------
    >>> import tempfile
    >>> out = generate("nuclei-2d", count=1, out=tempfile.mkdtemp() + "/set",
    ...                settings={"refine.model": None, "shape": [64, 64]})
    >>> sorted(p.name for p in out.iterdir())  # doctest: +ELLIPSIS
    [...'dataset.json', ...'labels', 'manifest.csv', ...]
    """
    from synthscope.io import DatasetWriter

    if count < 1:
        raise InputError(f"count must be at least 1, got {count}")
    config = load_preset(preset, settings=settings)
    options = config.get("refine") or {}
    denoiser, model_info = _load_model(options.get("model"))
    if denoiser is not None:
        _check_condition(options, denoiser)
    info = {
        "generator": "synthscope.generate",
        "preset": config,
        "seed": int(seed),
        "version": synthscope.__version__,
        "model": model_info,
        "refined": denoiser is not None,
    }
    writer = DatasetWriter(out, info=info)
    for index in range(count):
        if not writer.is_complete(index):
            item_rng = item_seed(seed, index)
            item = make_item(config, rng=item_rng)
            if denoiser is not None:
                item = refine_item(item, denoiser, options, seed=item_rng, polarity=_polarity(config))
            writer.write(index, item, record={"seed": item_rng})
        if callback is not None:
            callback(index + 1, count)
    return writer.root


def refine_item(item, denoiser, options, *, seed, polarity="bright"):
    """Refine an item's sketch with `denoiser`, update its masks, and settle any mismatch.

    The sketch is refined, every mask moved to the refined image's edges
    (`update_labels`, ids kept), and the result checked against the sketch
    (`find_mismatches`, frame by frame for a time-lapse) for unlabeled objects and
    empty labels. ``options["mismatch"]`` decides what follows:

    ``"retry"`` (default)
        Refine again with seed ``item_seed(seed, k)`` for ``k = 1, 2, ...``, at most
        ``options["retries"]`` (default 2) times, until a result has no mismatch, and
        keep that one; if none has, relabel the last result as ``"relabel"`` does.
    ``"relabel"``
        Remove every empty label and make every unlabeled object a new label, ids
        after the largest (`reconcile_labels`); a time-lapse loses the whole track of
        a label empty in any frame, and each new object is a one-frame track.
    ``"keep"``
        Keep the first result and only report the mismatches.

    With ``"retry"`` and ``"relabel"`` the returned item passes `find_mismatches`.
    The result depends only on the item, `options` and `seed`.

    Parameters
    ----------
    item : Item
        An item with a sketch.
    denoiser : synthscope.diffusion.Denoiser
    options : dict
        The preset's ``refine`` section: ``sampler``, ``steps``, and either
        ``t_start`` with ``hold`` (one SDEdit stage holding that region, or none) or
        ``stages``, a list of ``{"t": int, "hold": mask name or None}``; optional
        ``slice_rho``, ``band``, ``condition`` for conditional models (``"mask"``: the objects' foreground;
        ``"mask+out_of_plane"``: and the out-of-plane nuclei, see `CONDITION_CHANNELS`),
        ``mismatch`` and ``retries``.
    seed : int
        Seed of the sampling noise of the first refinement.
    polarity : {"bright", "dark"}
        Whether objects are brighter than the background (fluorescence) or darker (TEM).

    Returns
    -------
    Item
        A copy with ``image`` set, ``labels`` (and ``tracks``) updated and
        ``metadata["refinement"]``: ``iou`` (per kept id, old vs new mask),
        ``mean_iou``, ``refused`` (ids whose update was refused), ``added`` and
        ``lost`` (ids), ``attempts`` (refinements run), ``mismatch`` (the policy),
        ``unlabeled_objects`` (count) and ``empty_labels`` (ids) found after the first
        refinement, before the policy acted, and ``stages``.
    """
    policy = options.get("mismatch", MISMATCH_POLICIES[0])
    if policy not in MISMATCH_POLICIES:
        raise InputError(f"refine.mismatch: {policy!r} is not a policy; use {', '.join(MISMATCH_POLICIES)}")
    retries = int(options.get("retries", RETRIES_DEFAULT)) if policy == "retry" else 0
    band = int(options.get("band", 2))
    frames = "T" in item.axes
    plan = _stage_options(options)
    stages = _stages(item, plan)
    check = dict(reference=item.sketch, polarity=polarity, frames=frames)
    for attempt in range(retries + 1):
        image = _refine(item, denoiser, options, stages, seed if attempt == 0 else item_seed(seed, attempt))
        labels, update = update_labels(image, item.labels, band=band)
        blobs, empty = find_mismatches(image, labels, **check)
        if attempt == 0:
            found = {"unlabeled_objects": int(blobs.max()), "empty_labels": empty}
        if not blobs.any() and not empty:
            break
    changes = {"added": [], "lost": []}
    if policy != "keep" and (blobs.any() or empty):
        labels, changes = reconcile_labels(image, labels, band=band, **check)
    iou = {k: v for k, v in update["iou"].items() if k not in changes["lost"]}
    report = {
        "iou": {str(k): round(v, 4) for k, v in iou.items()},
        "mean_iou": float(np.mean(list(iou.values()))) if iou else None,
        "refused": update["refused"],
        **changes,
        "attempts": attempt + 1,
        "mismatch": policy,
        **found,
        "stages": [{"t_start": int(o["t"]), "hold": o.get("hold")} for o in plan],
    }
    tracks = item.tracks if item.tracks is None else _retrack(item.tracks, labels, **changes)
    metadata = {**item.metadata, "refinement": report}
    return dataclasses.replace(item, image=image, labels=labels, tracks=tracks, metadata=metadata)


def _refine(item, denoiser, options, stages, seed):
    from synthscope.diffusion import refine

    return refine(
        denoiser,
        item.sketch,
        stages=stages,
        condition=_condition(item, options.get("condition")),
        sampler=options.get("sampler", "dpm"),
        steps=int(options.get("steps", 20)),
        generator=seed,
        slice_rho=options.get("slice_rho"),
    )


def _retrack(tracks, labels, *, added, lost):
    """Tracks after relabelling: lost tracks dropped (their daughters lose the parent), one-frame tracks added."""
    if not added and not lost:
        return tracks
    kept = tracks[~np.isin(tracks[:, 0], lost)].copy()
    kept[np.isin(kept[:, 3], lost), 3] = 0
    boxes = ndi.find_objects(labels)
    new = [[i, boxes[i - 1][0].start, boxes[i - 1][0].stop - 1, 0] for i in added]
    return np.concatenate([kept, np.array(new, dtype=tracks.dtype).reshape(-1, 4)])


def soft_held_region(item, name, *, margin=3, softness=1.0):
    """Return the held region `name` of `item` as a soft mask (float32 in [0, 1]).

    The region comes from `synthscope.phantoms.held_region`; the background (and the
    empty background) is first kept `margin` pixels away from what it leaves out, so
    that the model may shape the edges there, and the mask is then blurred by
    `softness` (Gaussian sigma).

    Examples
    --------
    >>> import numpy as np
    >>> from synthscope.item import Item
    >>> labels = np.zeros((20, 20), np.uint16); labels[5:10, 5:10] = 1
    >>> held = soft_held_region(Item(labels=labels, axes="YX"), "background", softness=0)
    >>> float(held[7, 7]), float(held[11, 7]), float(held[0, 0])
    (0.0, 0.0, 1.0)
    """
    region = held_region(item, name)
    if name in ("background", "empty") and margin > 0:
        region = ~ndi.binary_dilation(~region, iterations=margin)
    mask = region.astype(np.float32)
    return ndi.gaussian_filter(mask, softness) if softness > 0 else mask


def _stage_options(options):
    if "stages" in options:
        return list(options["stages"])
    return [{"t": options.get("t_start", 400), "hold": options.get("hold")}]


def _stages(item, plan):
    from synthscope.diffusion import Stage

    return [
        Stage(t_start=int(o["t"]), hold=None if o.get("hold") is None else soft_held_region(item, o["hold"]))
        for o in plan
    ]


# The refine.condition settings and how many channels each gives a conditional model.
CONDITION_CHANNELS = {None: 0, "mask": 1, "mask+out_of_plane": 2}


def _condition(item, kind):
    """The objects' foreground, with ``"mask+out_of_plane"`` stacked with the out-of-plane nuclei's
    (``masks["out_of_plane"]``, empty where the item has none)."""
    if kind is None:
        return None
    if kind == "mask":
        return (item.labels > 0).astype(np.float32)
    beyond = item.masks.get("out_of_plane", np.zeros_like(item.labels))
    return np.stack([item.labels > 0, beyond > 0]).astype(np.float32)


def _check_condition(options, denoiser):
    """Refuse a condition setting that the model cannot use, before any work."""
    kind = options.get("condition")
    if kind not in CONDITION_CHANNELS:
        names = ", ".join(str(k) for k in CONDITION_CHANNELS if k)
        raise InputError(f"refine.condition: {kind!r} is not a condition; use {names} or null")
    wanted = denoiser.config.condition_channels
    if wanted != CONDITION_CHANNELS[kind]:
        fits = ["null" if k is None else k for k, v in CONDITION_CHANNELS.items() if v == wanted]
        hint = f"set refine.condition={fits[0]}" if fits else "no condition setting fits it"
        raise InputError(f"refine.model {options.get('model')}: takes {wanted} condition channels; {hint}")


def _polarity(config):
    return "dark" if (config.get("render") or {}).get("modality") == "tem" else "bright"


def _load_model(name_or_path):
    """Load the refinement model, or return (None, None) when the preset names none."""
    if name_or_path is None:
        return None, None
    from synthscope.diffusion import load_denoiser

    denoiser = load_denoiser(name_or_path)
    return denoiser, {"name": str(name_or_path), "sha256": denoiser.source["sha256"]}
