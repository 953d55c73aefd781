"""NIfTI-1 via nibabel.

NIfTI orders dimensions x, y, z, t, so arrays are stored with their axes reversed
(``"ZYX"`` as x, y, z). The axes string and the exact spacing travel as JSON in a
comment extension, because the header holds sizes as float32; files from elsewhere
get axes from their number of dimensions and sizes from the header and its units.
"""

import json

import nibabel
import numpy as np

from synthscope.axes import check_axes
from synthscope.errors import InputError
from synthscope.io._atomic import atomic_path
from synthscope.io.image import ImageData

_COMMENT = 6  # NIfTI extension code "comment"
_DEFAULT_AXES = {2: "YX", 3: "ZYX", 4: "TZYX", 5: "CTZYX"}
_FACTORS = {"meter": 1e6, "mm": 1e3, "micron": 1.0, "sec": 1.0, "msec": 1e-3, "usec": 1e-6}


def write_nifti(path, image):
    """Write an `ImageData` to a ``.nii`` or ``.nii.gz`` file.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.nii"
    >>> write_nifti(path, ImageData(np.ones((2, 3, 4), np.int16), "ZYX", {"Z": 0.3}))
    >>> read_nifti(path).spacing
    {'Z': 0.3}
    """
    data = np.asarray(image.data)
    reversed_axes = image.axes[::-1]
    zooms = [image.spacing.get(letter, 1.0) for letter in reversed_axes]
    try:
        header = nibabel.Nifti1Header()
        header.set_data_dtype(data.dtype)
    except nibabel.spatialimages.HeaderDataError:
        raise InputError(f"{path}: NIfTI cannot hold pixels of dtype {data.dtype}") from None
    affine = np.diag([*(zooms + [1.0, 1.0, 1.0])[:3], 1.0])
    nifti = nibabel.Nifti1Image(data.transpose(), affine, header=header)
    nifti.header.set_zooms(zooms)
    nifti.header.set_xyzt_units("micron", "sec")
    text = json.dumps({"axes": image.axes, "spacing": image.spacing}, sort_keys=True)
    nifti.header.extensions.append(nibabel.nifti1.Nifti1Extension(_COMMENT, text.encode()))
    with atomic_path(path) as tmp:
        nibabel.save(nifti, tmp)


def read_nifti(path, *, axes=None):
    """Read a NIfTI-1 or NIfTI-2 file into an `ImageData`, in its stored dtype.

    Parameters
    ----------
    path : path-like
    axes : str, optional
        Axes of the array after reversal into ``...ZYX`` order; by default those
        stored by synthscope, else ``"YX"``, ``"ZYX"``, ``"TZYX"`` by dimension.
    """
    try:
        nifti = nibabel.load(path)
        data = np.array(nifti.dataobj).transpose()
        header = nifti.header
    except Exception as error:  # nibabel raises many types for damaged files
        raise InputError(f"{path}: not a readable NIfTI file ({error})") from None
    stored = _stored(header)
    if stored is None:
        stored = {"axes": _DEFAULT_AXES.get(data.ndim, ""), "spacing": _header_spacing(header, data.ndim)}
    axes = check_axes(stored["axes"] if axes is None else axes, data.ndim, name=str(path))
    return ImageData(data, axes, {k: v for k, v in stored["spacing"].items() if k in axes})


def _stored(header):
    for extension in getattr(header, "extensions", []):
        if extension.get_code() == _COMMENT:
            try:
                stored = json.loads(extension.get_content())
            except ValueError:
                continue
            if isinstance(stored, dict) and "axes" in stored:
                return stored
    return None


def _header_spacing(header, ndim):
    space_unit, time_unit = header.get_xyzt_units()
    zooms = header.get_zooms()
    axes = _DEFAULT_AXES.get(ndim, "")[::-1]
    spacing = {}
    for letter, zoom in zip(axes, zooms):
        unit = time_unit if letter == "T" else space_unit
        if letter != "C" and unit in _FACTORS:
            spacing[letter] = float(zoom) * _FACTORS[unit]
    return spacing
