"""Learned nuclei: shapes drawn by a mask diffusion model, composed into a population, in 2D or 3D.

The cascaded-diffusion approach in three steps: a small diffusion model trained on real
annotations draws single-object masks (`synthscope.phantoms.mask_model`), of one
specimen's shapes when the model is conditioned on the specimen, each is
decoded at the item's pixel scale at a drawn size and orientation (lifted to 3D as an
ellipsoid's sections), and `synthscope.phantoms.compose` places them without collisions
at a target density, share of touching objects and clustering. The result is an `Item`
like that of `synthscope.phantoms.nuclei`, so `render`, refinement, annotation update
and the writers take it unchanged.
"""

import dataclasses
import functools
from collections.abc import Sequence

import numpy as np

from synthscope import checks as check
from synthscope.errors import InputError
from synthscope.item import Item
from synthscope.phantoms.compose import GAP, compose
from synthscope.phantoms.lift import lift_masks
from synthscope.phantoms.mask_crops import decode, is_simple
from synthscope.phantoms.mask_model import ANY, SMOOTHING, load_mask_model, model_specimens, sample_masks
from synthscope.phantoms.nuclei import (
    DEFAULT_DENSITY,
    MITOTIC_SIZE,
    OUT_OF_PLANE_HEIGHT,
    RADIUS_DISTRIBUTIONS,
    NucleiRecipe,
    draw_radius,
    split_out_of_plane,
)
from synthscope.phantoms.placement import region_mask
from synthscope.phantoms.recipe import Recipe, choice, number, pair

