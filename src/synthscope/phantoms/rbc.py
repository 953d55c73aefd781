"""Red blood cells in 3D: one cell (or one cluster) per volume, in six morphological classes.

The classes are those of the published 3D confocal red-blood-cell set (Simionato et al.,
PLOS Comp Biol 2021; 64^3 single-cell volumes): the stomatocyte-discocyte-echinocyte
continuum (``"sde"``), cell clusters, multilobate cells, keratocytes, knizocytes and
acanthocytes. Each shape is an implicit solid in the cell's own frame, in units of the
cell's radius, rotated at random and rasterised:

- the discocyte is the Evans-Fung biconcave disc; a continuum parameter ``s`` in [-1, 1]
  bends its midline into a cup (stomatocyte, ``s < 0``) or rounds it and adds evenly
  spread short spicules (echinocyte, ``s > 0``);
- a cluster is 2-4 discocytes stacked and tilted against each other;
- a multilobate cell is the union of 2-4 ellipsoidal lobes;
- a keratocyte is a discocyte with one or two bites out of its rim, leaving horns;
- a knizocyte is a discocyte with a bar across its middle (two concavities, "pinched");
- an acanthocyte is a small spheroid with a few irregular, long spicules.
"""

import dataclasses
import numbers
from collections.abc import Sequence

import numpy as np

from synthscope import checks as check
from synthscope.errors import InputError
from synthscope.item import Item
from synthscope.phantoms.recipe import Recipe, choice, pair
from synthscope.phantoms.shapes import random_rotation

#: The six classes, in the order of `RbcRecipe.weights` and of the class image (1..6).
CLASSES = ("sde", "cluster", "multilobate", "keratocyte", "knizocyte", "acanthocyte")
#: Evans-Fung coefficients of the discocyte's thickness profile (units of the radius).
EVANS_FUNG = (0.207161, 2.002558, -1.122762)


@dataclasses.dataclass(frozen=True, kw_only=True)
class RbcRecipe(Recipe):
    """The parameters of `rbc`: the class of the cell, its size and brightness.

    Parameters
    ----------
    cell_class : str, optional
        One of `CLASSES`; drawn with `weights` when None.
    weights : tuple of float
        Relative frequency of each class of `CLASSES` when `cell_class` is None. The default
        is strongly imbalanced, as the published set is (most cells on the SDE continuum,
        few of each rare class); its exact per-class counts are not reproduced here.
    radius : float or (float, float)
        Range of the cell's radius (half its diameter) in pixels of the last axis.
    sde : float or (float, float)
        Range of the continuum parameter of SDE cells and of the cells of a cluster:
        -1 stomatocyte (cup), 0 discocyte, 1 echinocyte (round, spiculated).
    brightness : float or (float, float)
        Range of the cell's sketch intensity, read by `render`.

    Examples
    --------
    >>> RbcRecipe(cell_class="keratocyte").cell_class
    'keratocyte'
    >>> RbcRecipe(weights=(1, 0, 0, 0, 0))
    Traceback (most recent call last):
    ...
    synthscope.errors.InputError: weights: expected 6 non-negative numbers (one per class) with a positive sum
    """

    cell_class: str | None = choice(None, CLASSES)
    weights: tuple = (0.70, 0.12, 0.07, 0.05, 0.04, 0.02)
    radius: float | tuple[float, float] = pair((13.0, 17.0), low=2)
    sde: float | tuple[float, float] = pair((-1.0, 1.0), low=-1, high=1)
    brightness: float | tuple[float, float] = pair((0.5, 0.9), low=0, high=1)

    def __post_init__(self):
        super().__post_init__()
        weights = tuple(self.weights)
        bad = any(isinstance(w, bool) or not isinstance(w, numbers.Real) or not w >= 0 for w in weights)
        if len(weights) != len(CLASSES) or bad or sum(weights) <= 0:
            raise InputError("weights: expected 6 non-negative numbers (one per class) with a positive sum")
        self._store(weights=tuple(float(w) for w in weights))

    def resolve(self, shape: Sequence[int], spacing: check.Spacing = None) -> dict:
        """Check the recipe against the volume and return what the drawing code reads.

        Raises
        ------
        InputError
            For a shape that is not 3D, or a cell too large for it.
        """
        shape = check.check_shape(shape, ndims=(3,))
        spacing = check.check_spacing(spacing, 3)
        scale = tuple(s / spacing[-1] for s in spacing)
        room = min(n * s for n, s in zip(shape, scale)) / 2
        if self.radius[1] * 1.3 > room:
            raise InputError(f"radius: {self.radius[1]:g} px does not fit shape {shape} (at most {room / 1.3:.1f})")
        return dict(self.to_dict(), shape=shape, spacing=spacing, scale=scale)


