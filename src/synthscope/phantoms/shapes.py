"""Star-convex shapes with smooth random boundaries, in 2D and 3D.

A shape is a unit ball whose radius in direction ``u`` is ``r(u) = 1 + f(u)`` with ``f``
a random smooth function: a Fourier series of the angle in 2D, a sum of real spherical
harmonics in 3D. It is then stretched along its axes, rotated, scaled to a radius and
placed; `star_mask` rasterises it into a bounding box. Lengths are in pixels of the last
axis; `scale` says how long a pixel of every axis is in those units (anisotropic voxels).
"""

import functools
from dataclasses import dataclass

import numpy as np
from scipy.special import sph_harm_y

_TABLE = {2: (256,), 3: (48, 96)}  # angular resolution of the radius tables


@dataclass(frozen=True)
class Star:
    """One star-convex shape.

    Attributes
    ----------
    center : ndarray of float, shape (ndim,)
        Centre in pixels.
    radius : float
        Equivalent radius in pixels of the last axis.
    rotation : ndarray, shape (ndim, ndim)
        Orthogonal matrix whose columns are the shape's axes.
    semi_axes : ndarray, shape (ndim,)
        Relative semi-axes (product 1), e.g. ``[1.2, 0.83]`` for an elongated shape.
    table : ndarray
        Relative radius ``r(u)`` on a grid of directions (angle in 2D, polar x azimuth in 3D).
    """

    center: np.ndarray
    radius: float
    rotation: np.ndarray
    semi_axes: np.ndarray
    table: np.ndarray

    @property
    def extent(self):
        """Largest distance from the centre to the boundary, in pixels of the last axis."""
        return self.radius * float(self.semi_axes.max() * self.table.max())


