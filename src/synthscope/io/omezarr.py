"""OME-Zarr (NGFF 0.5 on Zarr v3): one resolution level, labels under ``labels/``.

The multiscales metadata is written here rather than by ``ome-zarr``, which would
add dask and fsspec for a few lines of JSON. NGFF orders axes time, channel, space,
so axes such as ``"YXC"`` are refused rather than silently reordered. An axis has a
physical size when its metadata names a unit; axes without a known size are written
with scale 1 and no unit.
"""

import numpy as np
import zarr

from synthscope.axes import check_axes
from synthscope.errors import InputError
from synthscope.io._atomic import atomic_path
from synthscope.io.image import ImageData

_VERSION = "0.5"
_TYPES = {"T": "time", "C": "channel", "Z": "space", "Y": "space", "X": "space"}
_UNITS = {"time": "second", "space": "micrometer"}
# Factors from NGFF units to micrometres and seconds.
_FACTORS = {"micrometer": 1.0, "nanometer": 1e-3, "millimeter": 1e3, "meter": 1e6, "second": 1.0, "millisecond": 1e-3}


def write_omezarr(path, image, *, labels=None):
    """Write an `ImageData` as an OME-Zarr image, with optional label images.

    Parameters
    ----------
    path : path-like
        The ``.zarr`` folder; an existing one is replaced as a whole.
    image : ImageData
        Axes in NGFF order: a subsequence of ``"TCZYX"``.
    labels : dict of str to ndarray, optional
        Label images laid out like `image` without its ``"C"`` axis, stored as
        ``labels/{name}``.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.zarr"
    >>> cells = np.array([[0, 1], [2, 2]], np.uint16)
    >>> write_omezarr(path, ImageData(np.ones((3, 2, 2), np.float32), "CYX"), labels={"cells": cells})
    >>> read_omezarr(path, label="cells").axes
    'YX'
    """
    if "".join(a for a in "TCZYX" if a in image.axes) != image.axes:
        raise InputError(f"{path}: OME-Zarr stores axes in the order TCZYX; got {image.axes!r}")
    label_axes = image.axes.replace("C", "")
    label_shape = tuple(n for a, n in zip(image.axes, np.shape(image.data), strict=True) if a != "C")
    for name, label in (labels or {}).items():
        if np.shape(label) != label_shape:
            raise InputError(f"{path}: label image {name!r} has shape {np.shape(label)}, expected {label_shape}")
    with atomic_path(path) as tmp:
        root = zarr.open_group(tmp, mode="w", zarr_format=3)
        _write_multiscale(root, image)
        if labels:
            group = root.create_group("labels")
            group.attrs["ome"] = {"version": _VERSION, "labels": list(labels)}
            spacing = {k: v for k, v in image.spacing.items() if k in label_axes}
            for name, label in labels.items():
                _write_multiscale(group.create_group(name), ImageData(label, label_axes, spacing), label=True)


def read_omezarr(path, *, axes=None, label=None):
    """Read the full-resolution level of an OME-Zarr image (or of one of its labels).

    Parameters
    ----------
    path : path-like
    axes : str, optional
        By default the axes named in the multiscales metadata.
    label : str, optional
        Read ``labels/{label}`` instead of the image.
    """
    try:
        group = zarr.open_group(path, mode="r")
        if label is not None:
            group = group["labels"][label]
        multiscale = group.attrs["ome"]["multiscales"][0]
        level = multiscale["datasets"][0]
        data = group[level["path"]][...]
    except KeyError as error:
        raise InputError(f"{path}: not an OME-Zarr image with {error.args[0]!r}") from None
    except Exception as error:  # zarr raises many types for damaged stores
        raise InputError(f"{path}: not a readable OME-Zarr store ({error})") from None
    file_axes = "".join(axis["name"].upper() for axis in multiscale["axes"])
    scale = next((t["scale"] for t in level.get("coordinateTransformations", []) if t["type"] == "scale"), None)
    units = [axis.get("unit") for axis in multiscale["axes"]]
    spacing = {a: float(s) * _FACTORS[u] for a, s, u in zip(file_axes, scale or [], units) if u in _FACTORS}
    axes = check_axes(file_axes if axes is None else axes, data.ndim, name=str(path))
    return ImageData(data, axes, {k: v for k, v in spacing.items() if k in axes})


def omezarr_label_names(path):
    """Return the names of the label images of an OME-Zarr image (``labels/``), in stored order.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.zarr"
    >>> write_omezarr(path, ImageData(np.ones((2, 2), np.float32), "YX"), labels={"cells": np.ones((2, 2), np.uint16)})
    >>> omezarr_label_names(path)
    ['cells']
    """
    try:
        group = zarr.open_group(path, mode="r")
    except Exception as error:  # zarr raises many types for damaged stores
        raise InputError(f"{path}: not a readable OME-Zarr store ({error})") from None
    if "labels" not in group:
        return []
    return list(group["labels"].attrs.get("ome", {}).get("labels", []))


def _write_multiscale(group, image, *, label=False):
    data = np.asarray(image.data)
    group.create_array("0", shape=data.shape, dtype=data.dtype, chunks=data.shape or None)[...] = data
    axes = []
    for letter in image.axes:
        axis = {"name": letter.lower(), "type": _TYPES[letter]}
        if letter in image.spacing:
            axis["unit"] = _UNITS[axis["type"]]
        axes.append(axis)
    scale = [image.spacing.get(letter, 1.0) for letter in image.axes]
    datasets = [{"path": "0", "coordinateTransformations": [{"type": "scale", "scale": scale}]}]
    metadata = {"version": _VERSION, "multiscales": [{"axes": axes, "datasets": datasets}]}
    if label:
        metadata["image-label"] = {"version": _VERSION}
    group.attrs["ome"] = metadata
