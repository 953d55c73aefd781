"""Geometric guesses of a 3D shape from its 2D section, on the model's grid: what a prediction must beat.

Both put the section in the grid's middle (midway between its two middle planes) and
assume the shape is symmetric about that plane:

- `revolve`: the 2D mask revolved about its major axis: across the axis, each chord of
  the mask becomes a circle of that chord's diameter, centred on the chord;
- `ellipsoid`: the ellipsoid whose two in-plane axes are those of the mask's 2D moments
  (``4 sqrt(eigenvalue)``, as `skimage.measure.regionprops`) and whose third, along z,
  equals the minor one (a spheroid about the major axis).
"""

import numpy as np

from synthscope.errors import InputError


def revolve(mask: np.ndarray) -> np.ndarray:
    """Return the 3D shape, ``(S, S, S)`` bool, of the 2D `mask` (``(S, S)``) revolved about its major axis.

    Examples
    --------
    >>> mask = np.zeros((16, 16), bool); mask[4:12, 2:14] = True
    >>> shape = revolve(mask)
    >>> shape.shape, bool(shape[7:9].any(axis=0)[mask].all()), int(np.ptp(np.nonzero(shape)[0])) + 1
    ((16, 16, 16), True, 8)
    """
    mask, (center, (major, minor), _) = _moments(mask)
    size = mask.shape[0]
    y, x = np.nonzero(mask)
    u = np.round((np.stack([y, x], 1) - center) @ major).astype(int)  # position along the axis
    v = (np.stack([y, x], 1) - center) @ minor  # position across it
    low = np.full(u.max() - u.min() + 1, np.inf)
    high = np.full_like(low, -np.inf)
    np.minimum.at(low, u - u.min(), v - 0.5)
    np.maximum.at(high, u - u.min(), v + 0.5)
    grid = np.arange(size) - (size - 1) / 2
    z, yy, xx = np.meshgrid(grid, grid + (size - 1) / 2 - center[0], grid + (size - 1) / 2 - center[1], indexing="ij")
    along = np.round(yy * major[0] + xx * major[1]).astype(int) - u.min()
    across = yy * minor[0] + xx * minor[1]
    index = np.clip(along, 0, len(low) - 1)
    valid = (along >= 0) & (along < len(low)) & np.isfinite(low[index])  # the mask has a chord there
    index = np.where(valid, index, np.flatnonzero(np.isfinite(low))[0])
    middle, radius = (low[index] + high[index]) / 2, (high[index] - low[index]) / 2
    return valid & ((across - middle) ** 2 + z**2 <= radius**2)


def ellipsoid(mask: np.ndarray) -> np.ndarray:
    """Return the spheroid, ``(S, S, S)`` bool, with the 2D moments of `mask` and its minor axis along z.

    Examples
    --------
    >>> yy, xx = np.mgrid[:32, :32]
    >>> disc = (yy - 15.5) ** 2 + (xx - 15.5) ** 2 <= 8**2
    >>> ball = ellipsoid(disc)
    >>> bool(abs(ball.sum() / (4 / 3 * np.pi * 8**3) - 1) < 0.1)
    True
    """
    mask, (center, (major, minor), (a, b)) = _moments(mask)
    size = mask.shape[0]
    grid = np.arange(size) - (size - 1) / 2
    z, yy, xx = np.meshgrid(grid, np.arange(size) - center[0], np.arange(size) - center[1], indexing="ij")
    u, v = yy * major[0] + xx * major[1], yy * minor[0] + xx * minor[1]
    return (u / a) ** 2 + (v / b) ** 2 + (z / b) ** 2 <= 1


def _moments(mask):
    """The mask (checked), its centroid, unit major and minor axes, and semi-axes from its moments."""
    mask = np.asarray(mask) > 0.5
    if mask.ndim != 2 or mask.shape[0] != mask.shape[1] or not mask.any():
        raise InputError(f"mask: expected a non-empty square 2D mask, got shape {mask.shape}")
    points = np.argwhere(mask).astype(float)
    center = points.mean(axis=0)
    values, vectors = np.linalg.eigh(np.cov(points.T) + np.eye(2) / 12)  # + the variance of a pixel's own extent
    semi = 2 * np.sqrt(values[::-1])
    return mask, (center, (vectors[:, 1], vectors[:, 0]), (semi[0], semi[1]))
