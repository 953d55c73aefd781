"""Tissue: cells as a weighted Voronoi (power) tessellation with membranes, and nuclei inside them."""

import dataclasses
from collections.abc import Sequence

import numpy as np
from scipy import ndimage as ndi
from scipy.spatial import cKDTree
from skimage.segmentation import find_boundaries, relabel_sequential

from synthscope import checks as check
from synthscope.item import Item
from synthscope.phantoms.placement import label_dtype, region_mask
from synthscope.phantoms.recipe import Recipe, number, pair
from synthscope.phantoms.shapes import random_star, star_mask

NEIGHBOURS = 4  # power cells are decided among this many nearest seeds
LLOYD_STRIDE = 3  # Lloyd relaxation measures centroids on every third pixel
MIN_RADIUS = 2  # pixels: the least typical cell radius


@dataclasses.dataclass(frozen=True, kw_only=True)
class TissueRecipe(Recipe):
    """The parameters of `tissue`: how many cells, how even, and their membranes.

    Parameters
    ----------
    count : int, optional
        Number of seeds; by default the region's size over a cell of `radius`. Cells that
        end up empty are dropped and the ids renumbered.
    radius : float
        Typical cell radius in pixels of the last axis (sets the default count).
    weight_spread : float
        Spread of the power weights relative to `radius`, in [0, 1]; 0 is plain Voronoi.
    relax : int
        Lloyd iterations.
    thickness : float
        Membrane thickness in pixels, half in each of two touching cells.
    region : None, "ellipsoid" or ndarray of bool
        Where cells lie; None fills the image.

    Examples
    --------
    >>> TissueRecipe(radius=10).resolve((64, 64))["count"]
    13
    >>> TissueRecipe(radius=10, thickness=12)
    Traceback (most recent call last):
    ...
    synthscope.errors.InputError: thickness must be in [1, 10], got 12
    """

    count: int | None = number(None, low=1, integer=True)
    radius: float = number(12.0, low=MIN_RADIUS)
    weight_spread: float = number(0.3, low=0, high=1)
    relax: int = number(2, low=0, high=50, integer=True)
    thickness: float = 2.0
    region: str | np.ndarray | None = None

    def __post_init__(self):
        super().__post_init__()
        self._store(thickness=check.check_number(self.thickness, "thickness", low=1, high=self.radius))

    def resolve(self, shape: Sequence[int], spacing: check.Spacing = None) -> dict:
        """Check the recipe against the image and return what the drawing code reads (a dict).

        That is the fields, ``shape``, ``spacing``, ``scale`` (pixel sizes relative to the
        last axis), the ``region`` mask (or None) and the ``count`` (from `radius` unless given).
        """
        shape = check.check_shape(shape)
        self._check("radius", self.radius, high=max(shape))
        p = dict(
            self.to_dict(),
            shape=shape,
            spacing=check.check_spacing(spacing, len(shape)),
            region=region_mask(self.region, shape),
        )
        p["scale"] = tuple(s / p["spacing"][-1] for s in p["spacing"])
        space = p["region"].sum() if p["region"] is not None else np.prod(shape)
        cell = (np.pi if len(shape) == 2 else 4 / 3 * np.pi) * p["radius"] ** len(shape) / np.prod(p["scale"])
        most = max(1, int(space / 8))  # a cell needs a few pixels to be drawn at all
        p["count"] = self._check("count", max(1, round(space / cell)) if self.count is None else self.count, high=most)
        return p


def tissue(
    shape: Sequence[int],
    recipe: TissueRecipe | None = None,
    *,
    spacing: check.Spacing = None,
    rng: check.Rng = None,
    **params,
) -> Item:
    """Return an `Item` of cells tiling the image (or `region`), with a membrane mask.

    Seeds are drawn uniformly, moved `relax` times to the centroids of their cells (Lloyd
    relaxation makes cells rounder and more even), and each pixel goes to the seed with the
    least power distance ``|x - s|^2 - w`` (weights ``w`` make some cells larger).

    Parameters
    ----------
    shape : sequence of int
        ``(Y, X)`` or ``(Z, Y, X)``, tiled by cells (or its `region`).
    recipe, **params
        The parameters: a `TissueRecipe` (which documents each; by default every default)
        and fields of it as keywords, which replace its own.
    spacing, rng
        The pixel size and the random numbers, as in `synthscope.phantoms.nuclei`.

    Returns
    -------
    Item
        ``labels`` (cells 1..N), ``masks["membrane"]`` (bool) and ``metadata["objects"]``
        (id, center, area).

    Examples
    --------
    >>> item = tissue((64, 64), radius=10, rng=0)
    >>> item.masks["membrane"].dtype, bool(item.labels.min() >= 1)
    (dtype('bool'), True)
    """
    return _cells(TissueRecipe.of(recipe, **params).resolve(shape, spacing), check.as_rng(rng))


