"""`read_image` and `write_image`: one entry point for every format, chosen by suffix."""

import os
from pathlib import Path

import numpy as np
import numpy.typing as npt

from synthscope.axes import check_axes
from synthscope.checks import check_finite
from synthscope.errors import InputError
from synthscope.io.dicom import read_dicom
from synthscope.io.hdf5 import read_hdf5, write_hdf5
from synthscope.io.image import ImageData, check_spacing
from synthscope.io.nifti import read_nifti, write_nifti
from synthscope.io.omezarr import read_omezarr, write_omezarr
from synthscope.io.pillow import read_pillow
from synthscope.io.png import read_png, write_png
from synthscope.io.tiff import read_tiff, write_tiff

# suffix -> (reader, writer or None for read-only formats); longest suffix wins.
FORMATS = {
    ".tif": (read_tiff, write_tiff),
    ".tiff": (read_tiff, write_tiff),
    ".png": (read_png, write_png),
    ".h5": (read_hdf5, write_hdf5),
    ".hdf5": (read_hdf5, write_hdf5),
    ".zarr": (read_omezarr, write_omezarr),
    ".nii": (read_nifti, write_nifti),
    ".nii.gz": (read_nifti, write_nifti),
    ".dcm": (read_dicom, None),
    ".dicom": (read_dicom, None),
    ".jpg": (read_pillow, None),
    ".jpeg": (read_pillow, None),
    ".bmp": (read_pillow, None),
}


def read_image(path: str | os.PathLike, *, axes: str | None = None) -> ImageData:
    """Read an image file into an `ImageData`, in the dtype it has in the file, after checking its values.

    Parameters
    ----------
    path : path-like
        A file whose suffix names its format: ``.tif``/``.tiff`` (OME-TIFF or
        plain), ``.png``, ``.h5``/``.hdf5`` (data set ``data/image``), ``.zarr``
        (OME-Zarr), ``.nii``/``.nii.gz``, ``.dcm``/``.dicom``.
    axes : str, optional
        Axes of the stored array; by default read from the file's metadata. Needed
        for files that do not name their axes (e.g. a stack saved by a plain
        ``tifffile.imwrite``, which calls its first axis ``"Q"``).

    Returns
    -------
    ImageData

    Raises
    ------
    InputError
        If the suffix is unknown, the file is missing, truncated or corrupt,
        `axes` does not fit the array, or it holds NaN or infinite values.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.tif"
    >>> write_image(path, np.zeros((2, 3, 4), np.float32), axes="ZYX", spacing={"Z": 0.5})
    >>> read_image(path).spacing
    {'Z': 0.5}
    >>> read_image("a.jpg2")
    Traceback (most recent call last):
    ...
    synthscope.errors.InputError: a.jpg2: unknown image format '.jpg2'; use one of .tif, .tiff, ...
    """
    reader, _ = image_format(path)
    if not Path(path).exists():
        raise InputError(f"{path}: no such file")
    image = reader(path, axes=axes)
    check_finite(image.data, str(path))
    return image


def write_image(
    path: str | os.PathLike, data: npt.ArrayLike, *, axes: str, spacing: dict[str, float] | None = None
) -> None:
    """Write an array to an image file atomically, keeping its dtype exactly.

    Values are never rescaled: a format that cannot hold the dtype refuses it.

    Parameters
    ----------
    path : path-like
        Target file; its suffix chooses the format (see `read_image`; DICOM is
        read only).
    data : ndarray
    axes : str
        One letter per dimension of `data` from ``"TCZYX"``.
    spacing : dict of str to float, optional
        Physical pixel size per axis letter (micrometres; seconds for ``"T"``).

    Raises
    ------
    InputError
        If the format is unknown or read only, `axes` or `spacing` do not fit, or
        the format cannot hold the array.
    """
    _, writer = image_format(path, write=True)
    data = np.asarray(data)
    check_axes(axes, data.ndim, name=str(path))
    writer(path, ImageData(data, axes, check_spacing(spacing, axes, name=str(path))))


def image_format(path: str | os.PathLike, *, write: bool = False) -> tuple:
    """Return the ``(reader, writer)`` of the format `path`'s suffix names, checked before any work.

    Parameters
    ----------
    path : path-like
    write : bool, optional
        Whether the file is to be written, so the format needs a writer.

    Raises
    ------
    InputError
        If the suffix names no format, or `write` and synthscope only reads it.

    Examples
    --------
    >>> image_format("out.jpg", write=True)
    Traceback (most recent call last):
    ...
    synthscope.errors.InputError: out.jpg: synthscope reads this format but does not write it
    """
    name = Path(path).name.lower()
    suffix = max((s for s in FORMATS if name.endswith(s)), key=len, default=None)
    if suffix is None:
        known = ", ".join(FORMATS)
        raise InputError(f"{path}: unknown image format {Path(path).suffix or name!r}; use one of {known}")
    if write and FORMATS[suffix][1] is None:
        raise InputError(f"{path}: synthscope reads this format but does not write it")
    return FORMATS[suffix]
