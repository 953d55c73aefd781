"""Single-object masks at one scale: crops of annotations to learn from, and crops drawn at an item's scale.

`mask_crops` cuts every usable object of instance labels into a square crop, scaled to
one equivalent radius and centred on its centroid, so that a mask model learns shapes
and the generator chooses sizes; `decode` does the reverse for a (sampled) crop: placed
at an item's pixel scale, rotated, and lifted to 3D (each plane the mid-plane shape
shrunk as an ellipsoid's section). `is_simple` is the check both sides apply: one piece
without holes. No torch.
"""

from collections.abc import Sequence

import numpy as np
from scipy import ndimage as ndi
from skimage.measure import regionprops

from synthscope.errors import InputError

CROP_SIZE = 32  # pixels of a training crop
CROP_RADIUS = 10.0  # equivalent radius of every object in its crop (pixels)
MIN_RADIUS = 3.0  # smaller annotated objects carry no shape to learn


def mask_crops(
    labels: Sequence[np.ndarray], *, size: int = CROP_SIZE, radius: float = CROP_RADIUS, min_radius: float = MIN_RADIUS
) -> np.ndarray:
    """Return every usable object of 2D instance `labels` as a centred crop at one equivalent radius.

    An object is used when it does not touch the image border, is one piece without
    holes (`is_simple`), has an equivalent radius of at least `min_radius` pixels and,
    scaled to `radius`, stays inside the crop. Scaling interpolates the object's mask
    linearly and thresholds it at one half.

    Parameters
    ----------
    labels : sequence of ndarray of int
        2D instance label images, 0 = background.
    size : int
        Side of the square crops.
    radius : float
        Equivalent radius (pixels) of every object in its crop.
    min_radius : float
        Smallest equivalent radius used, in pixels of the labels.

    Returns
    -------
    ndarray of float32, shape (N, size, size)
        Values 0 and 1.

    Examples
    --------
    >>> from skimage.draw import ellipse
    >>> labels = np.zeros((64, 64), np.uint16)
    >>> labels[ellipse(20, 20, 6, 9)] = 1
    >>> labels[ellipse(60, 30, 6, 9, shape=labels.shape)] = 2  # cut by the border: left out
    >>> crops = mask_crops([labels])
    >>> crops.shape, round(float(np.sqrt(crops[0].sum() / np.pi)), 1)  # interpolation rounds the corners
    ((1, 32, 32), 9.4)
    """
    crops = []
    for image in labels:
        image = np.asarray(image)
        if image.ndim != 2 or not np.issubdtype(image.dtype, np.integer):
            raise InputError(f"labels: expected 2D integer label images, got {image.dtype} {image.shape}")
        for region in regionprops(image):
            low, high = np.reshape(region.bbox, (2, 2))
            own = np.sqrt(region.area / np.pi)
            if np.any(low == 0) or np.any(high == image.shape) or own < min_radius or not is_simple(region.image):
                continue
            centre = np.asarray(region.centroid) - low
            crop = _resample(region.image.astype(np.float32), centre, own / radius, np.eye(2), (size, size)) > 0.5
            if crop[[0, -1]].any() or crop[:, [0, -1]].any() or not is_simple(crop):
                continue
            crops.append(crop.astype(np.float32))
    return np.stack(crops) if crops else np.zeros((0, size, size), np.float32)


def is_simple(mask: np.ndarray) -> bool:
    """Whether the boolean `mask` is one piece (full connectivity) without holes.

    Examples
    --------
    >>> square = np.pad(np.ones((5, 5), bool), 1)
    >>> ring = square.copy()
    >>> ring[3, 3] = False
    >>> is_simple(square), is_simple(ring)
    (True, False)
    """
    mask = np.asarray(mask, bool)
    pieces = ndi.label(mask, structure=np.ones((3,) * mask.ndim))[1]
    return pieces == 1 and not (ndi.binary_fill_holes(mask) & ~mask).any()


def decode(
    mask: np.ndarray,
    radius: float,
    *,
    scale: Sequence[float],
    angle: float = 0.0,
    height: float = 1.0,
) -> np.ndarray:
    """Return the model's `mask` drawn at an item's scale: a boolean box around its centre.

    Parameters
    ----------
    mask : ndarray, shape (S, S)
        A sampled mask in [0, 1], centred; its own size (where it exceeds one half) is
        scaled to `radius`.
    radius : float
        Equivalent radius to draw (of the mid-plane section in 3D), pixels of the last axis.
    scale : sequence of float
        Pixel size of each axis of the item relative to its last axis; its length (2 or
        3) is the dimension drawn.
    angle : float
        Rotation in the YX plane, radians.
    height : float
        3D: the half-height (along z) over `radius`. Each plane at height ``z`` is the
        mid-plane shape shrunk by ``sqrt(1 - (z / (height * radius))**2)``, a section of an
        ellipsoid; ignored in 2D.

    Returns
    -------
    ndarray of bool
        Odd sides, the object's centre at the middle pixel.

    Examples
    --------
    >>> yy, xx = np.mgrid[:64, :64] - 31.5
    >>> disc = (np.hypot(yy, xx) < 16).astype(np.float32)
    >>> box = decode(disc, 5.0, scale=(1, 1))
    >>> box.shape, int(box.sum())
    ((13, 13), 77)
    >>> decode(disc, 5.0, scale=(2, 1, 1), height=0.8).shape
    (5, 13, 13)
    """
    mask = np.asarray(mask, np.float32)
    scale = np.asarray(scale, float)
    zoom = radius / np.sqrt(np.count_nonzero(mask > 0.5) / np.pi)  # item pixels (of the last axis) per mask pixel
    reach = np.max(np.hypot(*(np.nonzero(mask > 0.5) - (np.asarray(mask.shape)[:, None] - 1) / 2))) + 1
    half = np.ceil(reach * zoom / scale[-2:]).astype(int)
    centre = (np.asarray(mask.shape) - 1) / 2
    c, s = np.cos(angle), np.sin(angle)
    rotation = np.array([[c, -s], [s, c]])
    if len(scale) == 2:
        box = _resample(mask, centre, 1 / zoom, rotation, tuple(2 * half + 1), scale=scale)
        return box > 0.5
    half_z = int(np.ceil(height * radius / scale[0]))
    heights = np.arange(-half_z, half_z + 1) * scale[0] / (height * radius)
    planes = []
    for shrink in np.sqrt(np.clip(1 - heights**2, 0, None)):
        if shrink < 1e-3:
            planes.append(np.zeros(tuple(2 * half + 1), bool))
            continue
        planes.append(
            _resample(mask, centre, 1 / (zoom * shrink), rotation, tuple(2 * half + 1), scale=scale[1:]) > 0.5
        )
    return np.stack(planes)


def _resample(mask, centre, step, rotation, shape, *, scale=(1.0, 1.0)):
    """Sample `mask` on a grid of `shape` centred on its point `centre`.

    An output pixel ``o`` (pixel sizes `scale`) reads ``centre + step * rotation @ (o - middle)``:
    `step` mask pixels per unit of the output's last axis; linear interpolation, zero outside.
    """
    grid = np.indices(shape, dtype=np.float64).reshape(2, -1)
    offsets = (grid - (np.asarray(shape)[:, None] - 1) / 2) * np.asarray(scale, float)[:, None]
    coordinates = np.asarray(centre, float)[:, None] + step * rotation @ offsets
    values = ndi.map_coordinates(np.asarray(mask, np.float32), coordinates, order=1, cval=0.0)
    return values.reshape(shape)
