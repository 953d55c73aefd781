"""The end-to-end job ``generate``: phantom -> sketch -> refine -> annotate -> data set.

The pipeline only wires stages together; model details live in `synthscope.diffusion`,
formats in `synthscope.io`, geometry in `synthscope.phantoms`.
"""

import dataclasses

import numpy as np
from scipy import ndimage as ndi

import synthscope
from synthscope.annotate import find_empty_labels, find_unlabeled, update_labels
from synthscope.errors import InputError
from synthscope.phantoms import held_region, load_preset, make_item
from synthscope.seeds import item_seed


def generate(preset, *, count, out, seed=0, settings=None, callback=None):
    """Write a data set of `count` annotated items made from `preset`.

    Each item is drawn by the preset's generator, rendered to a sketch, refined by the
    preset's diffusion model (if it names one), its masks updated to the refined image,
    and written to `out` in the synthscope data set layout. Item ``i`` depends only on
    ``(seed, i)``; items already complete in `out` are skipped, so an interrupted job
    resumes where it stopped and ends with the same files an uninterrupted run writes.

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
    """Refine an item's sketch with `denoiser` and update its masks to the result.

    Parameters
    ----------
    item : Item
        An item with a sketch.
    denoiser : synthscope.diffusion.Denoiser
    options : dict
        The preset's ``refine`` section: ``sampler``, ``steps``, and either
        ``t_start`` with ``hold_background`` (one SDEdit stage) or ``stages``, a list of
        ``{"t": int, "hold": mask name or None}``; optional ``slice_rho``, ``band``, and
        ``condition: "mask"`` for models conditioned on the objects' foreground mask.
    seed : int
        Seed of the sampling noise.
    polarity : {"bright", "dark"}
        Whether objects are brighter than the background (fluorescence) or darker (TEM).

    Returns
    -------
    Item
        A copy with ``image`` set, ``labels`` updated (same ids) and
        ``metadata["refinement"]`` reporting mask IoUs, refused updates, unlabeled
        objects and empty labels.
    """
    from synthscope.diffusion import refine

    plan = _stage_options(options)
    stages = _stages(item, plan)
    image = refine(
        denoiser,
        item.sketch,
        stages=stages,
        condition=_condition(item, options.get("condition")),
        sampler=options.get("sampler", "dpm"),
        steps=int(options.get("steps", 20)),
        generator=seed,
        slice_rho=options.get("slice_rho"),
    )
    labels, report = update_labels(image, item.labels, band=int(options.get("band", 2)))
    report.update(
        unlabeled_objects=int(find_unlabeled(image, labels, polarity=polarity).max()),
        empty_labels=find_empty_labels(image, labels, polarity=polarity),
        stages=[{"t_start": int(o["t"]), "hold": o.get("hold")} for o in plan],
    )
    report["iou"] = {str(k): round(v, 4) for k, v in report["iou"].items()}
    metadata = {**item.metadata, "refinement": report}
    return dataclasses.replace(item, image=image, labels=labels, metadata=metadata)


def soft_held_region(item, name, *, margin=3, softness=1.0):
    """Return the held region `name` of `item` as a soft mask (float32 in [0, 1]).

    The region comes from `synthscope.phantoms.held_region`; the background is first
    kept `margin` pixels away from every object, so that the model may shape the
    objects' edges, and the mask is then blurred by `softness` (Gaussian sigma).

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
    if name == "background" and margin > 0:
        region = ~ndi.binary_dilation(~region, iterations=margin)
    mask = region.astype(np.float32)
    return ndi.gaussian_filter(mask, softness) if softness > 0 else mask


def _stage_options(options):
    if "stages" in options:
        return list(options["stages"])
    hold = "background" if options.get("hold_background", False) else None
    return [{"t": options.get("t_start", 400), "hold": hold}]


def _stages(item, plan):
    from synthscope.diffusion import Stage

    return [
        Stage(t_start=int(o["t"]), hold=None if o.get("hold") is None else soft_held_region(item, o["hold"]))
        for o in plan
    ]


def _condition(item, kind):
    return None if kind is None else (item.labels > 0).astype(np.float32)


def _check_condition(options, denoiser):
    """Refuse a condition setting that the model cannot use, before any work."""
    kind = options.get("condition")
    if kind not in (None, "mask"):
        raise InputError(f"refine.condition: {kind!r} is not a condition; use mask (the objects' foreground) or null")
    wanted = denoiser.config.condition_channels
    if wanted != (0 if kind is None else 1):
        hint = "set refine.condition=mask" if wanted else "set refine.condition=null"
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
