"""Presets: named YAML recipes of a generator, its parameters, the sketch and the refinement.

A preset has the keys ``generator`` (one of `GENERATORS`), ``shape``, ``spacing``, the
generator's keyword arguments under a key named after it (e.g. ``nuclei:``), ``render:``
(keyword arguments of `synthscope.phantoms.render`), ``refine:`` (read by the pipeline;
checked here, see `REFINE_KEYS`) and an optional ``description``. ``cilia-<class>`` is the
``cilia`` preset with ``cilia.rule`` set to a diagnostic class.

Held regions (``refine.stages[].hold``) name a mask of the item or one derived from the
masks by `held_region`: ``"objects"``/``"tubules"`` (labels > 0), ``"background"``
(labels == 0), ``"empty"`` (the background without out-of-plane nuclei, which the model
then renders), ``"axoneme_minus_tubules"`` (axoneme and not a tubule). The cilia preset
holds the axoneme at t=650, the axoneme without its tubules at t=350, and nothing at t=250.
"""

import copy
import dataclasses
import inspect
from importlib.resources import files
from pathlib import Path

import numpy as np
import yaml

from synthscope.errors import InputError
from synthscope.phantoms import _check as check
from synthscope.phantoms.cilia import MASKS as CILIA_MASKS
from synthscope.phantoms.cilia import check_cilia, cilia
from synthscope.phantoms.cilia_rules import rule_names
from synthscope.phantoms.nuclei import check_nuclei, nuclei
from synthscope.phantoms.render import check_render, render
from synthscope.phantoms.timelapse import check_timelapse, timelapse
from synthscope.phantoms.tissue import check_nuclei_membrane, check_tissue, nuclei_membrane, tissue

#: generator name -> (function, parameter check)
GENERATORS = {
    "nuclei": (nuclei, check_nuclei),
    "tissue": (tissue, check_tissue),
    "timelapse": (timelapse, check_timelapse),
    "nuclei_membrane": (nuclei_membrane, check_nuclei_membrane),
    "cilia": (cilia, check_cilia),
}
REFINE_KEYS = {"model": (str, type(None)), "sampler": str, "steps": int, "t_start": int, "hold": (str, type(None)),
               "stages": list, "slice_rho": (float, int, type(None)), "band": int, "condition": (str, type(None)),
               "mismatch": str, "retries": int}
HELD_REGIONS = ("objects", "tubules", "background", "empty", "axoneme_minus_tubules", "nuclei", *CILIA_MASKS)
_TOP = ("description", "generator", "shape", "spacing", "render", "refine")
# Setting one of these removes the others of its section: count or density; one stage or several.
_ALTERNATIVES = {"count": ("density",), "density": ("count",), "stages": ("t_start", "hold"),
                 "t_start": ("stages",), "hold": ("stages",)}


def preset_names():
    """Names of the built-in presets.

    Examples
    --------
    >>> names = preset_names()
    >>> "nuclei-2d" in names and "cilia-oda-absent" in names
    True
    """
    stems = sorted(p.name[:-5] for p in files("synthscope.phantoms").joinpath("presets").iterdir()
                   if p.name.endswith(".yaml") and not p.name.startswith("_"))
    return stems + [f"cilia-{rule}" for rule in rule_names() if rule != "normal"]


