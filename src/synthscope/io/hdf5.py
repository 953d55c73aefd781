"""HDF5 via h5py: one data set per image, axes and spacing as its attributes.

An image is stored as the data set ``data/image`` by default, the group
CellDiffusion's loaders read; `write_celldiffusion` adds its mask groups.
"""

import json

import h5py
import numpy as np

from synthscope.axes import check_axes
from synthscope.errors import InputError
from synthscope.io._atomic import atomic_path
from synthscope.io.image import ImageData

IMAGE_KEY = "data/image"
CELLDIFFUSION_MASKS = ("instances", "boundary", "distance", "seeds")


def write_hdf5(path, image, *, key=IMAGE_KEY):
    """Write an `ImageData` to the data set `key` of a new HDF5 file at `path`.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.h5"
    >>> write_hdf5(path, ImageData(np.zeros((2, 3, 4), np.float32), "CYX"))
    >>> read_hdf5(path).axes
    'CYX'
    """
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as file:
        _add(file, key, image)


def read_hdf5(path, *, axes=None, key=IMAGE_KEY):
    """Read the data set `key` of an HDF5 file into an `ImageData`.

    Parameters
    ----------
    path : path-like
    axes : str, optional
        By default the ``axes`` attribute of the data set.
    key : str, optional
        Path of the data set inside the file.
    """
    try:
        with h5py.File(path, "r") as file:
            if key not in file or not isinstance(file[key], h5py.Dataset):
                raise InputError(f"{path}: has no data set {key!r}")
            dataset = file[key]
            data = dataset[()]
            stored_axes = dataset.attrs.get("axes")
            spacing = json.loads(dataset.attrs.get("spacing", "{}"))
    except InputError:
        raise
    except OSError as error:
        raise InputError(f"{path}: not a readable HDF5 file ({error})") from None
    if axes is None:
        if stored_axes is None:
            raise InputError(f"{path}: data set {key!r} has no 'axes' attribute; pass axes=")
        axes = str(stored_axes)
    check_axes(axes, data.ndim, name=f"{path}:{key}")
    return ImageData(data, axes, {k: v for k, v in spacing.items() if k in axes})


def write_celldiffusion(path, image, *, instances, boundary, distance, seeds):
    """Write one sample in the layout CellDiffusion's HDF5 loaders read.

    Parameters
    ----------
    path : path-like
    image : ImageData
        Stored as ``data/image``.
    instances, boundary, distance, seeds : ndarray
        Laid out like the spatial part of `image`; stored as ``data/instances``,
        ``data/boundary``, ``data/distance`` and ``data/seeds`` with the image's
        axes (less ``"C"``) and spacing.
    """
    mask_axes = image.axes.replace("C", "")
    mask_spacing = {k: v for k, v in image.spacing.items() if k in mask_axes}
    masks = {"instances": instances, "boundary": boundary, "distance": distance, "seeds": seeds}
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as file:
        _add(file, IMAGE_KEY, image)
        for name, mask in masks.items():
            _add(file, f"data/{name}", ImageData(mask, mask_axes, mask_spacing))


def _add(file, key, image):
    data = np.asarray(image.data)
    # Without modification times the file is the same byte for byte on every run.
    dataset = file.create_dataset(key, data=data, compression="gzip", track_times=False)
    dataset.attrs["axes"] = image.axes
    dataset.attrs["spacing"] = json.dumps(image.spacing, sort_keys=True)
