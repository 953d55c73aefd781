"""OME-TIFF via tifffile: axes in the OME-XML, physical pixel size, no timestamps."""

import contextlib
import hashlib
import logging
import uuid
import xml.etree.ElementTree as ElementTree

import numpy as np
import tifffile

from synthscope.axes import check_axes
from synthscope.errors import InputError
from synthscope.io._atomic import atomic_path
from synthscope.io.image import ImageData

# OME-XML sizes per axis letter; "T" is a time step.
_SIZE_KEYS = {"X": "PhysicalSizeX", "Y": "PhysicalSizeY", "Z": "PhysicalSizeZ", "T": "TimeIncrement"}
# Factors from OME length and time units to micrometres and seconds.
_UNITS = {
    "µm": 1.0,
    "um": 1.0,
    "nm": 1e-3,
    "mm": 1e3,
    "cm": 1e4,
    "m": 1e6,
    "s": 1.0,
    "ms": 1e-3,
    "min": 60.0,
    "h": 3600.0,
}


def write_tiff(path, image):
    """Write an `ImageData` to `path` as OME-TIFF, byte for byte the same every time.

    Parameters
    ----------
    path : path-like
    image : ImageData
        Axes ending in ``"YX"``, or ``"YXC"`` whose channels are stored as TIFF
        samples; other channel positions are stored as OME planes.

    Notes
    -----
    The OME UUID is derived from the pixel values and no date is written, so equal
    inputs give equal files. Pixels are deflate-compressed (lossless).

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.tif"
    >>> write_tiff(path, ImageData(np.ones((2, 3, 4), np.uint16), "ZYX", {"Z": 2.0}))
    >>> read_tiff(path).spacing
    {'Z': 2.0}
    """
    data, axes = np.asarray(image.data), image.axes
    samples = axes.endswith("YXC")
    if not (samples or axes.endswith("YX")):
        raise InputError(f"{path}: OME-TIFF needs axes ending in 'YX' or 'YXC', got {axes!r}")
    digest = hashlib.sha256(repr((data.dtype.str, data.shape, axes)).encode())
    digest.update(np.ascontiguousarray(data).data)
    metadata = {
        "axes": axes[:-1] + "S" if samples else axes,
        "UUID": f"urn:uuid:{uuid.UUID(bytes=digest.digest()[:16], version=5)}",
    }
    for letter, size in image.spacing.items():
        metadata[_SIZE_KEYS[letter]] = size
        metadata[_SIZE_KEYS[letter] + "Unit"] = "s" if letter == "T" else "µm"
    with atomic_path(path) as tmp:
        tifffile.imwrite(
            tmp,
            data,
            ome=True,
            metadata=metadata,
            photometric="minisblack",
            planarconfig="contig" if samples else None,
            compression="zlib",
        )


def read_tiff(path, *, axes=None):
    """Read a TIFF file (OME or not) into an `ImageData`.

    Parameters
    ----------
    path : path-like
    axes : str, optional
        Axes of the first series; by default taken from the file (``"S"`` samples
        become ``"C"``). Needed for files whose axes tifffile cannot name.

    Returns
    -------
    ImageData
        Spacing is read from the OME-XML; plain TIFF files give no spacing.
    """
    try:
        with _silenced(logging.getLogger("tifffile")), tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            data = series.asarray()
            file_axes = series.axes.replace("S", "C")
            spacing = _ome_spacing(tif.ome_metadata, path) if tif.is_ome else {}
    except InputError:
        raise
    except Exception as error:  # tifffile raises many types for damaged files
        raise InputError(f"{path}: not a readable TIFF file ({error})") from None
    if axes is None:
        if set(file_axes) - set("TCZYX"):
            raise InputError(
                f"{path}: the file names its axes {series.axes!r}; say what they are with --axes "
                "(axes= in Python), e.g. --axes ZYX"
            )
        axes = file_axes
    check_axes(axes, data.ndim, name=str(path))
    return ImageData(data, axes, {k: v for k, v in spacing.items() if k in axes})


@contextlib.contextmanager
def _silenced(logger):
    """Hold back `logger`'s messages: what tifffile logs about a damaged file ends in one `InputError`."""
    disabled, logger.disabled = logger.disabled, True
    try:
        yield
    finally:
        logger.disabled = disabled


def _ome_spacing(xml, path):
    pixels = next(e for e in ElementTree.fromstring(xml).iter() if e.tag.endswith("Pixels"))
    spacing = {}
    for letter, key in _SIZE_KEYS.items():
        if key in pixels.attrib:
            unit = pixels.attrib.get(key + "Unit", "s" if letter == "T" else "µm")
            if unit not in _UNITS:
                raise InputError(f"{path}: unknown unit {unit!r} of {key}")
            spacing[letter] = float(pixels.attrib[key]) * _UNITS[unit]
    return spacing