DEFAULT_MODEL = "nuclei-masks-2d"
SAMPLERS = ("ddpm", "dpm", "ddim")  # those of `synthscope.diffusion.sample` (no torch import here)
#: How a 3D object gets its shape from its drawn mid-plane section (`synthscope.phantoms.lift`).
LIFTS = ("ellipsoid", "shape3d")
SIZE_KEYS = ("shape", "spacing", "scale", "radius", "lognormal")  # what the radius law of `NucleiRecipe` resolves
DECODE_TRIES = 4  # sampled shapes tried for one object before it is left out
MITOTIC_BRIGHTNESS = 0.95  # as `synthscope.phantoms.nuclei` draws mitotic nuclei
#: the parameters `learned` shares with `synthscope.phantoms.nuclei` (`as_learned` carries them over)
SHARED_KEYS = (
    "count",
    "density",
    "radius",
    "radius_distribution",
    "mitotic_fraction",
    "brightness",
    "out_of_plane",
    "out_of_plane_brightness",
    "region",
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class LearnedRecipe(Recipe):
    """The parameters of `learned`: the mask model, how many objects, their sizes, and their packing.

    Parameters
    ----------
    model : str
        The mask model: a bundled name (default ``"nuclei-masks-2d"``) or a model folder
        made by ``scripts/train_mask_model.py``.
    specimen : str
        Whose shapes the model draws: one of its specimen classes (those of
        ``nuclei-masks-2d``: ``"cells3d"``, ``"hela"``, ``"cho"``) or ``"any"``, their
        mixture (the only choice for a model not conditioned on the specimen). Checked
        against the model's config when the recipe is made.
    count : int, optional
        Number of objects. Give `count` or `density`; with neither, ``density=0.35``.
    density : float, optional
        Fraction of the image (or `region`) to cover, in (0, 0.6].
    radius : float or (float, float)
        Equivalent radius in pixels of the last axis (in 3D, of the middle section), drawn
        as `synthscope.phantoms.NucleiRecipe` draws it (see `radius_distribution`).
    radius_distribution : {"uniform", "lognormal"}
    height : float or (float, float)
        3D only: range of the half-height along z over the radius (0.5 is a nucleus half
        as tall as wide), for ``lift="ellipsoid"``.
    lift : {"ellipsoid", "shape3d"}
        3D only: each object is the sections of an ellipsoid of a drawn `height` through its
        mid-plane shape, or the shape the model ``shape3d-nuclei`` predicts from that
        section (`synthscope.phantoms.lift.lift_masks`; about 1 CPU s an object).
    mitotic_fraction : float
        Fraction of objects drawn as mitotic: radius x0.6, brightness 0.95.
    brightness : float or (float, float)
        Range of the sketch intensity of the other objects, read by `render`.
    out_of_plane : float or (float, float)
        2D only: fraction of the objects, in [0, 0.9], that lie wholly above or below the
        imaged section, as `synthscope.phantoms.nuclei` draws them: shapes of the same
        model, packed with the others, not labelled (``masks["out_of_plane"]``), at a
        relative height ``h`` uniform in (1.2, 2.5) that `render` blurs them by. A range
        draws each image's fraction from it. They count towards `count` and `density`.
    out_of_plane_brightness : float or (float, float)
        Range, in [0, 1], of the brightness of an out-of-plane object relative to its
        brightness in focus.
    touching : float
        Probability that an object is placed in contact with an earlier one (see
        `synthscope.phantoms.compose`); objects placed later may touch it too, so the
        share of touching objects is higher.
    gap : int
        Least background, in pixels, between an object placed apart and every other
        (at least 1; see `synthscope.phantoms.compose.compose`).
    clustering : float
        In [0, 1]: how strongly objects placed apart are drawn towards those already
        placed (0: uniformly).
    cluster_distance : float, optional
        Length scale of the clustering (pixels); the mean radius by default.
    min_distance : float
        Least distance between the centres of any two objects, in pixels of the last axis
        (0: none; see `synthscope.phantoms.compose.compose`).
    steps : int
        Network evaluations of the mask model per batch of masks, in [1, 50].
    sampler : {"ddpm", "dpm", "ddim"}
        How the masks are sampled (see `synthscope.phantoms.mask_model.sample_masks`).
    smoothing : float
        Gaussian sigma, in pixels of the model's crops, applied to each sampled mask
        before it is binarised, in [0, 3].
    distinct : int, optional
        At most this many masks are sampled per item; the other objects reuse them,
        rotated and mirrored (for very large counts). One mask per object by default.
    region : None, "ellipsoid" or ndarray of bool
        Where objects may lie.

    Examples
    --------
    >>> recipe = LearnedRecipe(density=0.3, radius=(6, 9))
    >>> p = recipe.resolve((128, 128))
    >>> p["count"], p["scale"]
    (28, (1.0, 1.0))
    >>> LearnedRecipe(specimen="yeast")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    synthscope.errors.InputError: specimen must be one of ['cells3d', 'hela', 'cho', 'any'] (...), got 'yeast'
    """

    model: str = DEFAULT_MODEL
    specimen: str = ANY
    count: int | None = number(None, low=1, integer=True)
    density: float | None = number(None, low=0, high=0.6, low_open=True)
    radius: float | tuple[float, float] = pair((7.5, 14.0), low=1)
    radius_distribution: str = choice("uniform", RADIUS_DISTRIBUTIONS)
    height: float | tuple[float, float] = pair((0.7, 1.0), low=0.2, high=3)
    lift: str = choice("ellipsoid", LIFTS)
    mitotic_fraction: float = number(0.05, low=0, high=1)
    brightness: float | tuple[float, float] = pair((0.35, 0.8), low=0, high=1)
    out_of_plane: float | tuple[float, float] = pair(0.0, low=0, high=0.9)
    out_of_plane_brightness: float | tuple[float, float] = pair((0.4, 0.8), low=0, high=1)
    touching: float = number(0.3, low=0, high=1)
    gap: int = number(GAP, low=1, integer=True)
    clustering: float = number(0.0, low=0, high=1)
    cluster_distance: float | None = number(None, low=0, low_open=True)
    min_distance: float = number(0.0, low=0)
    steps: int = number(20, low=1, high=50, integer=True)
    sampler: str = choice("ddpm", SAMPLERS)
    smoothing: float = number(SMOOTHING, low=0, high=3)
    distinct: int | None = number(None, low=1, integer=True)
    region: str | np.ndarray | None = None

    def __post_init__(self):
        super().__post_init__()
        if self.count is not None and self.density is not None:
            raise InputError("count and density are alternatives: give one, not both")
        classes = [*model_specimens(self.model), ANY]
        if self.specimen not in classes:
            raise InputError(
                f"specimen must be one of {classes} (the classes of mask model {self.model}), got {self.specimen!r}"
            )

    def resolve(self, shape: Sequence[int], spacing: check.Spacing = None) -> dict:
        """Check the recipe against the image and return what the drawing code reads (a dict).

        The fields with ``shape``, ``spacing``, ``scale`` (pixel sizes relative to the last
        axis), ``lognormal`` (the radius law, as `synthscope.phantoms.NucleiRecipe`
        resolves it), the ``count`` (from `density` unless given: an object of height
        ``h`` has ``h`` times the volume of a ball) and the ``region`` mask (or None).

        Raises
        ------
        InputError
            For a bad shape or spacing, a radius too large for the shape, out-of-plane
            objects in a volume, or more objects than can fit.
        """
        shape = check.check_shape(shape)
        if np.any(self.out_of_plane) and len(shape) != 2:
            raise InputError(f"out_of_plane applies to 2D images (sections of a volume); use 0 for shape {shape}")
        size_law = NucleiRecipe(count=1, radius=self.radius, radius_distribution=self.radius_distribution)
        p = dict(self.to_dict(), **{k: v for k, v in size_law.resolve(shape, spacing).items() if k in SIZE_KEYS})
        p["region"] = region_mask(self.region, shape)
        ndim = len(shape)
        space = p["region"].sum() if p["region"] is not None else np.prod(shape)
        unit = (
            (np.pi if ndim == 2 else 4 / 3 * np.pi) / np.prod(p["scale"]) * (np.mean(p["height"]) if ndim == 3 else 1)
        )
        draws = np.random.default_rng(0)  # a fixed estimate of the mean size: a density gives one count
        mean_power = np.mean([draw_radius(p, draws) ** ndim for _ in range(512)])
        mitotic = 1 - p["mitotic_fraction"] * (1 - MITOTIC_SIZE**ndim)
        count = self.count
        if count is None:
            density = DEFAULT_DENSITY if self.density is None else self.density
            count = max(1, round(density * space / (unit * mean_power * mitotic)))
        least = p["radius"][0] * (0.5 if p["lognormal"] else 1) * (MITOTIC_SIZE if p["mitotic_fraction"] else 1)
        fit = int(0.6 * space / (unit * least**ndim))  # random packing stops near 55% cover
        if count > fit:
            raise InputError(f"cannot place {count} nuclei: at most about {fit} fit in shape {shape}")
        return dict(p, count=count)


def learned(
    shape: Sequence[int],
    recipe: LearnedRecipe | None = None,
    *,
    spacing: check.Spacing = None,
    rng: check.Rng = None,
    **params,
) -> Item:
    """Return an `Item` of nuclei whose shapes a mask diffusion model draws, packed without collisions.

    Parameters
    ----------
    shape : sequence of int
        ``(Y, X)`` or ``(Z, Y, X)``.
    recipe, **params
        The parameters: a `LearnedRecipe` (which documents each) and fields of it as
        keywords, which replace its own.
    spacing : None, float, sequence or dict
        Physical pixel size per spatial axis; lengths are in pixels of the last axis.
    rng : int or numpy.random.Generator, optional

    Returns
    -------
    Item
        ``labels`` (uint16, uint32 above 65,535 objects; ids 1..N in placement order,
        largest objects first), ``spacing``, and ``metadata``: ``objects`` (id, center,
        radius, area, brightness, mitotic, touching, and height in 3D) and ``mask_model``
        (the model's name as given and the sha256 of its weights). With `out_of_plane`,
        ``masks["out_of_plane"]`` (the out-of-plane objects numbered 1..M), their records
        in ``metadata["out_of_plane"]`` and a ``defocus`` in every record (``h``, 0 in
        the section), as `synthscope.phantoms.nuclei` returns them.

    Raises
    ------
    InputError
        Before any work for a bad parameter or a count that cannot fit; after placement,
        naming how many fitted, when a `count` was given and not reached.

    Examples
    --------
    >>> item = learned((96, 96), count=10, radius=(6, 9), rng=0)
    >>> item.axes, int(item.labels.max()), sorted(item.metadata["objects"][0])[:4]
    ('YX', 10, ['area', 'brightness', 'center', 'id'])
    >>> item = learned((96, 96), count=10, radius=(6, 9), out_of_plane=0.4, rng=0)
    >>> int(item.labels.max()), int(item.masks["out_of_plane"].max())
    (6, 4)
    """
    recipe = LearnedRecipe.of(recipe, **params)
    p = recipe.resolve(shape, spacing)
    rng = check.as_rng(rng)
    model = _load(p["model"])
    count, ndim = p["count"], len(p["shape"])
    mitotic = rng.random(count) < p["mitotic_fraction"]
    radii = np.array([draw_radius(p, rng) for _ in range(count)]) * np.where(mitotic, MITOTIC_SIZE, 1)
    split = p["out_of_plane"][1] > 0  # some objects may lie wholly above or below the section
    beyond = np.zeros(count, bool)  # those objects: drawn, not labelled
    if split:
        beyond[rng.choice(count, round(rng.uniform(*p["out_of_plane"]) * count), replace=False)] = True
    order = np.argsort(-radii, kind="stable")  # the largest first: they need the most room
    shapes = sample_masks(
        model,
        min(count, p["distinct"] or count),
        specimen=p["specimen"],
        steps=p["steps"],
        sampler=p["sampler"],
        smoothing=p["smoothing"],
        rng=rng,
    )
    boxes, drawn = [], []
    lifted = ndim == 3 and p["lift"] == "shape3d"
    section_scale = p["scale"][-2:] if lifted else p["scale"]
    for n, index in enumerate(order):
        height = rng.uniform(*p["height"]) if ndim == 3 and not lifted else 1.0
        for attempt in range(DECODE_TRIES):
            mask = shapes[(n + attempt) % len(shapes)]
            mask = mask[:, ::-1] if rng.random() < 0.5 else mask
            angle = rng.uniform(0, 2 * np.pi)
            box = decode(mask, radii[index], scale=section_scale, angle=angle, height=height)
            if lifted and box.any():
                box = lift_masks([box], z_ratio=p["scale"][0], rng=rng)[0]
                height = float(box.shape[0] * p["scale"][0] / 2 / radii[index])
            if box.any() and is_simple(box):
                boxes.append(box)
                drawn.append((index, height))
                break
    labels, placed = compose(
        p["shape"],
        boxes,
        touching=p["touching"],
        gap=p["gap"],
        clustering=p["clustering"],
        cluster_distance=p["cluster_distance"],
        min_distance=p["min_distance"],
        region=p["region"],
        scale=p["scale"],
        rng=rng,
    )
    if recipe.count is not None and len(placed) < count:
        raise InputError(f"cannot place {count} nuclei: only {len(placed)} fit without collisions; lower the count")
    records = []
    for record in placed:
        index, height = drawn[record.pop("mask")]
        brightness = MITOTIC_BRIGHTNESS if mitotic[index] else rng.uniform(*p["brightness"])
        extra = {"height": round(height, 3)} if ndim == 3 else {}
        if split:
            defocus = rng.uniform(*OUT_OF_PLANE_HEIGHT) if beyond[index] else 0.0
            brightness *= rng.uniform(*p["out_of_plane_brightness"]) if beyond[index] else 1.0
            extra["defocus"] = round(defocus, 3)
        records.append(
            {
                **record,
                "radius": round(float(radii[index]), 3),
                "brightness": round(float(brightness), 3),
                "mitotic": bool(mitotic[index]),
                **extra,
            }
        )
    axes = "ZYX"[-ndim:]
    metadata = {
        "generator": "learned",
        "objects": records,
        "mask_model": {"name": p["model"], "specimen": p["specimen"], "sha256": model.source["sha256"]},
    }
    masks = {}
    if split:
        labels, masks["out_of_plane"], metadata["objects"], metadata["out_of_plane"] = split_out_of_plane(
            labels, records
        )
    return Item(
        labels=labels, axes=axes, spacing=check.spacing_dict(p["spacing"], axes), masks=masks, metadata=metadata
    )


def as_learned(preset: dict, **params) -> dict:
    """Return a copy of the ``nuclei`` `preset` (a dict) that draws its objects with `learned`.

    The parameters both generators have (`SHARED_KEYS`: count or density, sizes,
    unlabelled out-of-plane nuclei, mitotic share, brightness, region) carry over, and so
    do the sketch, the refinement and the ``vary`` keys of those parameters; `params` set
    further fields of `LearnedRecipe` or replace carried ones. With ``out_of_plane=0`` in
    `params`, a density is the labelled one: it loses the preset's mean share of
    out-of-plane nuclei.

    Examples
    --------
    >>> from synthscope.phantoms import load_preset
    >>> preset = as_learned(load_preset("nuclei-2d"), touching=0.2)
    >>> preset["generator"], preset["learned"]["radius"], preset["learned"]["density"], preset["learned"]["touching"]
    ('learned', [9.71, 14.2], 0.493, 0.2)
    >>> preset["learned"]["out_of_plane"], as_learned(load_preset("nuclei-2d"), out_of_plane=0)["learned"]["density"]
    ([0.0, 0.9], 0.271)
    """
    if preset.get("generator") != "nuclei":
        raise InputError(f"as_learned: expected a preset of the nuclei generator, got {preset.get('generator')!r}")
    converted = {k: v for k, v in preset.items() if k not in ("nuclei", "name")}
    converted["generator"] = "learned"
    section = {k: v for k, v in preset["nuclei"].items() if k in SHARED_KEYS} | params
    beyond = np.mean(preset["nuclei"].get("out_of_plane", 0.0))
    if "density" in section and "density" not in params and beyond and not np.any(section.get("out_of_plane", 0)):
        section["density"] = round(section["density"] * (1 - float(beyond)), 3)  # every object drawn is labelled
    converted["learned"] = section
    if preset.get("vary"):
        converted["vary"] = {
            f"learned.{key[7:]}" if key.startswith("nuclei.") else key: value
            for key, value in preset["vary"].items()
            if not key.startswith("nuclei.") or key[7:] in SHARED_KEYS
        }
    return converted


@functools.lru_cache(maxsize=4)
def _load(name):
    """The mask model `name`, loaded once per process."""
    return load_mask_model(name)
