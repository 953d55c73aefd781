"""Where a cell lies on the model's grid: crop and scale to the grid, and back to the image.

The model sees every cell at one size: the 2D mask's equivalent diameter is `FILL` of the
grid's side, its centroid at the grid's centre, and the 2D section at the grid's middle
plane. Grid voxels are cubes of ``1 / scale`` image pixels; a volume's z planes may be
longer than its pixels (``z_ratio = z spacing / pixel spacing``). The same two mappings
prepare the phantom training cells and put predictions back, so they cannot disagree.
"""

import dataclasses

import numpy as np
from scipy import ndimage

from synthscope.errors import InputError

#: The 2D mask's equivalent diameter as a fraction of the grid's side: room for cells
#: taller than they are wide, and for the long axis of elongated ones.
FILL = 0.45


@dataclasses.dataclass(frozen=True)
class Frame:
    """The grid of one cell in its image.

    Attributes
    ----------
    center : tuple of float
        ``(y, x)`` of the grid's centre in image pixels (the 2D mask's centroid).
    scale : float
        Grid voxels per image pixel.
    size : int
        The grid's side.
    """

    center: tuple
    scale: float
    size: int


def cell_frame(mask: np.ndarray, *, size: int) -> Frame:
    """Return the `Frame` that puts the 2D `mask` at the centre of a grid of side `size`.

    Examples
    --------
    >>> mask = np.zeros((40, 40), bool); mask[10:20, 10:30] = True
    >>> frame = cell_frame(mask, size=32)
    >>> frame.center, round(frame.scale, 3)
    ((14.5, 19.5), 0.902)
    """
    mask = np.asarray(mask, bool)
    if mask.ndim != 2 or not mask.any():
        raise InputError(f"mask: expected a 2D mask with at least one pixel, got shape {mask.shape}")
    area = np.count_nonzero(mask)
    diameter = 2 * np.sqrt(area / np.pi)
    center = tuple(float(c) for c in np.mean(np.nonzero(mask), axis=1))
    return Frame(center=center, scale=float(FILL * size / diameter), size=int(size))


def to_grid(array: np.ndarray, frame: Frame, *, z_center: float = 0.0, z_ratio: float = 1.0, order: int = 1):
    """Return the part of `array` (2D, or 3D with the cell's section at `z_center`) on the cell's grid.

    Outside the image is 0. `order` is the spline order (1 for images and soft masks).

    Examples
    --------
    >>> mask = np.zeros((40, 40), np.float32); mask[10:20, 10:30] = 1
    >>> grid = to_grid(mask, cell_frame(mask > 0, size=32))
    >>> grid.shape, round(float(grid.sum()) / (32 * 32), 2)
    ((32, 32), 0.16)
    """
    scales, centers = _axes(np.ndim(array), frame, z_center, z_ratio)
    half = (frame.size - 1) / 2
    return ndimage.affine_transform(
        np.asarray(array, np.float32),
        1 / scales,
        offset=centers - half / scales,
        output_shape=(frame.size,) * np.ndim(array),
        order=order,
        mode="constant",
        cval=0.0,
    )


def from_grid(grid: np.ndarray, frame: Frame, shape, *, z_center: float = 0.0, z_ratio: float = 1.0, order: int = 1):
    """Return `grid` (2D or 3D) resampled onto an image of `shape`, at the cell's place: the inverse of `to_grid`.

    Examples
    --------
    >>> mask = np.zeros((40, 40), np.float32); mask[10:20, 10:30] = 1
    >>> frame = cell_frame(mask > 0, size=32)
    >>> back = from_grid(to_grid(mask, frame), frame, mask.shape) > 0.5
    >>> int(np.sum(back != (mask > 0))) < 20
    True
    """
    scales, centers = _axes(len(shape), frame, z_center, z_ratio)
    half = (frame.size - 1) / 2
    return ndimage.affine_transform(
        np.asarray(grid, np.float32),
        scales,
        offset=half - centers * scales,
        output_shape=tuple(shape),
        order=order,
        mode="constant",
        cval=0.0,
    )


def _axes(ndim, frame, z_center, z_ratio):
    """Grid voxels per image pixel along each axis, and the cell's centre in image pixels."""
    if ndim == 2:
        return np.full(2, frame.scale), np.asarray(frame.center, float)
    if ndim == 3:
        return np.array([frame.scale * z_ratio, frame.scale, frame.scale]), np.array([z_center, *frame.center])
    raise InputError(f"expected a 2D or 3D array, got {ndim} axes")
