"""Presets: named YAML recipes of a generator, its parameters, the sketch and the refinement.

A preset has the keys ``generator`` (one of `GENERATORS`), ``shape``, ``spacing``, the
generator's parameters under a key named after it (e.g. ``nuclei:``, the fields of
`synthscope.phantoms.NucleiRecipe`), ``render:`` (the fields of
`synthscope.phantoms.RenderRecipe`), ``refine:`` (the fields of
`synthscope.refine.RefineSpec`, checked here, used by `synthscope.refine`) and an optional
``description``, and an optional ``vary:`` of keys drawn anew for every item
(`synthscope.phantoms.vary`). ``cilia-<class>`` is the ``cilia`` preset with ``cilia.rule`` set to a
diagnostic class.
"""

import copy
import dataclasses
import os
from importlib.resources import files
from pathlib import Path

import yaml

from synthscope import checks as check
from synthscope.errors import InputError
from synthscope.item import Item
from synthscope.phantoms.cilia import CiliaRecipe, cilia
from synthscope.phantoms.cilia_rules import rule_names
from synthscope.phantoms.learned import LearnedRecipe, learned
from synthscope.phantoms.nuclei import NucleiRecipe, nuclei
from synthscope.phantoms.rbc import RbcRecipe, rbc
from synthscope.phantoms.render import RenderRecipe, render
from synthscope.phantoms.timelapse import TimelapseRecipe, timelapse
from synthscope.phantoms.tissue import NucleiMembraneRecipe, TissueRecipe, nuclei_membrane, tissue
from synthscope.phantoms.vary import check_variation, draw_variation, extremes

#: generator name -> (function, recipe class of its parameters)
GENERATORS = {
    "nuclei": (nuclei, NucleiRecipe),
    "tissue": (tissue, TissueRecipe),
    "timelapse": (timelapse, TimelapseRecipe),
    "nuclei_membrane": (nuclei_membrane, NucleiMembraneRecipe),
    "cilia": (cilia, CiliaRecipe),
    "rbc": (rbc, RbcRecipe),
    "learned": (learned, LearnedRecipe),
}
_TOP = ("description", "generator", "shape", "spacing", "render", "refine", "vary")
# Setting one of these removes the others of its section: count or density; one stage or several.
_ALTERNATIVES = {
    "count": ("density",),
    "density": ("count",),
    "stages": ("t_start", "hold"),
    "t_start": ("stages",),
    "hold": ("stages",),
}


def preset_names() -> list[str]:
    """Names of the built-in presets.

    Examples
    --------
    >>> names = preset_names()
    >>> "nuclei-2d" in names and "cilia-oda-absent" in names
    True
    """
    stems = sorted(
        p.name[:-5]
        for p in files("synthscope.phantoms").joinpath("presets").iterdir()
        if p.name.endswith(".yaml") and not p.name.startswith("_")
    )
    return stems + [f"cilia-{rule}" for rule in rule_names() if rule != "normal"]


def load_preset(name_or_path: str | os.PathLike, *, settings: dict | None = None) -> dict:
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
    read, name = _read(name_or_path)
    preset = copy.deepcopy(read)
    for key, value in (settings or {}).items():
        _set(preset, key, value, name)
    try:
        _check_preset(preset)
    except InputError as error:
        message = str(error)
        if "shape" in (settings or {}) and not message.startswith("shape") and _fits_own_shape(read, preset):
            message = f"shape {preset['shape']} does not fit the other settings of the preset: {message}"
        raise InputError(f"{name}: {message}") from None
    return {"name": name, **preset}