def rbc(
    shape: Sequence[int],
    recipe: RbcRecipe | None = None,
    *,
    spacing: check.Spacing = None,
    rng: check.Rng = None,
    **params,
) -> Item:
    """Return an `Item` of one red blood cell (or one cluster of cells) at the centre of a volume.

    Parameters
    ----------
    shape : sequence of int
        ``(Z, Y, X)``.
    recipe, **params
        A `RbcRecipe` and fields of it as keywords, which replace its own.
    spacing : None, float, sequence or dict
        Physical voxel size per axis (um); lengths are in pixels of the last axis.
    rng : int or numpy.random.Generator, optional

    Returns
    -------
    Item
        ``labels`` (uint16, the cell is 1), ``classes`` (uint8, the class number 1..6 of
        `CLASSES` on the cell), ``class_names`` and ``metadata``: ``"class"`` and
        ``"objects"`` (one record: id, class, radius, sde, brightness).

    Examples
    --------
    >>> item = rbc((48, 48, 48), cell_class="sde", sde=0.0, radius=16, rng=0)
    >>> item.metadata["class"], int(item.labels.max()), item.class_names[int(item.classes.max())]
    ('sde', 1, 'sde')
    >>> least, _, major = np.linalg.eigvalsh(np.cov(np.nonzero(item.labels)))  # second moments
    >>> bool(least < 0.2 * major)  # a flat disc
    True
    """
    recipe = RbcRecipe.of(recipe, **params)
    p = recipe.resolve(shape, spacing)
    rng = check.as_rng(rng)
    weights = np.asarray(p["weights"]) / np.sum(p["weights"])
    name = p["cell_class"] or CLASSES[int(rng.choice(len(CLASSES), p=weights))]
    radius = float(rng.uniform(*p["radius"]))
    sde = float(rng.uniform(*p["sde"]))
    rotation = random_rotation(3, rng)
    centre = (np.asarray(p["shape"]) - 1) / 2
    axes = [(np.arange(n) - c) * s / radius for n, c, s in zip(p["shape"], centre, p["scale"])]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1) @ rotation  # the cell's own frame
    inside = SHAPES[name](grid, sde=sde, rng=rng)
    labels = inside.astype(np.uint16)
    number = CLASSES.index(name) + 1
    record = {"id": 1, "class": name, "radius": round(radius, 3), "sde": round(sde, 3)}
    record["brightness"] = round(float(rng.uniform(*p["brightness"])), 3)
    return Item(
        labels=labels,
        axes="ZYX",
        classes=(labels * number).astype(np.uint8),
        class_names={k + 1: c for k, c in enumerate(CLASSES)},
        spacing=check.spacing_dict(p["spacing"], "ZYX"),
        metadata={"generator": "rbc", "class": name, "objects": [record]},
    )


def discocyte(grid, *, sde=0.0, rng=None):
    """Inside test of a cell of the SDE continuum with its disc in the frame's last two axes.

    `grid` is ``(..., 3)`` positions in units of the radius (axis 0 across the disc).
    """
    z, y, x = np.moveaxis(grid, -1, 0)
    rho2 = y**2 + x**2
    c0, c1, c2 = EVANS_FUNG
    root = np.sqrt(np.clip(1 - rho2, 0, None))
    half = 0.5 * root * (c0 + c1 * rho2 + c2 * rho2**2)
    mid = np.zeros_like(z)
    if sde < 0:  # stomatocyte: the midline bends into a cup, the dimple fills in
        mid = -sde * 0.5 * rho2
        half = half + -sde * 0.15 * root
    elif sde > 0:  # echinocyte: towards a flattened sphere
        half = (1 - 0.6 * sde) * half + 0.6 * sde * 0.75 * root
    inside = (rho2 < 1) & (np.abs(z - mid) <= half)
    if sde > 0.3:
        count = int(round(10 + 25 * sde))
        directions = _spread_directions(count, rng)
        surface = directions * np.array([0.75 * 0.6 * sde + 0.3 * (1 - sde), 1.0, 1.0])
        inside |= _spicules(grid, surface * 0.95, directions, length=0.15 + 0.1 * sde, width=0.07)
    return inside


