"""`ImageData`: an array with its axes string and physical pixel size."""

from dataclasses import dataclass, field

import numpy as np

from synthscope.axes import check_axes
from synthscope.errors import InputError


@dataclass
class ImageData:
    """An image as read from or written to a file.

    Parameters
    ----------
    data : ndarray
        The pixel values, in the dtype they have in the file.
    axes : str
        One letter per dimension of `data` from ``"TCZYX"``.
    spacing : dict of str to float, optional
        Physical size of a pixel along some of the axes (micrometres; seconds for
        ``"T"``). Axes without an entry have no known size.

    Examples
    --------
    >>> import numpy as np
    >>> ImageData(np.zeros((3, 4, 5), np.uint16), "ZYX", {"Z": 0.5}).spacing
    {'Z': 0.5}
    >>> ImageData(np.zeros((4, 5)), "ZYX")
    Traceback (most recent call last):
    ...
    synthscope.errors.InputError: image: axes 'ZYX' has 3 letters but the array has 2 dimensions
    """

    data: np.ndarray
    axes: str
    spacing: dict[str, float] = field(default_factory=dict)

    def __post_init__(self):
        check_axes(self.axes, np.ndim(self.data), name="image")
        self.spacing = check_spacing(self.spacing, self.axes)


def check_spacing(spacing: dict[str, float] | None, axes: str, *, name: str = "image") -> dict[str, float]:
    """Return `spacing` as a dict of positive floats keyed by letters of `axes`.

    Parameters
    ----------
    spacing : dict of str to float or None
        Physical pixel size per axis letter; None means none known.
    axes : str
        The axes the letters must come from.
    name : str, optional
        What to call the image in the error message.

    Returns
    -------
    spacing : dict of str to float
        In the order of `axes`.

    Raises
    ------
    InputError
        If a key is not in `axes` or a size is not a positive number.

    Examples
    --------
    >>> check_spacing({"X": 0.2, "Y": 1}, "YX")
    {'Y': 1.0, 'X': 0.2}
    >>> check_spacing({"Z": 1.0}, "YX")
    Traceback (most recent call last):
    ...
    synthscope.errors.InputError: image: spacing names axis 'Z', which is not in axes 'YX'
    """
    spacing = dict(spacing or {})
    for letter, size in spacing.items():
        if letter not in axes:
            raise InputError(f"{name}: spacing names axis {letter!r}, which is not in axes {axes!r}")
        if isinstance(size, bool) or not isinstance(size, (int, float, np.number)) or not size > 0:
            raise InputError(f"{name}: spacing of axis {letter!r} must be a positive number, got {size!r}")
    return {letter: float(spacing[letter]) for letter in axes if letter in spacing}
