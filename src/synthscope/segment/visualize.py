"""Pictures of a segmentation for a person: outlines over the image, and a side-by-side comparison."""

import numpy as np

from synthscope.errors import InputError
from synthscope.io.preview import outline_overlay
from synthscope.segment.segmenter import Segmentation

# Uncertainty shown from black (certain) through red to yellow (1 bit).
_HEAT = np.array([[0, 0, 0], [200, 30, 30], [255, 230, 60]], np.float32)


def overlay(image: np.ndarray, result: Segmentation) -> np.ndarray:
    """Return the instance outlines of `result` over `image` (the middle plane of a volume), RGB uint8.

    The image is shown between its 1st and 99.8th percentiles (display only).
    """
    return outline_overlay(result.labels, axes=result.axes, image=_grey(image, result), image_axes=result.axes)


def probability_picture(result: Segmentation, *, coarse: bool = False) -> np.ndarray:
    """Return the foreground probability (middle plane) as a grey picture, uint8: 0 black, 1 white.

    The refined probability (the mean of the draws), or the coarse model's with `coarse`.

    Examples
    --------
    >>> result = Segmentation(*[np.zeros((4, 4), np.uint8)] * 2, np.full((4, 4), 0.5, np.float32),
    ...     np.zeros((4, 4), np.float32), np.ones((4, 4), np.float32), "YX", {})
    >>> int(probability_picture(result)[0, 0]), int(probability_picture(result, coarse=True)[0, 0])
    (128, 255)
    """
    plane = _middle(result.coarse if coarse else result.probability, result.axes)
    return np.round(np.clip(plane, 0, 1) * 255).astype(np.uint8)


def uncertainty_picture(result: Segmentation) -> np.ndarray:
    """Return the uncertainty (middle plane) as an RGB heat map: black certain, yellow 1 bit."""
    plane = _middle(result.uncertainty, result.axes)
    position = np.clip(plane, 0, 1) * (len(_HEAT) - 1)
    low = np.minimum(position.astype(int), len(_HEAT) - 2)
    weight = (position - low)[..., None]
    return np.round(_HEAT[low] * (1 - weight) + _HEAT[low + 1] * weight).astype(np.uint8)


def visualize(image: np.ndarray, result: Segmentation) -> np.ndarray:
    """Return the comparison picture: coarse outlines | refined instance outlines | uncertainty.

    Parameters
    ----------
    image : numpy.ndarray
        The image that was segmented (its spatial axes, or with a ``C`` axis last for RGB).
    result : Segmentation

    Returns
    -------
    numpy.ndarray
        RGB uint8, three panels of the (middle) YX plane side by side, 4 white pixels apart.

    Examples
    --------
    >>> from synthscope.segment.segmenter import Segmentation
    >>> labels = np.zeros((16, 16), np.uint16); labels[4:12, 4:12] = 1
    >>> result = Segmentation(labels, (labels > 0).astype(np.uint8), np.float32(labels > 0),
    ...     np.zeros((16, 16), np.float32), np.float32(labels > 0), "YX", {})
    >>> visualize(np.random.default_rng(0).random((16, 16)), result).shape
    (16, 56, 3)
    """
    grey = _grey(image, result)
    coarse = (result.coarse > 0.5).astype(np.uint16)
    panels = [
        outline_overlay(coarse, axes=result.axes, image=grey, image_axes=result.axes),
        overlay(grey, result),
        uncertainty_picture(result),
    ]
    gap = np.full((panels[0].shape[0], 4, 3), 255, np.uint8)
    return np.concatenate([panels[0], gap, panels[1], gap, panels[2]], axis=1)


def _grey(image, result):
    image = np.asarray(image, np.float32)
    if image.shape == result.labels.shape:
        return image
    if image.shape[:-1] == result.labels.shape:  # a channel axis last (RGB)
        return image.mean(-1)
    raise InputError(f"image: shape {image.shape} does not match the segmentation {result.labels.shape}")


def _middle(array, axes):
    return array[array.shape[0] // 2] if axes == "ZYX" else array