def cluster(grid, *, sde=0.0, rng=None):
    """2-4 discocytes stacked face to face, each tilted and shifted, scaled to fit one cell's box."""
    count = int(rng.integers(2, 5))
    grid = grid * (0.6 + 0.15 * count)  # the cluster fills about the box of one cell
    inside = np.zeros(grid.shape[:-1], bool)
    offsets = np.cumsum(rng.uniform(0.35, 0.55, count))
    offsets -= offsets.mean()
    for offset in offsets:
        tilt = _small_rotation(rng, 0.5)
        shift = np.array([offset, *rng.uniform(-0.3, 0.3, 2)])
        inside |= discocyte((grid - shift) @ tilt, sde=float(np.clip(rng.normal(0, 0.3), -0.5, 0.25)), rng=rng)
    return inside


def multilobate(grid, *, sde=0.0, rng=None):
    """The union of 2-4 ellipsoidal lobes around the centre."""
    inside = np.zeros(grid.shape[:-1], bool)
    for _ in range(int(rng.integers(2, 5))):
        centre = rng.uniform(-0.35, 0.35, 3) * np.array([0.5, 1, 1])
        semi = rng.uniform(0.45, 0.7, 3) * np.array([0.8, 1, 1])
        local = (grid - centre) @ random_rotation(3, rng) / semi
        inside |= np.einsum("...i,...i->...", local, local) <= 1
    return inside


def keratocyte(grid, *, sde=0.0, rng=None):
    """A discocyte with one or two bites out of its rim: the horns are what is left beside a bite."""
    inside = discocyte(grid, sde=0.0, rng=rng)  # a flat rim, so that the bites cut through it
    angle = rng.uniform(0, 2 * np.pi)
    for k in range(int(rng.integers(1, 3))):
        phi = angle + k * rng.uniform(0.6, 1.2) * np.pi
        centre = np.array([0.0, np.sin(phi), np.cos(phi)]) * rng.uniform(0.85, 0.95)
        bite = rng.uniform(0.35, 0.5)
        inside &= np.sum((grid - centre) ** 2, axis=-1) > bite**2
    return inside


def knizocyte(grid, *, sde=0.0, rng=None):
    """A discocyte with a bar across its middle, as thick as its rim: two concavities, pinched."""
    z, y, x = np.moveaxis(grid, -1, 0)
    rho2 = y**2 + x**2
    width = rng.uniform(0.15, 0.3)
    bar = 0.3 * np.sqrt(np.clip(1 - rho2, 0, None)) * np.exp(-((y / width) ** 2))
    return discocyte(grid, sde=0.0, rng=rng) | ((rho2 < 1) & (np.abs(z) <= bar))


def acanthocyte(grid, *, sde=0.0, rng=None):
    """A small spheroid with 4-10 irregular spicules of uneven length and spacing."""
    semi = np.array([0.55, 0.75, 0.75]) * rng.uniform(0.9, 1.1, 3)
    inside = np.sum((grid / semi) ** 2, axis=-1) <= 1
    count = int(rng.integers(4, 11))
    directions = rng.standard_normal((count, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    roots = directions * semi * 0.9
    for root, direction in zip(roots, directions):
        inside |= _spicules(grid, root[None], direction[None], length=rng.uniform(0.2, 0.45), width=0.08)
    return inside


SHAPES = {
    "sde": discocyte,
    "cluster": cluster,
    "multilobate": multilobate,
    "keratocyte": keratocyte,
    "knizocyte": knizocyte,
    "acanthocyte": acanthocyte,
}


def _spicules(grid, roots, directions, *, length, width):
    """Whether each position lies within `width` of a segment from a root outwards by `length`, tapering."""
    inside = np.zeros(grid.shape[:-1], bool)
    for root, direction in zip(roots, directions):
        along = np.clip((grid - root) @ direction, 0, length)
        distance = np.linalg.norm(grid - root - along[..., None] * direction, axis=-1)
        inside |= distance <= width * (1 - 0.6 * along / length)
    return inside


def _spread_directions(count, rng):
    """`count` unit vectors spread evenly over the sphere (a Fibonacci lattice), randomly turned."""
    k = np.arange(count) + 0.5
    polar = np.arccos(1 - 2 * k / count)
    azimuth = np.pi * (1 + 5**0.5) * k
    points = np.stack([np.cos(polar), np.sin(polar) * np.sin(azimuth), np.sin(polar) * np.cos(azimuth)], axis=1)
    return points @ random_rotation(3, rng)


def _small_rotation(rng, angle):
    """A rotation by at most `angle` radians about a random axis (Rodrigues)."""
    axis = rng.standard_normal(3)
    axis /= np.linalg.norm(axis)
    theta = rng.uniform(0, angle)
    cross = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(theta) * cross + (1 - np.cos(theta)) * cross @ cross
