"""The instance step: a semantic mask split into objects by a seeded watershed."""

import numpy as np
from scipy import ndimage
from skimage.segmentation import relabel_sequential, watershed


def split_instances(mask: np.ndarray, interior: np.ndarray, *, min_size: int = 16) -> np.ndarray:
    """Return instance labels of `mask`, seeded by where `interior` is likely.

    Seeds are the connected regions of the mask where the interior probability exceeds
    0.5; a watershed over ``1 - interior`` grows them through the mask, so a thin line of
    low interior probability (the boundary class between touching nuclei) separates
    them. Parts of the mask that no seed reaches become objects of their own. 2D or 3D.

    Parameters
    ----------
    mask : numpy.ndarray of bool
        The semantic (foreground) mask.
    interior : numpy.ndarray of float
        Probability of the interior class, the shape of `mask`.
    min_size : int
        Objects under this many pixels are removed (seeds under a quarter of it too).

    Returns
    -------
    labels : numpy.ndarray of uint16 (uint32 above 65,535 objects)
        Ids 1..N, 0 = background.

    Examples
    --------
    Two squares joined by a bridge whose interior probability is low:

    >>> mask = np.zeros((10, 21), bool); mask[2:8, 2:9] = mask[2:8, 12:19] = mask[4:6, 9:12] = True
    >>> interior = mask * 0.9; interior[:, 9:12] = 0.1
    >>> labels = split_instances(mask, interior, min_size=4)
    >>> int(labels.max()), labels[4, 4], labels[4, 15]
    (2, np.uint16(1), np.uint16(2))
    """
    mask = np.asarray(mask, bool)
    seeds = ndimage.label((interior > 0.5) & mask)[0]
    seeds = _without_small(seeds, min_size // 4)
    labels = watershed(1 - interior, seeds, mask=mask)
    unreached = ndimage.label(mask & (labels == 0))[0]
    labels = np.where(unreached > 0, unreached + labels.max(), labels)
    labels = relabel_sequential(_without_small(labels, min_size))[0]
    return labels.astype(np.uint16 if labels.max() < 2**16 else np.uint32)


def _without_small(labels, size):
    """`labels` with the objects of fewer than `size` pixels set to 0 (one object or many alike)."""
    small = np.bincount(labels.ravel()) < size
    small[0] = False
    return np.where(small[labels], 0, labels)