def _cells(p, rng):
    """The `tissue` of the parameters `p` (from `TissueRecipe.resolve`)."""
    labels, seeds = _tessellate(p, rng)
    scale = np.asarray(p["scale"])
    membrane = (labels > 0) & _near(find_boundaries(labels, mode="inner"), p["thickness"] / 2, scale)
    areas = np.bincount(labels.ravel(), minlength=seeds.shape[0] + 1)[1:]
    objects = [
        {"id": i + 1, "center": [round(float(c), 2) for c in s], "area": int(a)}
        for i, (s, a) in enumerate(zip(seeds, areas))
    ]
    letters = "ZYX"[-len(p["shape"]) :]
    return Item(
        labels=labels,
        axes=letters,
        masks={"membrane": membrane},
        spacing=check.spacing_dict(p["spacing"], letters),
        metadata={"generator": "tissue", "objects": objects},
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class NucleiMembraneRecipe(TissueRecipe):
    """The parameters of `nuclei_membrane`: the cells of `TissueRecipe` and a nucleus in each.

    Parameters
    ----------
    count, radius, weight_spread, relax, thickness, region
        Of the cells, as in `TissueRecipe` (but `radius` is 14 by default).
    nucleus_size : float or (float, float)
        Nucleus radius relative to the cell's inscribed radius, in (0, 1].
    roughness, elongation, brightness
        As in `synthscope.phantoms.NucleiRecipe`, for the nuclei.

    Examples
    --------
    >>> NucleiMembraneRecipe(nucleus_size=0.7).nucleus_size
    (0.7, 0.7)
    """

    radius: float = number(14.0, low=MIN_RADIUS)
    nucleus_size: float | tuple[float, float] = pair((0.6, 0.85), low=0, high=1, low_open=True)
    roughness: float = number(0.06, low=0, high=0.3)
    elongation: float | tuple[float, float] = pair((1.0, 1.3), low=1, high=4)
    brightness: float | tuple[float, float] = pair((0.35, 0.8), low=0, high=1)


def nuclei_membrane(
    shape: Sequence[int],
    recipe: NucleiMembraneRecipe | None = None,
    *,
    spacing: check.Spacing = None,
    rng: check.Rng = None,
    **params,
) -> Item:
    """Return an `Item` of cells with one nucleus each: two channels of the same cells.

    The cells are `tissue`; each nucleus is a star-convex blob at the innermost point of
    its cell, its radius `nucleus_size` times that point's distance to the membrane, clipped
    to the cell inside the membrane.

    Parameters
    ----------
    shape
        As in `tissue`.
    recipe, **params
        The parameters: a `NucleiMembraneRecipe` (which documents each; by default every
        default) and fields of it as keywords, which replace its own.
    spacing, rng
        As in `tissue` (the cells take their random numbers first).

    Returns
    -------
    Item
        ``labels`` = cells, ``masks["nuclei"]`` = nuclei with the id of their cell,
        ``masks["membrane"]`` (bool), ``metadata["objects"]`` with each cell's brightness.

    Examples
    --------
    >>> item = nuclei_membrane((64, 64), radius=12, rng=0)
    >>> bool(np.all((item.masks["nuclei"] == 0) | (item.masks["nuclei"] == item.labels)))
    True
    """
    p = NucleiMembraneRecipe.of(recipe, **params).resolve(shape, spacing)
    rng = check.as_rng(rng)
    item = _cells(p, rng)
    labels, scale = item.labels, np.asarray(p["scale"])
    inside = labels * ~item.masks["membrane"]
    depth = ndi.distance_transform_edt(find_boundaries(inside, mode="inner") == 0, sampling=scale) * (inside > 0)
    ids = np.arange(1, labels.max() + 1)
    nuclei = np.zeros_like(labels)
    for cell, where, reach, record in zip(
        ids, ndi.maximum_position(depth, inside, ids), ndi.maximum(depth, inside, ids), item.metadata["objects"]
    ):
        star = random_star(
            np.asarray(where, float),
            max(reach, 1) * rng.uniform(*p["nucleus_size"]),
            roughness=p["roughness"],
            elongation=rng.uniform(*p["elongation"]),
            rng=rng,
        )
        slices, mask = star_mask(star, labels.shape, scale=scale)
        nuclei[slices][mask & (inside[slices] == cell)] = cell
        record["brightness"] = round(float(rng.uniform(*p["brightness"])), 3)
    masks = {"nuclei": nuclei, "membrane": item.masks["membrane"]}
    return Item(
        labels=labels,
        axes=item.axes,
        masks=masks,
        spacing=item.spacing,
        metadata={"generator": "nuclei_membrane", "objects": item.metadata["objects"]},
    )


def _near(mask, distance, scale):
    """The pixels closer than `distance` (lengths of the last axis) to a pixel of `mask`: a dilation by that ball."""
    reach = np.ceil(distance / scale).astype(int)
    offsets = np.ogrid[tuple(slice(-r, r + 1) for r in reach)]
    ball = sum((o * s) ** 2 for o, s in zip(offsets, scale)) < distance**2
    return ndi.binary_dilation(mask, structure=ball) if ball.sum() > 1 else mask.copy()


def _tessellate(p, rng):
    """Power tessellation of the region: ``(labels, seeds)`` with contiguous labels."""
    shape, scale, region = p["shape"], np.asarray(p["scale"]), p["region"]
    points = np.argwhere(region) if region is not None else np.indices(shape).reshape(len(shape), -1).T
    seeds = points[rng.choice(len(points), p["count"], replace=False)]
    seeds = seeds + rng.uniform(-0.5, 0.5, seeds.shape)  # anywhere in the pixel, whose centre is its index
    weights = (p["weight_spread"] * p["radius"] * rng.uniform(0, 1, p["count"])) ** 2
    coarse = points[np.all(points % LLOYD_STRIDE == 0, axis=1)]  # centroids need no full resolution
    for _ in range(p["relax"]):
        owner = _power_owner(coarse, seeds, weights, scale)
        owned = np.bincount(owner, minlength=p["count"])[:, None]
        moved = np.stack([np.bincount(owner, coarse[:, i], p["count"]) for i in range(len(shape))], 1)
        centroids = moved / np.maximum(owned, 1) + (LLOYD_STRIDE - 1) / 2  # a coarse point stands for a block
        seeds = np.where(owned > 0, centroids, seeds)
    owner = _power_labels(shape, seeds, weights, scale)
    labels = (owner + 1).astype(label_dtype(p["count"]))
    if region is not None:
        labels[~region] = 0
    labels = relabel_sequential(labels)[0]
    return labels, seeds[
        np.flatnonzero(np.bincount(owner[region] if region is not None else owner.ravel(), minlength=p["count"]))
    ]


def _power_labels(shape, seeds, weights, scale):
    """The owning seed of every pixel, found on a grid of every second pixel and refined where owners differ.

    Exact because power cells are convex: a pixel whose surrounding coarse points share one
    owner lies in their convex hull, inside that owner's cell.
    """
    coarse = [s // 2 + 1 for s in shape]  # reaches one pixel past the far edge
    owner = _power_owner(np.indices(coarse).reshape(len(shape), -1).T * 2, seeds, weights, scale).reshape(coarse)
    for axis in range(len(shape)):
        owner = np.repeat(owner, 2, axis)
    owner = owner[tuple(slice(0, s + 1) for s in shape)]
    unsure = (ndi.maximum_filter(owner, 3) != ndi.minimum_filter(owner, 3))[tuple(slice(0, s) for s in shape)]
    owner = owner[tuple(slice(0, s) for s in shape)].copy()
    owner[unsure] = _power_owner(np.argwhere(unsure), seeds, weights, scale)
    return owner


def _power_owner(points, seeds, weights, scale):
    """Index of the seed with the least power distance to each point, among the nearest few."""
    distance, nearest = cKDTree(seeds * scale).query(points * scale, k=min(NEIGHBOURS, len(seeds)))
    if nearest.ndim == 1:
        return nearest
    best = np.argmin(distance**2 - weights[nearest], axis=1)
    return np.take_along_axis(nearest, best[:, None], 1)[:, 0]
