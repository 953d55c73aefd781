"""Find what the labels do not explain: unlabeled objects and labels with no object."""

import numpy as np
from scipy import ndimage as ndi
from skimage.filters import gaussian

from synthscope.errors import InputError


def find_unlabeled(image, labels, *, polarity="bright", margin=2, min_size=None, smoothing=1.0):
    """Find objects in `image` that no label covers.

    A pixel belongs to an object when the smoothed image is past the midpoint between
    the median background (farther than `margin` from every label) and the median
    object intensity. Connected groups of such pixels that lie wholly outside the
    labels dilated by `margin`, and are at least `min_size` pixels, are unlabeled
    objects.

    Parameters
    ----------
    image : ndarray
        2D or 3D image, same shape as `labels`.
    labels : ndarray of int
        Instance labels, 0 = background.
    polarity : {"bright", "dark"}, optional
        Whether objects are brighter (fluorescence) or darker (TEM stain) than background.
    margin : int, optional
        Pixels around each label that count as belonging to it.
    min_size : int, optional
        Smallest unlabeled object reported, in pixels; by default a quarter of the
        median labelled object.
    smoothing : float, optional
        Gaussian sigma applied before thresholding, against noise.

    Returns
    -------
    blobs : ndarray of int32
        The unlabeled objects, numbered 1..K, 0 elsewhere.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.full((60, 60), 0.1, np.float32)
    >>> image[5:15, 5:15] = image[40:50, 40:50] = 0.8
    >>> labels = np.zeros((60, 60), np.uint16)
    >>> labels[5:15, 5:15] = 1                   # the second square has no label
    >>> int(find_unlabeled(image, labels).max())
    1
    """
    image, labels = _check(image, labels, polarity)
    smooth = _signed(gaussian(image.astype(np.float32), sigma=smoothing, preserve_range=True), polarity)
    near = ndi.binary_dilation(labels > 0, iterations=margin) if labels.any() else np.zeros(labels.shape, bool)
    background, foreground = _levels(smooth, labels, near)
    candidates = smooth > (background + foreground) / 2
    blobs, count = ndi.label(candidates)
    if count == 0:
        return blobs.astype(np.int32)
    touching = np.unique(blobs[near])
    sizes = ndi.sum_labels(np.ones_like(blobs), blobs, index=np.arange(1, count + 1))
    if min_size is None:
        object_sizes = np.bincount(labels.ravel())[1:]
        object_sizes = object_sizes[object_sizes > 0]
        min_size = 0.25 * np.median(object_sizes) if object_sizes.size else 1
    keep = np.zeros(count + 1, bool)
    keep[1:] = sizes >= min_size
    keep[touching] = False
    keep[0] = False
    # Renumber the kept blobs 1..K in order of their first pixel.
    new_ids = np.zeros(count + 1, np.int32)
    new_ids[keep] = np.arange(1, keep.sum() + 1)
    return new_ids[blobs]


def find_empty_labels(image, labels, *, polarity="bright", margin=2, min_contrast=0.5, smoothing=1.0):
    """Return the ids of labels whose object does not show in `image`.

    An object's contrast is (its median - background median) / (median of all object
    pixels - background median); labels below `min_contrast` are empty.

    Parameters
    ----------
    image, labels, polarity, margin, smoothing
        As in `find_unlabeled`.
    min_contrast : float, optional
        Smallest contrast, relative to the typical object, of a label that is kept.

    Returns
    -------
    ids : list of int

    Examples
    --------
    >>> import numpy as np
    >>> image = np.full((60, 60), 0.1, np.float32)
    >>> image[5:15, 5:15] = image[20:30, 20:30] = 0.8
    >>> labels = np.zeros((60, 60), np.uint16)
    >>> labels[5:15, 5:15], labels[20:30, 20:30], labels[40:50, 40:50] = 1, 2, 3
    >>> find_empty_labels(image, labels)
    [3]
    """
    image, labels = _check(image, labels, polarity)
    smooth = _signed(gaussian(image.astype(np.float32), sigma=smoothing, preserve_range=True), polarity)
    if not labels.any():
        return []
    near = ndi.binary_dilation(labels > 0, iterations=margin)
    background, foreground = _levels(smooth, labels, near)
    ids = np.unique(labels)
    ids = ids[ids != 0]
    medians = ndi.median(smooth, labels, index=ids)
    contrast = (np.asarray(medians) - background) / max(foreground - background, 1e-12)
    return [int(i) for i, c in zip(ids, contrast) if c < min_contrast]


def _check(image, labels, polarity):
    image, labels = np.asarray(image), np.asarray(labels)
    if image.shape != labels.shape:
        raise InputError(f"image shape {image.shape} differs from labels shape {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise InputError(f"labels must be integers, got {labels.dtype}")
    if polarity not in ("bright", "dark"):
        raise InputError(f"polarity must be 'bright' or 'dark', got {polarity!r}")
    return image, labels


def _signed(image, polarity):
    """Flip dark-object images so that objects are always the bright side."""
    return image if polarity == "bright" else -image


def _levels(image, labels, near):
    far = ~near
    background = float(np.median(image[far])) if far.any() else float(image.min())
    foreground = float(np.median(image[labels > 0])) if labels.any() else float(image.max())
    return background, foreground
