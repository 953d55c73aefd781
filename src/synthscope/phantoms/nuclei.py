"""Nuclei: star-convex blobs, densely packed, in 2D or 3D."""

import dataclasses
from collections.abc import Sequence

import numpy as np
from scipy.special import ndtr, ndtri

from synthscope import checks as check
from synthscope.errors import InputError
from synthscope.item import Item
from synthscope.phantoms.placement import place, propose_centres, region_mask
from synthscope.phantoms.recipe import Recipe, choice, number, pair
from synthscope.phantoms.shapes import boundary_distance, random_rotation, random_star

MITOTIC_SIZE = 0.6  # mitotic nuclei: condensed chromatin, smaller and brighter
RADIUS_DISTRIBUTIONS = ("uniform", "lognormal")
Z95 = 1.6448536269514722  # the 95th percentile of the standard normal distribution
DEFOCUS = (0.5, 0.95)  # relative height of an out-of-focus section above the nucleus' middle
MIN_SECTION_RADIUS = 2.0  # pixels: an out-of-focus section is never smaller
DAUGHTER_SIZE = 0.55  # a daughter's radius relative to a drawn radius
DAUGHTER_ELONGATION = (1.3, 1.8)
DAUGHTER_GAP = (0.0, 2.0)  # pixels between the daughters, along the line joining them
DAUGHTER_BRIGHTNESS = (0.9, 1.0)
OUT_OF_PLANE_HEIGHT = (1.2, 2.5)  # relative height h of a nucleus beyond the imaged section (h > 1: not cut)
IN_FOCUS, OUT_OF_FOCUS, PAIR, OUT_OF_PLANE = 0, 1, 2, 3  # the kinds of placement


DEFAULT_DENSITY = 0.35  # the density of a recipe that gives neither count nor density
MAX_COUNT = 65535  # labels fit in uint16


