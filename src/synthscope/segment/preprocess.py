"""Preprocessing of an image before segmentation: explicit percentile mapping, denoising, CLAHE.

Every step is a field of `Preprocessing`; a step set to None is skipped, and the
spec is recorded with every result, so nothing is rescaled silently.
"""

import dataclasses

import numpy as np
from scipy import ndimage

from synthscope.checks import check_number, check_range
from synthscope.intensity import percentile_normalize


@dataclasses.dataclass(frozen=True)
class Preprocessing:
    """How an image is prepared for the networks; the result is float32 in [0, 1].

    Parameters
    ----------
    percentiles : tuple of float
        The image's own low and high percentiles become 0 and 1 (clipped).
    denoise : float, optional
        Gaussian smoothing of that much sigma (pixels) against shot noise.
    clahe : float, optional
        Clip limit of contrast-limited adaptive histogram equalisation
        (`skimage.exposure.equalize_adapthist`), 2D or 3D.

    Examples
    --------
    >>> Preprocessing(clahe=0.01).to_dict()
    {'percentiles': (1.0, 99.8), 'denoise': None, 'clahe': 0.01}
    >>> Preprocessing(denoise=-1)
    Traceback (most recent call last):
    ...
    synthscope.errors.InputError: preprocessing.denoise must be in (0, 20], got -1
    """

    percentiles: tuple = (1.0, 99.8)
    denoise: float | None = None
    clahe: float | None = None

    def __post_init__(self):
        low, high = check_range(self.percentiles, "preprocessing.percentiles", low=0, high=100)
        object.__setattr__(self, "percentiles", (low, high))
        if self.denoise is not None:
            object.__setattr__(
                self, "denoise", check_number(self.denoise, "preprocessing.denoise", low=0, high=20, low_open=True)
            )
        if self.clahe is not None:
            object.__setattr__(
                self, "clahe", check_number(self.clahe, "preprocessing.clahe", low=0, high=1, low_open=True)
            )

    def to_dict(self) -> dict:
        """Return the spec as a JSON-ready dict."""
        return dataclasses.asdict(self)


def preprocess(image: np.ndarray, spec: Preprocessing = Preprocessing()) -> np.ndarray:
    """Return `image` (2D or 3D, any real dtype) prepared by `spec`: float32 in [0, 1].

    Examples
    --------
    >>> image = np.arange(64, dtype=np.uint16).reshape(8, 8)
    >>> out = preprocess(image, Preprocessing(percentiles=(0, 100), denoise=1.0, clahe=0.02))
    >>> out.dtype, float(out.min()) >= 0, float(out.max()) <= 1
    (dtype('float32'), True, True)
    """
    from skimage.exposure import equalize_adapthist

    prepared = percentile_normalize(image, *spec.percentiles, flat=0.0)
    if spec.denoise is not None:
        prepared = ndimage.gaussian_filter(prepared, spec.denoise)
    if spec.clahe is not None:
        prepared = equalize_adapthist(prepared, clip_limit=spec.clahe)
    return np.clip(prepared, 0, 1).astype(np.float32)
