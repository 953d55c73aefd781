"""Pictures for a person: label outlines drawn over the image.

The image is percentile-normalised for display only; nothing here is data.
"""

import numpy as np
from skimage.segmentation import find_boundaries

from synthscope.axes import check_axes
from synthscope.intensity import percentile_normalize

# Outline colours, cycled by label id: distinct on grey and on each other.
_PALETTE = np.array(
    [
        [255, 225, 25],
        [60, 180, 75],
        [230, 25, 75],
        [0, 130, 200],
        [245, 130, 48],
        [145, 30, 180],
        [70, 240, 240],
        [240, 50, 230],
    ],
    np.uint8,
)


def outline_overlay(labels, *, axes, image=None, image_axes=None, percentiles=(1.0, 99.8)):
    """Return an RGB picture of the outlines of `labels` over `image`.

    Arrays with more than two axes are cut through the middle of every axis other
    than Y and X; channels are each normalised and combined by their maximum.

    Parameters
    ----------
    labels : ndarray of int
        Instance labels, 0 = background.
    axes : str
        Axes of `labels`, e.g. ``"YX"``, ``"ZYX"``, ``"TYX"``.
    image : ndarray, optional
        The picture under the outlines (black if None).
    image_axes : str, optional
        Axes of `image`; by default `axes`.
    percentiles : tuple of float, optional
        Intensities at these percentiles become black and white.

    Returns
    -------
    rgb : ndarray of uint8, shape (Y, X, 3)

    Examples
    --------
    >>> import numpy as np
    >>> labels = np.zeros((3, 8, 8), np.uint16)
    >>> labels[:, 2:6, 2:6] = 1
    >>> rgb = outline_overlay(labels, axes="ZYX", image=np.random.default_rng(0).random((3, 8, 8)))
    >>> rgb.shape, rgb.dtype, rgb[2, 2].tolist()
    ((8, 8, 3), dtype('uint8'), [60, 180, 75])
    """
    check_axes(axes, labels.ndim, name="labels")
    plane = _middle_plane(labels, axes, "YX")
    grey = np.zeros(plane.shape, np.float32)
    if image is not None:
        image_axes = check_axes(image_axes or axes, image.ndim, name="image")
        channels = _middle_plane(image, image_axes, "CYX" if "C" in image_axes else "YX").reshape(-1, *plane.shape)
        # A flat channel is black; float64 arithmetic is kept up to the rounding to 8 bits.
        grey = np.max([percentile_normalize(c, *percentiles, flat=0.0, dtype=None) for c in channels], axis=0)
    rgb = np.repeat((grey * 255).round().astype(np.uint8)[..., np.newaxis], 3, axis=-1)
    edges = find_boundaries(plane, mode="inner")
    rgb[edges] = _PALETTE[plane[edges].astype(np.int64) % len(_PALETTE)]
    return rgb


def _middle_plane(array, axes, keep):
    index = tuple(slice(None) if a in keep else array.shape[i] // 2 for i, a in enumerate(axes))
    kept = [a for a in axes if a in keep]
    return np.transpose(array[index], [kept.index(a) for a in keep])
