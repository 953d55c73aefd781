"""Training cells from synthscope's own 3D phantoms: (2D image, 2D mask, 3D shape) on the model's grid.

A cell is drawn whole in an isotropic volume, rendered as the microscope would image the
volume (`synthscope.phantoms.render`), and cut at the plane through its centroid: that
section's image and mask are the model's input, the 3D mask its target. Sources:

- ``"nuclei"``: one nucleus drawn by the ``nuclei-3d`` preset's generator (its radius,
  roughness and elongation ranges), randomly oriented, then flattened along z by a
  factor drawn from `flatten` (nuclei of cells grown on a surface are flatter along the
  optical axis than across it);
- ``"rbc"``: one cell of the ``rbc-3d`` preset (`synthscope.phantoms.rbc`), with its
  class imbalance and random orientation.
"""

import dataclasses

import numpy as np
from scipy import ndimage, optimize
from skimage.measure import EllipseModel

from synthscope.checks import check_choice, check_number, check_range
from synthscope.errors import InputError
from synthscope.intensity import percentile_normalize
from synthscope.item import Item
from synthscope.phantoms import NucleiRecipe, RenderRecipe, load_preset, render
from synthscope.phantoms.nuclei import draw_nucleus
from synthscope.phantoms.rbc import RbcRecipe, rbc
from synthscope.phantoms.shapes import star_mask
from synthscope.seeds import item_seed
from synthscope.shape3d.geometry import cell_frame, to_grid

SOURCES = ("nuclei", "rbc")
#: Percentiles of the image on the cell's grid mapped to 0 and 1 (the model's input range).
PERCENTILES = (1.0, 99.8)


@dataclasses.dataclass(frozen=True)
class Cells:
    """Cells on the model's grid.

    Attributes
    ----------
    images, masks : numpy.ndarray
        ``(N, size, size)``: float32 images in [0, 1] and float32 0/1 masks of the sections.
    shapes : numpy.ndarray
        ``(N, size, size, size)`` bool: the 3D masks; the section lies midway between the
        two middle planes (the grid's centre, as in `synthscope.shape3d.geometry`).
    classes : tuple of str
        Each cell's class (``"nucleus"`` for nuclei).
    """

    images: np.ndarray
    masks: np.ndarray
    shapes: np.ndarray
    classes: tuple


def phantom_cells(
    source: str,
    count: int,
    *,
    size: int = 32,
    flatten: tuple[float, float] = (0.5, 1.0),
    cell_class: str | None = None,
    rng: int = 0,
) -> Cells:
    """Return `count` phantom cells of `source` on a grid of side `size`.

    Parameters
    ----------
    source : {"nuclei", "rbc"}
    count : int
    size : int
        The grid's side (the model's size).
    flatten : (float, float)
        Nuclei only: range of the factor, in (0, 1], by which a nucleus is flattened along z.
    cell_class : str, optional
        Red blood cells only: every cell of this class of `synthscope.phantoms.rbc.CLASSES`
        instead of the preset's imbalanced draw.
    rng : int
        Cell i is made with the seed ``item_seed(rng, i)``, so a set is the same whatever
        its size.

    Examples
    --------
    >>> cells = phantom_cells("rbc", 2, size=16, rng=0)
    >>> cells.images.shape, cells.shapes.shape, len(cells.classes)
    ((2, 16, 16), (2, 16, 16, 16), 2)
    """
    check_choice(source, "source", SOURCES)
    check_number(count, "count", low=1, integer=True)
    check_number(size, "size", low=8, high=256, integer=True)
    flatten = check_range(flatten, "flatten", low=0, high=1, low_open=True)
    draw = _nucleus if source == "nuclei" else _rbc
    recipes = _recipes(source)
    if cell_class is not None:
        if source != "rbc":
            raise InputError("cell_class: applies to source 'rbc' only")
        recipes = (recipes[0].replace(cell_class=cell_class), recipes[1])
    cells = [
        draw(np.random.default_rng(item_seed(rng, i)), size=size, flatten=flatten, recipes=recipes)
        for i in range(count)
    ]
    return Cells(
        images=np.stack([c[0] for c in cells]),
        masks=np.stack([c[1] for c in cells]),
        shapes=np.stack([c[2] for c in cells]),
        classes=tuple(c[3] for c in cells),
    )


def grid_input(image: np.ndarray, mask: np.ndarray, *, size: int, diameter: float | None = None):
    """Return a cell's 2D image and mask on its grid (image mapped by `PERCENTILES`), and the `Frame`.

    A mask cut by the image's edge is first completed beyond it (`complete_at_edge`, with
    `diameter` the typical size of the image's objects, `typical_diameter`), so that the
    grid holds the whole cell's section at the whole cell's scale; the image is 0 beyond
    the edge. The frame is in the coordinates of `image`.

    Examples
    --------
    >>> mask = np.zeros((40, 40), bool); mask[10:20, 10:30] = True
    >>> image, grid_mask, frame = grid_input(mask * 100.0, mask, size=16)
    >>> float(image.max()), frame.size
    (1.0, 16)
    """
    completed, pad = complete_at_edge(mask, diameter=diameter)
    frame = cell_frame(completed, size=size)
    picture = percentile_normalize(to_grid(np.pad(np.asarray(image, np.float32), pad), frame), *PERCENTILES)
    grid_mask = (to_grid(completed, frame) > 0.5).astype(np.float32)
    return picture, grid_mask, dataclasses.replace(frame, center=tuple(c - pad for c in frame.center))