@dataclasses.dataclass(frozen=True, kw_only=True)
class NucleiRecipe(Recipe):
    """The parameters of `nuclei`: how many nuclei, their sizes, shapes and kinds, and their packing.

    Parameters
    ----------
    count : int, optional
        Number of nuclei (labels). Give `count` or `density`; with neither, ``density=0.35``.
    density : float, optional
        Fraction of the image (or `region`) to cover, in (0, 0.6]; the count it gives allows
        for the size distribution and for smaller out-of-focus sections and daughters.
    radius : float or (float, float)
        Equivalent radius in pixels of the last axis: the range of a uniform draw, or the
        5th and 95th percentiles of a lognormal one (see `radius_distribution`).
    radius_distribution : {"uniform", "lognormal"}
        ``"uniform"`` draws radii uniformly in `radius`; ``"lognormal"`` from the lognormal
        distribution with `radius` as its 5th and 95th percentiles (a long upper tail),
        truncated to ``[0.5 * low, 2 * high]``.
    roughness : float
        Amplitude of the boundary's random variation, in [0, 0.3].
    elongation : float or (float, float)
        Longest-to-other semi-axis ratio range, in [1, 4].
    mitotic_fraction : float
        Fraction of nuclei drawn as mitotic: radius x0.6, brightness 0.95.
    dividing_fraction : float
        Fraction of the placements, in [0, 0.5], that are a dividing pair instead of one
        nucleus: two daughters of 0.55 times a drawn radius, elongation 1.3-1.8, long axes
        parallel and across the line joining them, 0-2 pixels apart, brightness 0.9-1.0,
        mitotic, each with its own label. Pairs obey `max_overlap` with the other nuclei;
        `min_distance` does not apply between the two daughters.
    out_of_focus_fraction : float
        Fraction of the single (not dividing) nuclei, in [0, 1], seen away from their middle
        plane at a relative height ``h`` drawn uniformly in (0.5, 0.95): radius x
        ``sqrt(1 - h**2)`` (at least 2 pixels), brightness x ``(1 - defocus_dimming * h)``;
        `render` blurs them more. Exactly ``round(out_of_focus_fraction * singles)`` of them, in
        random placement order. 2D only (a volume shows every nucleus whole).
    defocus_dimming : float
        How much dimmer, in [0, 1], an out-of-focus section is at ``h = 1``. Annotations
        differ: some label only sections nearly as bright as whole nuclei and leave dim
        ones unlabelled (`synthscope.phantoms.fit` measures it).
    out_of_plane : float or (float, float)
        Fraction of the single nuclei, in [0, 0.9], that lie wholly above or below the
        imaged section (2D only), taken from the whole (not out-of-focus) ones and at
        most all of them: drawn whole at a relative height ``h`` uniform in
        `OUT_OF_PLANE_HEIGHT`, at `out_of_plane_brightness` times their brightness, and
        not labelled; `render` draws their blurred light (``blur * (1 + h)``). A range
        draws each image's fraction uniformly from it: the sections of a real stack go
        from all in focus near the middle of the cell layer to mostly out of focus near
        its edges, and a segmenter must learn to leave such light unlabelled. They are
        packed with the others and count towards `count` and `density`, so an image has
        about ``count * (1 - fraction)`` labels.
    out_of_plane_brightness : float or (float, float)
        Range, in [0, 1], of the brightness of an out-of-plane nucleus relative to the
        same nucleus in focus.
    brightness : float or (float, float)
        Range of the sketch intensity of interphase nuclei, read by `render`.
    min_distance : float
        Least distance between centres (pixels of the last axis).
    max_overlap : float
        Largest fraction of a nucleus that may be shared with others, in [0, 0.5].
    clusters : int
        0 places nuclei uniformly; otherwise around this many random cluster centres.
    cluster_spread : float
        Standard deviation of the distance to a cluster centre (pixels).
    region : None, "ellipsoid" or ndarray of bool
        Where centres may lie (an ellipsoid is like an embryo).

    Examples
    --------
    >>> recipe = NucleiRecipe(count=8, radius=6)
    >>> recipe.radius, recipe.resolve((64, 64))["scale"]
    ((6.0, 6.0), (1.0, 1.0))
    >>> NucleiRecipe(count=8, density=0.3)
    Traceback (most recent call last):
    ...
    synthscope.errors.InputError: count and density are alternatives: give one, not both
    """

    count: int | None = number(None, low=1, high=MAX_COUNT, integer=True)
    density: float | None = number(None, low=0, high=0.6, low_open=True)
    radius: float | tuple[float, float] = pair((7.5, 14.0), low=1)
    radius_distribution: str = choice("uniform", RADIUS_DISTRIBUTIONS)
    roughness: float = number(0.08, low=0, high=0.3)
    elongation: float | tuple[float, float] = pair((1.0, 1.5), low=1, high=4)
    mitotic_fraction: float = number(0.05, low=0, high=1)
    dividing_fraction: float = number(0.0, low=0, high=0.5)
    out_of_focus_fraction: float = number(0.0, low=0, high=1)
    defocus_dimming: float = number(0.7, low=0, high=1)
    out_of_plane: float | tuple[float, float] = pair(0.0, low=0, high=0.9)
    out_of_plane_brightness: float | tuple[float, float] = pair((0.4, 0.8), low=0, high=1)
    brightness: float | tuple[float, float] = pair((0.35, 0.8), low=0, high=1)
    min_distance: float = number(0.0, low=0)
    max_overlap: float = number(0.1, low=0, high=0.5)
    clusters: int = number(0, low=0, high=1000, integer=True)
    cluster_spread: float = number(40.0, low=0, low_open=True)
    region: str | np.ndarray | None = None

    def __post_init__(self):
        super().__post_init__()
        if self.count is not None and self.density is not None:
            raise InputError("count and density are alternatives: give one, not both")

    def resolve(self, shape: Sequence[int], spacing: check.Spacing = None) -> dict:
        """Check the recipe against the image and return what the drawing code reads (a dict).

        That is the fields, ``shape``, ``spacing``, ``scale`` (pixel sizes relative to the
        last axis), ``lognormal`` (the radius law, or None), the ``count`` (from `density`
        unless given) and the ``region`` mask (or None).

        Raises
        ------
        InputError
            For a bad shape or spacing, a radius or `min_distance` too large for the shape,
            a 2D-only option on a volume, or more nuclei than can fit.
        """
        shape = check.check_shape(shape)
        self._check("radius", self.radius, high=min(shape) * 4)
        self._check("min_distance", self.min_distance, high=max(shape))
        p = dict(self.to_dict(), shape=shape, spacing=check.check_spacing(spacing, len(shape)))
        for key in ("out_of_focus_fraction", "out_of_plane"):
            if np.any(p[key]) and len(shape) != 2:
                raise InputError(f"{key} applies to 2D images (sections of a volume); use 0 for shape {shape}")
        p["scale"] = tuple(s / p["spacing"][-1] for s in p["spacing"])
        p["lognormal"] = _lognormal(p["radius"]) if p["radius_distribution"] == "lognormal" else None
        region = region_mask(self.region, shape)
        space = region.sum() if region is not None else np.prod(shape)
        ndim = len(shape)
        unit = (np.pi if ndim == 2 else 4 / 3 * np.pi) / np.prod(p["scale"])
        if p["lognormal"] is None:
            mean_size = unit * np.mean(np.linspace(*p["radius"], 5) ** ndim)
        else:  # the mean over 200 equal-probability slices of the truncated lognormal
            mean_size = unit * np.mean(_lognormal_radius(p["lognormal"], (np.arange(200) + 0.5) / 200) ** ndim)
        # out-of-focus sections and daughters are smaller: the count of a density counts them as they are drawn
        section = 1 - (DEFOCUS[1] ** 3 - DEFOCUS[0] ** 3) / (3 * (DEFOCUS[1] - DEFOCUS[0]))  # mean of 1 - h^2
        daughters = 2 * p["dividing_fraction"] / (1 + p["dividing_fraction"])  # share of the labels
        singles = (1 - daughters) * (1 - p["out_of_focus_fraction"] * (1 - section))
        mean_size *= singles + daughters * DAUGHTER_SIZE**ndim
        count = self.count
        if count is None:
            density = DEFAULT_DENSITY if self.density is None else self.density
            count = self._check("count", max(1, round(density * space / mean_size)))
        least = p["radius"][0] * (0.5 if p["lognormal"] else 1) * (MITOTIC_SIZE if p["mitotic_fraction"] else 1)
        if p["out_of_focus_fraction"]:
            least = max(least * np.sqrt(1 - DEFOCUS[1] ** 2), min(least, MIN_SECTION_RADIUS))
        if p["dividing_fraction"]:
            least = min(least, p["radius"][0] * (0.5 if p["lognormal"] else 1) * DAUGHTER_SIZE)
        smallest = unit * least**ndim
        fit = int(0.6 * space / (smallest * (1 - p["max_overlap"])))  # random packing stops near 55% cover
        spaced = ""
        if p["min_distance"]:  # centres are hard discs (balls) of diameter min_distance
            fit = min(fit, int(0.6 * space / (unit * (p["min_distance"] / 2) ** ndim)))
            spaced = f" and min_distance {p['min_distance']:g}"
        if count > fit:
            low, high = p["radius"]
            radius = f"{low:g}" if low == high else f"[{low:g}, {high:g}]"
            raise InputError(
                f"cannot place {count} nuclei: at most about {fit} fit in shape {shape} with radius {radius}{spaced}"
            )
        return dict(p, count=count, region=region)