def random_rotation(ndim, rng):
    """Return a uniformly random rotation matrix: an angle in 2D, QR of a Gaussian matrix (Haar) above."""
    if ndim == 2:  # the same distribution, ten times faster: placement draws thousands
        c, s = np.cos(angle := rng.uniform(0, 2 * np.pi)), np.sin(angle)
        return np.array([[c, -s], [s, c]])
    q, r = np.linalg.qr(rng.standard_normal((ndim, ndim)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q


def radius_table(ndim, *, roughness, rng, degree=5):
    """Return a random relative-radius table ``1 + f(u)`` with ``f`` of degrees 2..`degree`.

    Degree 1 would only shift the shape and degree 0 scale it, so they are left out.
    Amplitudes fall as ``roughness / k`` with the degree ``k``; ``roughness=0`` is a ball.

    Examples
    --------
    >>> table = radius_table(2, roughness=0.1, rng=np.random.default_rng(0))
    >>> table.shape, bool(0.6 < table.min() <= table.max() < 1.4)
    ((256,), True)
    """
    basis, amplitude = _basis(ndim, degree)
    f = (rng.standard_normal(amplitude.size) * amplitude * roughness) @ basis
    return np.clip(1 + f, 0.5, 1.5).reshape(_TABLE[ndim])


@functools.cache
def _basis(ndim, degree):
    """Unit-variance basis functions of degrees 2..`degree` on the table grid, and their amplitudes.

    2D: cosines and sines of the angle. 3D: real spherical harmonics times sqrt(4 pi), each
    degree's share divided by sqrt(2k+1) so that `roughness` means the same in 2D and 3D.
    """
    rows, amplitude = [], []
    if ndim == 2:
        angle = np.linspace(0, 2 * np.pi, _TABLE[2][0], endpoint=False)
        for k in range(2, degree + 1):
            rows += [np.sqrt(2) * np.cos(k * angle), np.sqrt(2) * np.sin(k * angle)]
            amplitude += [1 / k / np.sqrt(2)] * 2
    else:
        n_theta, n_phi = _TABLE[3]
        theta, phi = np.meshgrid(
            (np.arange(n_theta) + 0.5) * np.pi / n_theta, np.arange(n_phi) * 2 * np.pi / n_phi, indexing="ij"
        )
        for k in range(2, degree + 1):
            for m in range(k + 1):
                y = np.sqrt(4 * np.pi) * sph_harm_y(k, m, theta, phi).ravel()
                rows += [y.real] if m == 0 else [np.sqrt(2) * y.real, np.sqrt(2) * y.imag]
            amplitude += [1 / k / np.sqrt(2 * k + 1)] * (2 * k + 1)
    return np.array(rows), np.array(amplitude)


def random_star(center, radius, *, roughness, elongation, rng, rotation=None):
    """Return a `Star` with random boundary, orientation and the given elongation.

    Parameters
    ----------
    center : sequence of float
        Centre in pixels; its length is the number of spatial axes.
    radius : float
        Equivalent radius in pixels of the last axis.
    roughness : float
        Amplitude of the boundary's random variation (0 = ellipse/ellipsoid).
    elongation : float
        Ratio of the longest to the other semi-axes (1 = round).
    rng : numpy.random.Generator
    rotation : ndarray, shape (ndim, ndim), optional
        The shape's axes (columns; the first is the long one); random when None.
    """
    ndim = len(center)
    semi = np.ones(ndim)
    semi[0] = elongation
    semi /= np.prod(semi) ** (1 / ndim)
    return Star(
        center=np.asarray(center, float),
        radius=float(radius),
        rotation=random_rotation(ndim, rng) if rotation is None else np.asarray(rotation, float),
        semi_axes=semi,
        table=radius_table(ndim, roughness=roughness, rng=rng),
    )


def boundary_distance(star, direction):
    """Distance from the centre of `star` to its boundary along `direction` (pixels of the last axis).

    Examples
    --------
    >>> star = random_star((0, 0), 6, roughness=0, elongation=2, rng=np.random.default_rng(0))
    >>> long, short = (boundary_distance(star, star.rotation[:, k]) for k in (0, 1))
    >>> round(long / short, 3), round(long * short, 3)
    (2.0, 36.0)
    """
    direction = np.asarray(direction, float)
    w = (direction / np.linalg.norm(direction)) @ star.rotation / star.semi_axes  # the unit step in shape axes
    norm = np.linalg.norm(w)
    return float(star.radius * _lookup(star.table, w[:, None], np.array([norm]))[0] / norm)


def star_mask(star, shape, *, scale):
    """Rasterise `star` into the image of `shape`: return ``(slices, mask)`` of its bounding box.

    `mask` is boolean, laid out like ``image[slices]``; both are empty (``mask.size == 0``)
    when the shape lies outside the image.

    Examples
    --------
    >>> star = random_star((20, 20), 8, roughness=0, elongation=1, rng=np.random.default_rng(0))
    >>> slices, mask = star_mask(star, (40, 40), scale=(1, 1))
    >>> abs(int(mask.sum()) - round(np.pi * 64)) < 12
    True
    """
    scale = np.asarray(scale, float)
    half = star.extent / scale + 1
    lo = np.maximum(np.floor(star.center - half), 0).astype(int)
    hi = np.minimum(np.ceil(star.center + half) + 1, shape).astype(int)
    slices = tuple(slice(a, max(a, b)) for a, b in zip(lo, hi))
    if np.any(hi <= lo):
        return slices, np.zeros([0] * len(shape), bool)
    offsets = np.ix_(*((np.arange(a, b) - c) * s for a, b, c, s in zip(lo, hi, star.center, scale)))
    to_shape = star.rotation / star.semi_axes
    # the offsets from the centre in the shape's own axes, on the box's grid
    d = np.stack(np.broadcast_arrays(*(sum(o * to_shape[i, k] for i, o in enumerate(offsets)) for k in range(len(lo)))))
    rho = np.sqrt(np.einsum("i...,i...->...", d, d))
    # only the pixels between the shortest and the longest radius need their direction's radius
    mask = rho <= star.radius * star.table.min()
    ring = ~mask & (rho <= star.radius * star.table.max())
    mask[ring] = rho[ring] <= star.radius * _lookup(star.table, d[:, ring], rho[ring])
    return slices, mask


def _lookup(table, d, rho):
    """Relative radius of `table` in the directions of the vectors `d` (first axis: components)."""
    if d.shape[0] == 2:
        n = table.shape[0]
        index = np.round(np.arctan2(d[1], d[0]) * (n / (2 * np.pi))).astype(int) % n
        return table[index]
    n_theta, n_phi = table.shape
    cos = np.divide(d[0], rho, out=np.ones_like(rho), where=rho > 0)
    i = np.minimum((np.arccos(np.clip(cos, -1, 1)) * (n_theta / np.pi)).astype(int), n_theta - 1)
    j = np.round(np.arctan2(d[2], d[1]) * (n_phi / (2 * np.pi))).astype(int) % n_phi
    return table[i, j]
