"""Checks of user values (preset keys, generator and refinement parameters, input images): each raises
`InputError` naming the key or file and what is allowed."""

import numbers
from collections.abc import Sequence

import numpy as np

from synthscope.errors import InputError

#: What a generator's `spacing` may be (see `check_spacing`), and its `rng` (see `as_rng`).
Spacing = float | Sequence[float] | dict | None
Rng = int | np.random.Generator | None


def check_shape(shape, *, ndims=(2, 3), minimum=8):
    """Return `shape` as a tuple of ints after checking its length and sizes."""
    if not isinstance(shape, (Sequence, np.ndarray)) or not all(isinstance(s, numbers.Integral) for s in shape):
        raise InputError(f"shape must be a list of {' or '.join(map(str, ndims))} integers, got {shape!r}")
    shape = tuple(int(s) for s in shape)
    if len(shape) not in ndims:
        raise InputError(f"shape must have {' or '.join(map(str, ndims))} axes, got {shape!r}")
    if min(shape) < minimum or max(shape) > 8192:
        raise InputError(f"shape sizes must be in [{minimum}, 8192], got {shape!r}")
    return shape


def check_number(value, key, *, low=-np.inf, high=np.inf, low_open=False, high_open=False, integer=False):
    """Return `value` as a float (or int) after checking ``low <= value <= high`` (``<`` where open)."""
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind):
        raise InputError(f"{key} must be {'an integer' if integer else 'a number'}, got {value!r}")
    below = value <= low if low_open else value < low
    above = value >= high if high_open else value > high
    if below or above or (not integer and not np.isfinite(value)):
        raise InputError(
            f"{key} must be in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}, got {value!r}"
        )
    return int(value) if integer else float(value)


def check_range(value, key, *, low=-np.inf, high=np.inf, low_open=False, integer=False):
    """Return ``(lo, hi)`` from a number or a pair of numbers, each checked like `check_number`."""
    pair = tuple(value) if isinstance(value, (list, tuple)) else (value, value)
    if len(pair) != 2:
        raise InputError(f"{key} must be a number or a pair [low, high], got {value!r}")
    lo, hi = (check_number(v, key, low=low, high=high, low_open=low_open, integer=integer) for v in pair)
    if lo > hi:
        raise InputError(f"{key} must be [low, high] with low <= high, got {value!r}")
    return lo, hi


def check_choice(value, key, choices):
    """Return `value` after checking it is one of `choices`."""
    if value not in choices:
        raise InputError(f"{key} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def check_finite(array, name):
    """Return `array` after checking that it holds no NaN or infinite value.

    Integer arrays always pass; the check costs one pass over a float array.

    Examples
    --------
    >>> check_finite(np.array([0.5, np.nan]), "a.tif")
    Traceback (most recent call last):
    ...
    synthscope.errors.InputError: a.tif: 1 of 2 values are NaN or infinite; intensities must be finite numbers
    """
    array = np.asarray(array)
    if array.dtype.kind in "fc":
        bad = array.size - np.count_nonzero(np.isfinite(array))
        if bad:
            raise InputError(
                f"{name}: {bad} of {array.size} values are NaN or infinite; intensities must be finite numbers"
            )
    return array


def check_spacing(spacing, ndim):
    """Return the physical pixel size per spatial axis (micrometres) as a tuple of floats.

    `spacing` is None (1 um everywhere), one number, a list with one number per axis, or a
    dict from axis letter (``"Z"``, ``"Y"``, ``"X"``) to size.
    """
    letters = "ZYX"[-ndim:]
    if spacing is None:
        return (1.0,) * ndim
    if isinstance(spacing, dict):
        unknown = sorted(set(spacing) - set(letters))
        missing = sorted(set(letters) - set(spacing))
        if unknown or missing:
            raise InputError(f"spacing must name the axes {letters!r}, got {sorted(spacing)!r}")
        spacing = [spacing[a] for a in letters]
    elif isinstance(spacing, numbers.Real):
        spacing = [spacing] * ndim
    if len(spacing) != ndim:
        raise InputError(f"spacing must have {ndim} values (axes {letters!r}), got {spacing!r}")
    return tuple(check_number(s, "spacing", low=0, low_open=True) for s in spacing)


def spacing_dict(spacing, letters):
    """Return ``{letter: size}`` for an `Item`."""
    return {a: float(s) for a, s in zip(letters, spacing, strict=True)}


def as_rng(rng):
    """Return a `numpy.random.Generator` from an int, a Generator or None."""
    return np.random.default_rng(rng)