def nuclei(
    shape: Sequence[int],
    recipe: NucleiRecipe | None = None,
    *,
    spacing: check.Spacing = None,
    rng: check.Rng = None,
    **params,
) -> Item:
    """Return an `Item` of densely packed nuclei: instance labels and per-nucleus metadata.

    Nuclei are star-convex blobs (`synthscope.phantoms.shapes`) of random size, boundary,
    elongation and orientation; a fraction are mitotic (smaller, brighter, more elongated).
    They are placed as described in `synthscope.phantoms.placement`: touching is allowed
    and at most `max_overlap` of any nucleus lies under another (earlier nuclei on top).

    Real 2D images are sections of a volume: with `out_of_focus_fraction`, some nuclei are
    cut away from their middle plane and look smaller and dimmer (`render` also blurs them
    more). With `dividing_fraction`, some placements are the two daughters of a division,
    side by side. A daughter pair counts as two nuclei: `count` (or the count a `density`
    gives) is always the number of labels, of which ``round(dividing_fraction * count /
    (1 + dividing_fraction))`` pairs take the place of single nuclei, so that this fraction
    of the placements are pairs.

    Parameters
    ----------
    shape : sequence of int
        ``(Y, X)`` or ``(Z, Y, X)``.
    recipe, **params
        The parameters: a `NucleiRecipe` (which documents each; by default every default)
        and fields of it as keywords, which replace its own.
    spacing : None, float, sequence or dict
        Physical pixel size per spatial axis (um). Lengths stay in pixels of the last axis;
        a z spacing twice the x spacing makes nuclei half as many slices tall.
    rng : int or numpy.random.Generator, optional

    Returns
    -------
    Item
        ``labels`` (uint16, ids 1..count in placement order, a pair's daughters consecutive),
        ``spacing`` and ``metadata["objects"]``: id, center, radius, elongation, area
        (unoccluded, pixels), brightness and mitotic of every nucleus; with
        `out_of_focus_fraction` also ``defocus`` (``h`` rounded to 3 decimals, 0 when in
        focus), with `dividing_fraction` also ``pair`` (the other daughter's id, or None).
        With `out_of_plane`, ``masks["out_of_plane"]`` (uint16, the out-of-plane nuclei
        numbered 1..M) and their records in ``metadata["out_of_plane"]`` (``defocus > 1``).

    Raises
    ------
    InputError
        Before any work for a parameter out of range or a count that cannot fit; after
        placement, naming how many fitted, when the count was not reached.

    Examples
    --------
    >>> item = nuclei((64, 64), count=8, radius=6, rng=0)
    >>> item.axes, int(item.labels.max()), len(item.metadata["objects"])
    ('YX', 8, 8)
    >>> nuclei((16, 32, 32), NucleiRecipe(count=3, radius=5), spacing=(2, 1, 1), rng=0).labels.shape
    (16, 32, 32)
    >>> item = nuclei((128, 128), count=20, radius=(4, 8), radius_distribution="lognormal",
    ...               dividing_fraction=0.5, out_of_focus_fraction=0.3, rng=0)
    >>> pairs = [o for o in item.metadata["objects"] if o["pair"]]
    >>> len(pairs), pairs[0]["pair"] == pairs[1]["id"], pairs[0]["mitotic"]
    (14, True, True)
    >>> item = nuclei((128, 128), count=20, radius=(6, 9), out_of_plane=0.5, rng=0)
    >>> int(item.labels.max()), int(item.masks["out_of_plane"].max())
    (10, 10)
    """
    recipe = NucleiRecipe.of(recipe, **params)
    p = recipe.resolve(shape, spacing)
    rng = check.as_rng(rng)
    shape = p["shape"]
    propose = propose_centres(
        shape, clusters=p["clusters"], cluster_spread=p["cluster_spread"], scale=p["scale"], rng=rng
    )
    kinds = _kinds(p, rng)

    def draw(centre, rng, index=None):  # one at a time by default; else placement `index` of `kinds`
        if index is None:
            return draw_nucleus(centre, p, rng)
        if kinds[index] == PAIR:
            return draw_pair(centre, p, rng)
        return [draw_nucleus(centre, p, rng, kind=kinds[index])]

    labels, _, records = place(
        shape,
        p["count"],
        draw,
        max_overlap=p["max_overlap"],
        min_distance=p["min_distance"],
        region=p["region"],
        propose=propose,
        scale=p["scale"],
        rng=rng,
        what="nuclei",
        sizes=None if kinds is None else np.where(kinds == PAIR, 2, 1),
        strict=recipe.count is not None,  # a density is a target: as many as fit when an image is crowded
    )
    for record in records:
        if record.get("pair"):  # drawn as the offset to the other daughter, whose id is known now
            record["pair"] += record["id"]
    axes = "ZYX"[-len(shape) :]
    metadata, masks = {"generator": "nuclei", "objects": records}, {}
    if p["out_of_plane"][1]:
        labels, masks["out_of_plane"], metadata["objects"], metadata["out_of_plane"] = split_out_of_plane(
            labels, records
        )
    return Item(
        labels=labels, axes=axes, spacing=check.spacing_dict(p["spacing"], axes), masks=masks, metadata=metadata
    )


