"""Find what the labels do not explain: unlabeled objects and labels with no object.

Both checks measure intensity on the smoothed image against the median background
(pixels farther than `margin` from every label). Given the sketch as ``reference``,
they judge the refined image against what the sketch showed rather than against
fixed levels: a deliberately dim object stays labelled as long as it stays about as
dim as drawn, and a structure the sketch drew without a label is not an unlabeled
object.
"""

import numpy as np
from scipy import ndimage as ndi
from skimage.filters import gaussian

from synthscope.errors import InputError

#: A pixel shows an object when its contrast is past the midpoint between background and objects.
SHOWN = 0.5


def find_unlabeled(image, labels, *, reference=None, polarity="bright", margin=2, min_size=None, smoothing=1.0):
    """Find objects in `image` that no label covers.

    A pixel shows an object when the smoothed image there is past the midpoint between
    the median background (farther than `margin` from every label) and the median
    labelled pixel. With a `reference` (the sketch the image was refined from), a pixel
    counts only if the reference, by the same test with its own levels or with the
    image's, showed no object there nor within `margin` pixels (refinement may dim the
    labelled objects, which lowers the image's midpoint: unlabelled light drawn in the
    sketch and left as it was is not new). Connected groups of counted pixels that
    lie wholly outside the labels dilated by `margin`, and are at least `min_size`
    pixels, are unlabeled objects.

    Parameters
    ----------
    image : ndarray
        2D or 3D image, same shape as `labels`.
    labels : ndarray of int
        Instance labels, 0 = background. Without any label there is no object level
        to compare with, and nothing is found.
    reference : ndarray, optional
        The image `labels` were drawn for (the sketch), same shape as `labels`.
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
        The unlabeled objects, numbered 1..K in order of their first pixel, 0 elsewhere.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.full((60, 60), 0.1, np.float32)
    >>> image[5:15, 5:15] = image[40:50, 40:50] = 0.8
    >>> labels = np.zeros((60, 60), np.uint16)
    >>> labels[5:15, 5:15] = 1                   # the second square has no label
    >>> int(find_unlabeled(image, labels).max())
    1

    A structure that the sketch already drew without a label is not new:

    >>> sketch = image.copy()
    >>> int(find_unlabeled(image, labels, reference=sketch).max())
    0
    >>> sketch[40:50, 40:50] = 0.1               # the sketch showed nothing there
    >>> int(find_unlabeled(image, labels, reference=sketch).max())
    1
    """
    image, labels = _check(image, labels, polarity)
    if not labels.any():
        return np.zeros(labels.shape, np.int32)
    near = _dilate(labels > 0, margin)
    smooth = _smooth(image, polarity, smoothing)
    levels = _levels(smooth, labels, near)
    counted = _contrast(smooth, levels) > SHOWN
    if reference is not None:
        drawn_image = _smooth(_reference(reference, labels), polarity, smoothing)
        drawn = (_contrast(drawn_image, _levels(drawn_image, labels, near)) > SHOWN) | (
            _contrast(drawn_image, levels) > SHOWN
        )
        counted &= ~_dilate(drawn, margin)
    blobs, count = ndi.label(counted)
    if count == 0:
        return blobs.astype(np.int32)
    touching = np.unique(blobs[near])
    sizes = np.bincount(blobs.ravel(), minlength=count + 1)[1:]
    if min_size is None:
        object_sizes = np.bincount(labels.ravel())[1:]
        min_size = 0.25 * np.median(object_sizes[object_sizes > 0])
    keep = np.zeros(count + 1, bool)
    keep[1:] = sizes >= min_size
    keep[touching] = False
    keep[0] = False
    # Renumber the kept blobs 1..K in order of their first pixel.
    new_ids = np.zeros(count + 1, np.int32)
    new_ids[keep] = np.arange(1, keep.sum() + 1)
    return new_ids[blobs]


