"""Axes strings: which array dimension is time, channel or space.

An axes string has one upper-case letter per array dimension, in order, from
``"TCZYX"``; each letter at most once, e.g. ``"YX"``, ``"ZYX"``, ``"CZYX"``, ``"TYX"``.
"""

from synthscope.errors import InputError

AXIS_LETTERS = "TCZYX"
SPATIAL_LETTERS = "ZYX"


def check_axes(axes, ndim, *, name="array"):
    """Return `axes` after checking it describes an array of `ndim` dimensions.

    Parameters
    ----------
    axes : str
        One letter per dimension from ``"TCZYX"``, each at most once.
    ndim : int
        Number of dimensions of the array.
    name : str, optional
        What to call the array in the error message (a file name, say).

    Returns
    -------
    axes : str

    Raises
    ------
    InputError
        If the string has unknown or repeated letters or the wrong length.

    Examples
    --------
    >>> check_axes("ZYX", 3)
    'ZYX'
    >>> check_axes("YX", 3, name="a.tif")
    Traceback (most recent call last):
    ...
    synthscope.errors.InputError: a.tif: axes 'YX' has 2 letters but the array has 3 dimensions
    """
    if not isinstance(axes, str):
        raise InputError(f"{name}: axes must be a string such as 'ZYX', got {axes!r}")
    unknown = sorted(set(axes) - set(AXIS_LETTERS))
    if unknown:
        raise InputError(f"{name}: axes {axes!r} has unknown letters {''.join(unknown)!r}; use letters from 'TCZYX'")
    if len(set(axes)) != len(axes):
        raise InputError(f"{name}: axes {axes!r} repeats a letter")
    if len(axes) != ndim:
        raise InputError(f"{name}: axes {axes!r} has {len(axes)} letters but the array has {ndim} dimensions")
    return axes


def spatial_axes(axes):
    """Return the spatial letters of `axes` in order.

    Examples
    --------
    >>> spatial_axes("TCZYX")
    'ZYX'
    """
    return "".join(a for a in axes if a in SPATIAL_LETTERS)