def typical_diameter(labels: np.ndarray) -> float | None:
    """Return the median equivalent diameter (pixels) of the objects of `labels` away from the image's edge.

    None when every object touches the edge (or there is none).

    Examples
    --------
    >>> labels = np.zeros((30, 30), np.uint16)
    >>> labels[2:8, 2:8], labels[10:20, 10:20], labels[25:, 20:25] = 1, 2, 3  # 3 is cut by the edge
    >>> round(typical_diameter(labels), 2)
    9.03
    """
    labels = np.asarray(labels)
    ids, areas = np.unique(labels, return_counts=True)
    edge = np.concatenate([labels[[0, -1]].ravel(), labels[:, [0, -1]].ravel(), [0]])
    areas = areas[~np.isin(ids, edge)]
    return float(np.median(2 * np.sqrt(areas / np.pi))) if len(areas) else None


def complete_at_edge(
    mask: np.ndarray, *, diameter: float | None = None, limit: float = 3.0, agree: float = 0.9, short: float = 0.2
) -> tuple[np.ndarray, int]:
    """Return the 2D `mask` completed beyond the image's edge, padded, and the padding.

    A mask that touches the image's edge shows only part of its object. Its boundary
    inside the image (not the cut) is fitted by an ellipse (`skimage.measure.EllipseModel`),
    and the part of the ellipse beyond the edge is added on a canvas padded by the ellipse's
    reach. The ellipse is refused when it cannot be fitted, would be more than `limit`
    times the mask's area, or does not describe the mask: the ellipse's part inside the
    image and the mask overlap by less than `agree` (intersection over union; a sliver's
    short arc does not fix an ellipse). Given the `diameter` of the image's other objects,
    a refused mask, and one whose area is less than `short` times that circle's (too short
    an arc: such ellipses fall far short of the whole), is completed by the circle of that
    diameter that best fits its boundary (least squares over its centre alone, which even
    a short arc fixes). On phantom nuclei cut at random (``benchmarks/shape3d.py --parts
    cut``), `short` = 0.2 gave the lowest error of the completed area on a development set.
    A mask away from the edge is returned unchanged with padding 0, and so is one that no
    shape completes.

    Examples
    --------
    >>> yy, xx = np.mgrid[:40, :40]
    >>> disc = (yy - 5) ** 2 + (xx - 20) ** 2 <= 10**2  # its top third lies beyond the edge
    >>> completed, pad = complete_at_edge(disc)
    >>> pad > 0, round(float(completed.sum() / (np.pi * 10**2)), 1)
    (True, 1.0)
    >>> complete_at_edge((yy - 20) ** 2 + (xx - 20) ** 2 <= 10**2)[1]  # away from the edge: kept as it is
    0
    >>> sliver = (yy + 7) ** 2 + (xx - 20) ** 2 <= 10**2  # a short arc: no ellipse, but a circle of size 20
    >>> complete_at_edge(sliver)[1], round(float(complete_at_edge(sliver, diameter=20)[0].sum() / (np.pi * 10**2)), 1)
    (0, 1.0)
    """
    mask = np.asarray(mask, bool)
    edge = np.ones_like(mask)
    edge[1:-1, 1:-1] = False
    if not (mask & edge).any():
        return mask, 0
    # The boundary inside the image: the cut itself is no boundary (outside counts as inside).
    boundary = mask & ~ndimage.binary_erosion(mask, border_value=1) & ~edge
    points = np.argwhere(boundary)[:, ::-1].astype(float)  # (x, y), as EllipseModel reads them
    circle = diameter is not None and len(points) >= 3
    ellipse = EllipseModel.from_estimate(points) if len(points) >= 5 else None
    if ellipse and not (circle and mask.sum() < short * np.pi * diameter**2 / 4):
        a, b = np.asarray(ellipse.axis_lengths) + 0.5  # boundary pixels lie half a pixel inside the edge
        if np.isfinite([a, b]).all() and np.pi * a * b <= limit * mask.sum():
            completed = _complete(mask, ellipse.center, (a, b), ellipse.theta, agree=agree)
            if completed is not None:
                return completed
    if circle:
        return _complete(mask, _fit_centre(points, mask, diameter / 2), (diameter / 2,) * 2, 0.0, agree=0.0)
    return mask, 0