def find_empty_labels(image, labels, *, reference=None, polarity="bright", margin=2, min_contrast=0.5, smoothing=1.0):
    """Return the ids of labels whose object does not show in `image`.

    A label's level is the median of its pixels in the smoothed image minus the median
    background (pixels farther than `margin` from every label). Without a `reference`,
    a label is empty when its level is below `min_contrast` times that of the typical
    object (the median of all labelled pixels). With one (the sketch the image was
    refined from), a label is empty when its level in `image` is below `min_contrast`
    times its level in the reference: its object lost most of the contrast the sketch
    drew. An object drawn brighter than the typical drawn object (a mitotic nucleus)
    is held to the typical object's level; a deliberately dim object that stays as dim
    is kept; a label the reference did not show at all (level <= 0) is never empty.

    Parameters
    ----------
    image, labels, reference, polarity, margin, smoothing
        As in `find_unlabeled`.
    min_contrast : float, optional
        The fraction of its expected level below which a label is empty.

    Returns
    -------
    ids : list of int
        Sorted.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.full((60, 60), 0.1, np.float32)
    >>> image[5:15, 5:15] = image[20:30, 20:30] = 0.8
    >>> image[40:50, 5:15] = 0.2                 # a dim object
    >>> labels = np.zeros((60, 60), np.uint16)
    >>> labels[5:15, 5:15], labels[20:30, 20:30], labels[40:50, 40:50] = 1, 2, 3
    >>> labels[40:50, 5:15] = 4
    >>> find_empty_labels(image, labels)
    [3, 4]

    Against the sketch, the dim object is as dim as it was drawn and is kept; label 3,
    drawn as an object in the sketch, has lost it:

    >>> sketch = image.copy()
    >>> sketch[40:50, 40:50] = 0.8
    >>> find_empty_labels(image, labels, reference=sketch)
    [3]
    """
    image, labels = _check(image, labels, polarity)
    if not labels.any():
        return []
    near = _dilate(labels > 0, margin)
    ids = np.unique(labels)
    ids = ids[ids != 0]
    index = labels.astype(np.int64, copy=False)  # ndimage's median overflows narrow label types
    smooth = _smooth(image, polarity, smoothing)
    background = _background(smooth, near)
    level = np.asarray(ndi.median(smooth, index, index=ids)) - background
    if reference is None:
        typical = float(np.median(smooth[labels > 0])) - background
        empty = level < min_contrast * typical
    else:
        drawn_image = _smooth(_reference(reference, labels), polarity, smoothing)
        drawn = np.asarray(ndi.median(drawn_image, index, index=ids)) - _background(drawn_image, near)
        expected = np.minimum(drawn, np.median(drawn))
        empty = (drawn > 0) & (level < min_contrast * expected)
    return [int(i) for i in ids[empty]]


def _check(image, labels, polarity):
    image, labels = np.asarray(image), np.asarray(labels)
    if image.shape != labels.shape:
        raise InputError(f"image shape {image.shape} differs from labels shape {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise InputError(f"labels must be integers, got {labels.dtype}")
    if polarity not in ("bright", "dark"):
        raise InputError(f"polarity must be 'bright' or 'dark', got {polarity!r}")
    return image, labels


def _reference(reference, labels):
    reference = np.asarray(reference)
    if reference.shape != labels.shape:
        raise InputError(f"reference shape {reference.shape} differs from labels shape {labels.shape}")
    return reference


def _smooth(image, polarity, smoothing):
    """The smoothed image, flipped for dark objects so that objects are always the bright side."""
    smooth = gaussian(image.astype(np.float32), sigma=smoothing, preserve_range=True)
    return smooth if polarity == "bright" else -smooth


def _dilate(mask, margin):
    # scipy reads iterations=0 as "until nothing changes"
    return ndi.binary_dilation(mask, iterations=margin) if margin > 0 else mask


def _background(smooth, near):
    far = ~near
    return float(np.median(smooth[far])) if far.any() else float(smooth.min())


def _levels(smooth, labels, near):
    """``(background, object)`` levels of a smoothed image: the median background and labelled pixel."""
    return _background(smooth, near), float(np.median(smooth[labels > 0]))


def _contrast(smooth, levels):
    """A smoothed image as contrast: 0 at the background level, 1 at the object level (`_levels`)."""
    background, foreground = levels
    return (smooth - background) / max(foreground - background, 1e-12)
