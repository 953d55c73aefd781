"""Realism of volumes: 2D views that judge consistency in z, and the texture's continuity.

The realism metrics of `synthscope.evaluate.realism` compare 2D images. A volume gives
them XY patches (`to_patches`) and, to judge what happens between planes, XZ and YZ
sections: `resample_z` first makes the voxels cubic (z sections of anisotropic volumes
would otherwise compare stretched textures), then `section_strips` cuts the sections
into strips of one depth for real and synthetic volumes alike. `texture_z_correlation`
is a direct check: how alike the fine texture of adjacent planes is.
"""

import numpy as np
from scipy import ndimage as ndi

from synthscope.errors import InputError


def resample_z(volume: np.ndarray, *, spacing: float, target: float) -> np.ndarray:
    """Resample a ``ZYX`` volume in z by linear interpolation between planes, from `spacing` to `target`.

    Planes are placed every `target` from the first plane for as long as they lie
    within the volume, so the last plane may be dropped.

    Parameters
    ----------
    volume : ndarray, shape (Z, Y, X)
        At least two planes, values in [0, 1].
    spacing, target : float
        Plane distance of `volume` and of the result (same unit).

    Returns
    -------
    ndarray of float32
        Values clipped to [0, 1].

    Examples
    --------
    >>> volume = np.stack([np.zeros((2, 2)), np.ones((2, 2))])
    >>> resample_z(volume, spacing=1.0, target=0.25)[:, 0, 0]
    array([0.  , 0.25, 0.5 , 0.75, 1.  ], dtype=float32)
    """
    if np.ndim(volume) != 3 or len(volume) < 2:
        raise InputError(f"resample_z needs a ZYX volume of at least 2 planes, got shape {np.shape(volume)}")
    if not (spacing > 0 and target > 0):
        raise InputError(f"spacing and target must be positive, got {spacing} and {target}")
    positions = np.arange(0, (len(volume) - 1) * spacing + 1e-6, target) / spacing
    below = np.minimum(np.floor(positions).astype(int), len(volume) - 2)
    weight = (positions - below)[:, None, None]
    return np.clip((1 - weight) * volume[below] + weight * volume[below + 1], 0, 1).astype(np.float32)


def section_strips(volume: np.ndarray, *, depth: int, width: int = 64, stride: int = 4) -> np.ndarray:
    """Cut the XZ and YZ sections of a ``ZYX`` volume into ``depth x width`` strips.

    The volume is split in z into disjoint windows of `depth` planes (the rest at the
    bottom is dropped). In each window an XZ section is taken every `stride` rows and
    a YZ section every `stride` columns, and each section is cut into non-overlapping
    strips of `width` pixels. Resample anisotropic volumes first (`resample_z`).

    Parameters
    ----------
    volume : ndarray, shape (Z, Y, X)
    depth : int
        Planes per window: the height of the strips.
    width : int, optional
        Width of the strips.
    stride : int, optional
        Distance of the sections, in pixels.

    Returns
    -------
    ndarray, shape (N, depth, width)
        XZ strips before YZ strips in each window, windows from the top.

    Examples
    --------
    >>> section_strips(np.zeros((23, 8, 16)), depth=11, width=8, stride=4).shape
    (16, 11, 8)
    """
    if np.ndim(volume) != 3:
        raise InputError(f"section_strips needs a ZYX volume, got shape {np.shape(volume)}")
    strips = []
    for z in range(0, len(volume) - depth + 1, depth):
        block = volume[z : z + depth]
        sections = [block[:, y, :] for y in range(0, block.shape[1], stride)]
        sections += [block[:, :, x] for x in range(0, block.shape[2], stride)]
        strips += [s[:, x : x + width] for s in sections for x in range(0, s.shape[1] - width + 1, width)]
    if not strips:
        raise InputError(f"volume of shape {np.shape(volume)} has no {depth} x {width} section strip")
    return np.stack(strips)


def texture_z_correlation(volume: np.ndarray, *, sigma: float = 2.0) -> float:
    """Return the mean correlation between adjacent planes of a volume's fine texture.

    The fine texture of a plane is the plane minus its Gaussian blur (`sigma` pixels,
    in Y and X). Real volumes set the target: independent noise per plane scores about
    0, a texture repeated in every plane 1.

    Parameters
    ----------
    volume : ndarray, shape (Z, Y, X)
        At least two planes.
    sigma : float, optional

    Returns
    -------
    float

    Examples
    --------
    >>> noise = np.random.default_rng(0).random((1, 32, 32))
    >>> round(texture_z_correlation(np.repeat(noise, 3, axis=0)), 6)
    1.0
    """
    if np.ndim(volume) != 3 or len(volume) < 2:
        raise InputError(f"texture_z_correlation needs a ZYX volume of at least 2 planes, got {np.shape(volume)}")
    fine = volume - ndi.gaussian_filter(volume, (0, sigma, sigma))
    return float(np.mean([np.corrcoef(a.ravel(), b.ravel())[0, 1] for a, b in zip(fine, fine[1:])]))