def _fit_centre(points, mask, radius):
    """The centre ``(x, y)`` of the circle of `radius` nearest to `points` (least squares).

    A short arc has two such centres, one on either side; the starts lie on the line from
    the mask's centroid towards its cut, and the centre whose circle overlaps the mask the
    most wins.
    """
    inner = np.argwhere(mask)[:, ::-1].mean(axis=0)
    cut = mask.copy()
    cut[1:-1, 1:-1] = False
    outward = np.argwhere(cut)[:, ::-1].mean(axis=0) - inner
    outward /= max(np.hypot(*outward), 1e-9)
    y, x = np.nonzero(mask)
    best, best_overlap = None, -1.0
    for start in (0.0, 0.5, 1.0):
        fit = optimize.least_squares(lambda c: np.hypot(*(points - c).T) - radius, inner + start * radius * outward)
        overlap = np.count_nonzero(np.hypot(x - fit.x[0], y - fit.x[1]) <= radius)
        if overlap > best_overlap:
            best, best_overlap = fit.x, overlap
    return best


def _complete(mask, center, axes, theta, *, agree):
    """`mask` on a canvas padded by the ellipse's reach with the ellipse's part beyond the edge added, and the
    padding; None when the ellipse's part inside the image and the mask overlap (IoU) by less than `agree`."""
    a, b = axes
    center = np.asarray(center, float)
    outside = max(0.0, *-center, *(center - np.array(mask.shape[::-1]) + 1))  # how far the centre lies beyond
    pad = int(np.ceil(max(a, b) + outside))
    canvas = np.pad(mask, pad)
    y, x = np.mgrid[: canvas.shape[0], : canvas.shape[1]] - pad
    dx, dy = x - center[0], y - center[1]
    cos, sin = np.cos(theta), np.sin(theta)
    inside = ((dx * cos + dy * sin) / a) ** 2 + ((dy * cos - dx * sin) / b) ** 2 <= 1
    beyond = np.pad(np.zeros_like(mask), pad, constant_values=True)
    within = inside & ~beyond
    if np.sum(within & canvas) < agree * np.sum(within | canvas):
        return None
    return canvas | (inside & beyond), pad


def section(volume_mask: np.ndarray, image: np.ndarray, *, size: int):
    """Return a whole cell's (grid image, grid mask, grid shape) cut at its centroid plane."""
    z = int(round(np.mean(np.nonzero(volume_mask)[0])))
    picture, mask, frame = grid_input(image[z], volume_mask[z], size=size)
    return picture, mask, to_grid(volume_mask, frame, z_center=z) > 0.5


def _recipes(source):
    preset = load_preset("nuclei-3d" if source == "nuclei" else "rbc-3d")
    generator = NucleiRecipe if source == "nuclei" else RbcRecipe
    return generator.from_mapping(preset[preset["generator"]], section_name=preset["generator"]), RenderRecipe(
        **preset["render"]
    )


def nucleus_volume(rng, *, flatten=(0.5, 1.0), zoom: float = 1.0, recipes=None):
    """Return one whole phantom nucleus as the `"nuclei"` source draws it: ``(3D mask, rendered image)``.

    The volume is a cube around the nucleus, `zoom` times the preset's pixel size smaller
    (``zoom=2``: the 0.26 um pixels of cells3d instead of the preset's 0.52 um).

    Examples
    --------
    >>> shape, image = nucleus_volume(np.random.default_rng(0))
    >>> shape.shape == image.shape, shape.dtype, bool(shape[tuple(s // 2 for s in shape.shape)])
    (True, dtype('bool'), True)
    """
    recipe, look = recipes or _recipes("nuclei")
    p = recipe.replace(count=1, density=None, mitotic_fraction=0.0).resolve((64, 64, 64))
    star, record = draw_nucleus(np.zeros(3), p, rng)
    factor = rng.uniform(*flatten)
    side = 2 * int(np.ceil(star.extent * zoom)) + 9
    star = dataclasses.replace(star, center=np.full(3, (side - 1) / 2))
    box, mask = star_mask(star, (side,) * 3, scale=(1 / (factor * zoom), 1 / zoom, 1 / zoom))
    labels = np.zeros((side,) * 3, np.uint16)
    labels[box] = mask
    item = Item(labels=labels, axes="ZYX", metadata={"objects": [{"id": 1, **record}]})
    return labels > 0, render(item, look, rng=rng)


def _nucleus(rng, *, size, flatten, recipes):
    shape, image = nucleus_volume(rng, flatten=flatten, recipes=recipes)
    picture, grid_mask, shape = section(shape, image, size=size)
    return picture, grid_mask, shape, "nucleus"


def _rbc(rng, *, size, flatten, recipes):
    recipe, look = recipes
    item = rbc((64, 64, 64), recipe, rng=rng)
    picture, grid_mask, shape = section(item.labels > 0, render(item, look, rng=rng), size=size)
    return picture, grid_mask, shape, item.metadata["class"]