def load_preset(name_or_path, *, settings=None):
    """Return the checked preset `name_or_path` (a built-in name or a YAML file) as a dict.

    Parameters
    ----------
    name_or_path : str or path
    settings : dict, optional
        Changes as dotted keys, e.g. ``{"nuclei.count": 30, "render.blur": 2}`` (from
        ``--set``); a key must exist in the preset's schema. Setting ``count`` of a generator
        removes its ``density`` and the other way round.

    Returns
    -------
    preset : dict
        With ``name`` added and every section present (``spacing`` may be None).

    Raises
    ------
    InputError
        Naming the preset and the key, for an unknown preset, key or value out of range.

    Examples
    --------
    >>> load_preset("nuclei-2d", settings={"nuclei.count": 30})["nuclei"]["count"]
    30
    >>> load_preset("nuclei-2d", settings={"nuclei.colour": 1})
    Traceback (most recent call last):
    ...
    synthscope.errors.InputError: nuclei-2d: nuclei.colour is not a parameter of nuclei; use one of count, ...
    """
    preset, name = _read(name_or_path)
    for key, value in (settings or {}).items():
        _set(preset, key, value, name)
    try:
        _check_preset(preset)
    except InputError as error:
        raise InputError(f"{name}: {error}") from None
    return {"name": name, **preset}


def make_item(preset, *, rng):
    """Return an `Item` made by `preset` (from `load_preset`): masks from its generator and the sketch.

    ``metadata`` records ``preset``, ``generator``, ``parameters`` (the preset without its
    description) and ``diagnostic_class`` (the cilia rule, or None).

    Examples
    --------
    >>> item = make_item(load_preset("nuclei-2d", settings={"shape": [64, 64], "nuclei.count": 5}), rng=0)
    >>> item.sketch.dtype, item.metadata["generator"], item.metadata["diagnostic_class"]
    (dtype('float32'), 'nuclei', None)
    """
    rng = check.as_rng(rng)
    generator = preset["generator"]
    function = GENERATORS[generator][0]
    item = function(preset["shape"], spacing=preset["spacing"], **preset[generator], rng=rng)
    sketch = render(item, **preset["render"], rng=rng)
    parameters = {k: v for k, v in preset.items() if k not in ("name", "description")}
    metadata = {**item.metadata, "preset": preset["name"], "generator": generator, "parameters": parameters,
                "diagnostic_class": item.metadata.get("diagnostic_class")}
    return dataclasses.replace(item, sketch=sketch, metadata=metadata)


def held_region(item, name):
    """Return the boolean region `name` of `item` (see the module notes), laid out like its labels.

    Examples
    --------
    >>> from synthscope.phantoms import cilia
    >>> item = cilia(rng=0)
    >>> region = held_region(item, "axoneme_minus_tubules")
    >>> bool(region.any() and not (region & (item.labels > 0)).any())
    True
    """
    if name in ("objects", "tubules"):
        return item.labels > 0
    if name == "background":
        return item.labels == 0
    if name == "empty":
        return (item.labels == 0) & ~(np.asarray(item.masks.get("out_of_plane", 0)) > 0)
    if name == "axoneme_minus_tubules" and "axoneme" in item.masks:
        return item.masks["axoneme"] & (item.labels == 0)
    if name in item.masks:
        return np.asarray(item.masks[name]) > 0
    raise InputError(f"hold: {name!r} is not a region of this item; use {', '.join(HELD_REGIONS)}")


def _read(name_or_path):
    name = str(name_or_path)
    rule = None
    if name.startswith("cilia-") and name[6:] in rule_names():
        name, rule = "cilia", name[6:]
    source = files("synthscope.phantoms").joinpath("presets", f"{name}.yaml")
    if not source.is_file():
        source = Path(name_or_path)
        if not source.is_file():
            raise InputError(f"preset {name_or_path!r} is neither a file nor one of {', '.join(preset_names())}")
    try:
        preset = yaml.safe_load(source.read_text())
    except yaml.YAMLError as error:
        raise InputError(f"{name_or_path}: not valid YAML ({str(error).splitlines()[0]})") from None
    if not isinstance(preset, dict):
        raise InputError(f"{name_or_path}: a preset is a mapping of keys such as generator, shape, render")
    if rule:
        preset["cilia"]["rule"] = rule
    return preset, (Path(name).stem if not rule else f"cilia-{rule}")