def _kinds(p, rng):
    """What each placement is (`IN_FOCUS`, `OUT_OF_FOCUS` or `PAIR`), in random order; None by default.

    The numbers are fixed, not drawn per nucleus: small sections fit more easily into a
    dense image, so a coin flip per attempt would place more of them than asked for.
    """
    if not (p["dividing_fraction"] or p["out_of_focus_fraction"] or p["out_of_plane"][1]):
        return None
    pairs = round(p["dividing_fraction"] * p["count"] / (1 + p["dividing_fraction"]))
    singles = p["count"] - 2 * pairs
    sections, whole = _split(singles, p["out_of_focus_fraction"])
    # near the edge of a cell layer the whole nuclei lie beyond the section; the cut ones are sections
    beyond = min(_split(singles, rng.uniform(*p["out_of_plane"]))[0], whole) if p["out_of_plane"][1] else 0
    kinds = np.repeat([PAIR, OUT_OF_FOCUS, OUT_OF_PLANE, IN_FOCUS], [pairs, sections, beyond, whole - beyond])
    return rng.permutation(kinds)


def _split(total, fraction):
    """``(round(fraction * total), the rest)``."""
    part = round(fraction * total)
    return part, total - part


def draw_nucleus(centre, p, rng, *, kind=IN_FOCUS):
    """Draw one nucleus at `centre` with parameters `p` (from `NucleiRecipe.resolve`): ``(Star, record)``.

    `kind` `OUT_OF_FOCUS` draws it as a section away from its middle plane, `OUT_OF_PLANE`
    as a whole nucleus beyond the section (see `nuclei`).
    """
    mitotic = bool(rng.random() < p["mitotic_fraction"])
    radius = draw_radius(p, rng) * (MITOTIC_SIZE if mitotic else 1)
    elongation = rng.uniform(*p["elongation"])
    if mitotic:
        elongation = max(elongation, rng.uniform(1.3, 2.0))
    defocus, dimming = 0.0, 1.0
    if kind == OUT_OF_FOCUS:
        defocus = rng.uniform(*DEFOCUS)
        radius = max(radius * np.sqrt(1 - defocus**2), min(radius, MIN_SECTION_RADIUS))
        dimming = 1 - p["defocus_dimming"] * defocus
    elif kind == OUT_OF_PLANE:
        defocus, dimming = rng.uniform(*OUT_OF_PLANE_HEIGHT), rng.uniform(*p["out_of_plane_brightness"])
    star = random_star(centre, radius, roughness=p["roughness"], elongation=elongation, rng=rng)
    brightness = (0.95 if mitotic else rng.uniform(*p["brightness"])) * dimming
    record = {"elongation": round(elongation, 3), "brightness": round(brightness, 3), "mitotic": mitotic}
    return star, {**record, **_optional(p, defocus=round(defocus, 3), pair=None)}


