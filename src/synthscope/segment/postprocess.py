"""Postprocessing of a binary mask: opening, closing, smoothing, hole filling, small-object removal.

Each step is a field of `Postprocessing` (0 turns it off); 2D and 3D alike.
"""

import dataclasses

import numpy as np
from scipy import ndimage
from skimage.morphology import remove_small_holes, remove_small_objects

from synthscope.checks import check_number


@dataclasses.dataclass(frozen=True)
class Postprocessing:
    """What is done to the semantic mask after segmentation, in the order of the fields.

    Parameters
    ----------
    opening, closing : int
        Radius (pixels) of a morphological opening (removes spurs and specks) and
        closing (closes gaps); 0 skips it.
    smooth : float
        Gaussian sigma (pixels) applied to the mask, then thresholded at 0.5; 0 skips it.
    fill_holes : int
        Holes of at most this many pixels are filled; 0 skips it.
    min_size : int
        Objects under this many pixels are removed; 0 skips it.

    Examples
    --------
    >>> Postprocessing(opening=1).to_dict()
    {'opening': 1, 'closing': 0, 'smooth': 0.0, 'fill_holes': 64, 'min_size': 16}
    """

    opening: int = 0
    closing: int = 0
    smooth: float = 0.0
    fill_holes: int = 64
    min_size: int = 16

    def __post_init__(self):
        for name in ("opening", "closing", "fill_holes", "min_size"):
            object.__setattr__(
                self, name, check_number(getattr(self, name), f"postprocessing.{name}", low=0, integer=True)
            )
        object.__setattr__(self, "smooth", check_number(self.smooth, "postprocessing.smooth", low=0, high=20))

    def to_dict(self) -> dict:
        """Return the spec as a JSON-ready dict."""
        return dataclasses.asdict(self)


def postprocess(mask: np.ndarray, spec: Postprocessing = Postprocessing()) -> np.ndarray:
    """Return the boolean `mask` (2D or 3D) cleaned by `spec`.

    Examples
    --------
    >>> mask = np.zeros((12, 12), bool); mask[2:10, 2:10] = True; mask[5, 5] = False; mask[0, 11] = True
    >>> out = postprocess(mask, Postprocessing(fill_holes=4, min_size=2))
    >>> bool(out[5, 5]), bool(out[0, 11])
    (True, False)
    """
    mask = np.asarray(mask, bool)
    if spec.opening:
        mask = ndimage.binary_opening(mask, ball(spec.opening, mask.ndim))
    if spec.closing:
        # Padded so that objects at the edge are not eroded by the border.
        pad = spec.closing
        closed = ndimage.binary_closing(np.pad(mask, pad, mode="edge"), ball(spec.closing, mask.ndim))
        mask = closed[(slice(pad, -pad),) * mask.ndim]
    if spec.smooth:
        mask = ndimage.gaussian_filter(mask.astype(np.float32), spec.smooth) > 0.5
    if spec.fill_holes:
        mask = remove_small_holes(mask, max_size=spec.fill_holes)
    if spec.min_size:
        mask = remove_small_objects(mask, max_size=spec.min_size - 1)
    return mask


def ball(radius: int, ndim: int) -> np.ndarray:
    """Return a Euclidean ball of `radius` pixels in `ndim` dimensions, as a footprint.

    Examples
    --------
    >>> ball(1, 2).astype(int)
    array([[0, 1, 0],
           [1, 1, 1],
           [0, 1, 0]])
    """
    grid = np.indices((2 * radius + 1,) * ndim) - radius
    return (grid**2).sum(0) <= radius**2