def _set(preset, key, value, name):
    """Apply one dotted setting; only sections of the preset's schema are allowed (keys are checked later)."""
    parts = key.split(".")
    generator = preset.get("generator")
    if parts[0] not in (*_TOP, generator) or (len(parts) > 1 and parts[0] in ("shape", "spacing", "generator")):
        raise InputError(f"{name}: {key} is not a preset key; use {', '.join(k for k in (*_TOP, generator) if k)}")
    section = preset
    for part in parts[:-1]:
        section = section.setdefault(part, {})
        if not isinstance(section, dict):
            raise InputError(f"{name}: {key}: {part} is not a section")
    section[parts[-1]] = copy.deepcopy(value)
    if len(parts) == 2 and parts[0] in (generator, "refine"):
        for other in _ALTERNATIVES.get(parts[1], ()):
            section.pop(other, None)


def _check_preset(preset):
    generator = preset.get("generator")
    check.check_choice(generator, "generator", tuple(GENERATORS))
    unknown = sorted(set(preset) - {*_TOP, generator, "name"})
    if unknown:
        raise InputError(f"{unknown[0]} is not a preset key; use {', '.join((*_TOP, generator))}")
    for section in (generator, "render", "refine"):
        if preset.get(section) is None:  # absent, or an empty YAML section
            preset[section] = {}
        if not isinstance(preset[section], dict):
            raise InputError(f"{section} must be a mapping of keyword arguments")
    preset.setdefault("spacing", None)
    if "shape" not in preset:
        raise InputError("shape is missing, e.g. shape: [256, 256]")
    checker = GENERATORS[generator][1]
    _call(checker, generator, preset[generator], shape=preset["shape"], spacing=preset["spacing"])
    _call(check_render, "render", preset["render"])
    _check_refine(preset["refine"])


def _call(check_function, section, given, **fixed):
    """Run a parameter check on a preset section `given`, naming an unknown or bad key ``section.key``."""
    allowed = [k for k in inspect.signature(check_function).parameters if k not in fixed]
    for key in given:
        if key not in allowed:
            raise InputError(f"{section}.{key} is not a parameter of {section}; use one of {', '.join(allowed)}")
    try:
        check_function(**fixed, **given)
    except InputError as error:
        message = str(error)
        raise InputError(message if message.startswith(("shape", "spacing")) else f"{section}.{message}") from None


def _check_refine(refine):
    for key, value in refine.items():
        if key not in REFINE_KEYS:
            raise InputError(f"refine.{key} is not a refinement key; use {', '.join(REFINE_KEYS)}")
        if not isinstance(value, REFINE_KEYS[key]) or (REFINE_KEYS[key] is int and isinstance(value, bool)):
            raise InputError(f"refine.{key} has the wrong type: {value!r}")
    if "t_start" in refine:
        check.check_number(refine["t_start"], "refine.t_start", low=1, high=999, integer=True)
    if "steps" in refine:
        check.check_number(refine["steps"], "refine.steps", low=1, high=1000, integer=True)
    if "mismatch" in refine:  # what the pipeline does when image and labels disagree
        check.check_choice(refine["mismatch"], "refine.mismatch", ("retry", "relabel", "keep"))
    if "retries" in refine:
        check.check_number(refine["retries"], "refine.retries", low=0, high=20, integer=True)
    if "stages" in refine and {"t_start", "hold"} & set(refine):
        raise InputError("refine.stages replaces refine.t_start and refine.hold; give one or the other")
    if refine.get("hold") is not None:
        check.check_choice(refine["hold"], "refine.hold", HELD_REGIONS)
    for stage in refine.get("stages", []):
        if not isinstance(stage, dict) or set(stage) - {"t", "hold"} or "t" not in stage:
            raise InputError(f"refine.stages: each stage is {{t: int, hold: region or null}}, got {stage!r}")
        check.check_number(stage["t"], "refine.stages.t", low=1, high=999, integer=True)
        if stage.get("hold") is not None:
            check.check_choice(stage["hold"], "refine.stages.hold", HELD_REGIONS)