def draw_pair(centre, p, rng):
    """Draw the two daughters of a division around `centre`: a list of two ``(Star, record)``.

    They share their axes; the line joining them is their second (short) axis, and their
    boundaries are a random gap apart along it. A record's ``pair`` is the offset to the
    other daughter's id (+1 or -1), which `nuclei` turns into the id.
    """
    scale = np.asarray(p["scale"], float)
    radius = draw_radius(p, rng) * DAUGHTER_SIZE
    rotation = random_rotation(len(centre), rng)
    across = rotation[:, 1]
    gap = rng.uniform(*DAUGHTER_GAP)
    daughters = []
    for sign in (1, -1):
        elongation = rng.uniform(*DAUGHTER_ELONGATION)
        star = random_star(centre, radius, roughness=p["roughness"], elongation=elongation, rng=rng, rotation=rotation)
        offset = (gap / 2 + boundary_distance(star, -sign * across)) * sign * across  # its near side faces the other
        star = dataclasses.replace(star, center=star.center + offset / scale)
        record = {
            "elongation": round(elongation, 3),
            "brightness": round(rng.uniform(*DAUGHTER_BRIGHTNESS), 3),
            "mitotic": True,
        }
        daughters.append((star, {**record, **_optional(p, defocus=0.0, pair=sign)}))
    return daughters


