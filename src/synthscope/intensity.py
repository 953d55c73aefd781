"""Explicit intensity mapping: the one percentile normalisation of synthscope.

Nothing in synthscope rescales an image silently; where an image has to be mapped to
[0, 1] (real training images, the segmenter's input, a preview, a realism score of
integer images) it is done here, by percentiles that the caller names.
"""

import numpy as np
import numpy.typing as npt

from synthscope.errors import InputError

# Stands in for an empty percentile range (a flat image), so that the division is defined.
_SMALLEST_RANGE = 1e-12


def percentile_normalize(
    image: npt.ArrayLike,
    low: float,
    high: float,
    *,
    flat: float | None = None,
    dtype: npt.DTypeLike | None = np.float32,
) -> np.ndarray:
    """Map the `low` and `high` percentiles of `image` to 0 and 1, clipping the rest to [0, 1].

    The percentiles are those of the whole array (every axis, every channel); the
    values are taken as float32 before the percentiles are subtracted.

    Parameters
    ----------
    image : array_like
        Any real-valued image or stack of images.
    low, high : float
        Percentiles, ``0 <= low < high <= 100``, mapped to 0 and 1.
    flat : float, optional
        Value of every pixel when the two percentiles coincide (a flat image, or one
        with too few bright pixels). By default the range is taken as 1e-12 instead,
        so that pixels above the low percentile become 1 and the others 0.
    dtype : dtype or None, optional
        Type of the result; None keeps the precision of the arithmetic (float32 values
        less the percentiles as `numpy.percentile` returns them: float64 on NumPy 2).

    Returns
    -------
    ndarray
        Values in [0, 1], the shape of `image`.

    Raises
    ------
    InputError
        If the percentiles are not ``0 <= low < high <= 100``.

    Examples
    --------
    >>> percentile_normalize(np.arange(101.0), 10, 90)[[0, 50, 100]]
    array([0. , 0.5, 1. ], dtype=float32)
    >>> percentile_normalize(np.zeros(3), 1, 99, flat=0.0, dtype=None)
    array([0., 0., 0.], dtype=float32)
    """
    if not 0 <= low < high <= 100:
        raise InputError(f"percentiles must satisfy 0 <= low < high <= 100, got low={low}, high={high}")
    lo, hi = np.percentile(image, (low, high))
    if flat is not None and hi <= lo:
        return np.full(np.shape(image), flat, np.float32 if dtype is None else dtype)
    normalized = np.clip((np.asarray(image, np.float32) - lo) / max(hi - lo, _SMALLEST_RANGE), 0, 1)
    return normalized if dtype is None else normalized.astype(dtype)