def sketch_item(preset: dict, *, rng: check.Rng) -> Item:
    """Return an `Item` made by `preset` (from `load_preset`): masks from its generator and the sketch.

    ``metadata`` records ``preset``, ``generator``, ``parameters`` (the preset without its
    description), ``diagnostic_class`` (the cilia rule, or None) and, for a preset with a
    ``vary`` section, ``varied``: the values drawn for this item.

    Examples
    --------
    >>> item = sketch_item(load_preset("nuclei-2d", settings={"shape": [64, 64], "nuclei.count": 5}), rng=0)
    >>> item.sketch.dtype, item.metadata["generator"], item.metadata["diagnostic_class"]
    (dtype('float32'), 'nuclei', None)
    """
    rng = check.as_rng(rng)
    generator = preset["generator"]
    varied = draw_variation(preset["vary"], rng) if preset.get("vary") else None
    drawn = _with(preset, varied) if varied else preset
    recipe, render_recipe = _recipes(drawn)
    item = GENERATORS[generator][0](preset["shape"], recipe, spacing=preset["spacing"], rng=rng)
    sketch = render(item, render_recipe, rng=rng)
    parameters = {k: v for k, v in preset.items() if k not in ("name", "description")}
    metadata = {
        **item.metadata,
        "preset": preset["name"],
        "generator": generator,
        "parameters": parameters,
        "diagnostic_class": item.metadata.get("diagnostic_class"),
        **({"varied": varied} if varied else {}),
    }
    return dataclasses.replace(item, sketch=sketch, metadata=metadata)


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
    _model_beside(preset, source)
    return preset, (Path(name).stem if not rule else f"cilia-{rule}")


def _model_beside(preset, source):
    """A preset file's ``refine.model`` naming a model folder beside the file is that folder."""
    refine = preset.get("refine")
    model = refine.get("model") if isinstance(refine, dict) else None
    if isinstance(source, Path) and isinstance(model, str) and (source.parent / model / "config.json").is_file():
        refine["model"] = str((source.parent / model).resolve())


def _set(preset, key, value, name):
    """Apply one dotted setting; only sections of the preset's schema are allowed (keys are checked later)."""
    if key.startswith("vary.") and len(key) > 5:  # the rest of a vary key is a dotted key itself
        if not isinstance(preset.setdefault("vary", {}), dict):
            raise InputError(f"{name}: {key}: vary is not a section")
        preset["vary"][key[5:]] = copy.deepcopy(value)
        return
    parts = key.split(".")
    generator = preset.get("generator")
    generator = generator if isinstance(generator, str) else None  # a bad one is refused later, with the others
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
    from synthscope.refine.spec import RefineSpec  # here: refine.spec imports from this package

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
    _check_recipes(preset)
    RefineSpec.from_mapping(preset["refine"])
    if "vary" in preset:
        vary = check_variation(preset["vary"])
        for settings in extremes(vary):
            try:
                _check_recipes(_with(preset, settings))
            except InputError as error:
                raise InputError(f"vary: at {settings}: {error}") from None


def _fits_own_shape(read, preset):
    """Whether `preset` passes its checks with the shape of the preset as `read`, so that a changed shape broke it.

    A preset fitted to its own shape may not fit a much smaller one (``min_distance``,
    ``radius``, ``count``); the error then names the shape the user gave, not a key
    they left alone.
    """
    if "shape" not in read:
        return False
    try:
        _check_preset({**copy.deepcopy(preset), "shape": read["shape"]})
    except InputError:
        return False
    return True


def _check_recipes(preset):
    recipe = _recipes(preset)[0]
    with recipe.naming(preset["generator"]):
        recipe.resolve(preset["shape"], preset["spacing"])


def _with(preset, settings):
    """A copy of `preset` with dotted `settings` applied (values of a ``vary`` draw)."""
    changed = copy.deepcopy(preset)
    for key, value in settings.items():
        _set(changed, key, value, preset.get("name", "preset"))
    return changed


def _recipes(preset):
    """The recipes of the generator and of the sketch of `preset`, naming a bad key ``section.key``."""
    generator = preset["generator"]
    return (
        GENERATORS[generator][1].from_mapping(preset[generator], section_name=generator),
        RenderRecipe.from_mapping(preset["render"], section_name="render"),
    )