def draw_radius(p, rng):
    """A radius drawn from ``p["radius"]`` by ``p["radius_distribution"]`` (one random number)."""
    if p["lognormal"] is None:
        return rng.uniform(*p["radius"])
    return float(_lognormal_radius(p["lognormal"], rng.random()))


def _optional(p, **keys):
    """The record keys that belong to options in use (none by default, so default records stay as they were)."""
    wanted = {"defocus": p["out_of_focus_fraction"] or p["out_of_plane"][1], "pair": p["dividing_fraction"]}
    return {k: v for k, v in keys.items() if wanted[k]}


def split_out_of_plane(labels, records):
    """Move the nuclei beyond the section (``defocus > 1``) out of `labels`.

    Returns the labels of the section and of the out-of-plane nuclei, each numbered
    1..N in placement order, and the records of each with their ids (and a pair's
    ``pair``) renumbered.
    """
    beyond = np.zeros(int(labels.max()) + 1, bool)
    beyond[[r["id"] for r in records if r.get("defocus", 0) > 1]] = True
    shown = np.bincount(labels.ravel(), minlength=beyond.size) > 0
    shown[0] = False
    forward, forward_out = (_sequential(shown & part, labels.dtype) for part in (~beyond, beyond))
    section, out_of_plane = forward[labels], forward_out[labels]
    kept, moved = [], []
    for record in records:
        if beyond[record["id"]]:
            moved.append({**record, "id": int(forward_out[record["id"]])})
        elif forward[record["id"]]:  # a nucleus hidden under others has no pixels left
            pair = record.get("pair")
            kept.append(
                {**record, "id": int(forward[record["id"]]), **({"pair": int(forward[pair]) or None} if pair else {})}
            )
    return section, out_of_plane, kept, moved


def _sequential(present, dtype):
    """The lookup table (of `dtype`) that numbers the ids marked in `present` 1..N in order, every other id 0."""
    return np.where(present, np.cumsum(present), 0).astype(dtype)


def _lognormal(radius):
    """``(mu, sigma, cdf_low, cdf_high)`` of the lognormal with 5th and 95th percentiles `radius`, truncated."""
    low, high = np.log(radius)
    mu, sigma = (low + high) / 2, (high - low) / (2 * Z95)
    if sigma == 0:
        return mu, 0.0, 0.5, 0.5
    return mu, sigma, float(ndtr((low - np.log(2) - mu) / sigma)), float(ndtr((high + np.log(2) - mu) / sigma))


def _lognormal_radius(law, u):
    """The radius at quantile `u` in [0, 1] of the truncated lognormal `law` (inverse transform sampling)."""
    mu, sigma, cdf_low, cdf_high = law
    return np.exp(mu + sigma * ndtri(cdf_low + u * (cdf_high - cdf_low)))
