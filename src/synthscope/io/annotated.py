"""Read annotated images a user already has: image and instance-label pairs in common layouts."""

import os
from pathlib import Path

import numpy as np

from synthscope.errors import InputError
from synthscope.io.formats import FORMATS, read_image
from synthscope.io.image import ImageData

SUFFIXES = tuple(FORMATS)
LABEL_FOLDERS = ("labels", "masks")


def read_annotated(path: str | os.PathLike, *, axes: str | None = None) -> list[tuple[str, ImageData, np.ndarray]]:
    """Return the ``(name, image, labels)`` triples of an annotated folder, sorted by name.

    Three layouts are understood:

    - a synthscope data set (``dataset.json``): each item's image, or its sketch when
      it has no refined image, with its labels;
    - ``images/`` beside ``labels/`` or ``masks/`` (StarDist), files paired by name;
    - one folder of ``NAME.tif`` and ``NAME_masks.tif`` (Cellpose), any format of
      `SUFFIXES`.

    Parameters
    ----------
    path : str or path
    axes : str, optional
        Axes of every image and label file (see `synthscope.io.read_image`); by default
        read from each file.

    Returns
    -------
    pairs : list of (str, ImageData, ndarray)
        The image keeps its dtype (no rescaling) with its axes and spacing; the labels
        are the label file's array.

    Raises
    ------
    InputError
        When `path` is none of the layouts, holds no pair, an image has no labels, or a
        label image is not integer or differs in shape from its image.

    Examples
    --------
    >>> import tempfile
    >>> from synthscope.io import write_image
    >>> folder = Path(tempfile.mkdtemp())
    >>> write_image(folder / "a.tif", np.zeros((8, 8), np.float32), axes="YX")
    >>> write_image(folder / "a_masks.tif", np.ones((8, 8), np.uint16), axes="YX")
    >>> [(name, image.axes, int(labels.max())) for name, image, labels in read_annotated(folder)]
    [('a', 'YX', 1)]
    """
    path = Path(path)
    if not path.is_dir():
        raise InputError(f"{path}: not a folder of annotated images")
    if (path / "dataset.json").is_file():
        return _dataset_pairs(path)
    label_folder = next((path / n for n in LABEL_FOLDERS if (path / n).is_dir()), None)
    if (path / "images").is_dir() and label_folder is not None:
        images = _by_stem(path / "images")
        labels = _by_stem(label_folder)
    else:
        files = _by_stem(path)
        labels = {stem[: -len("_masks")]: f for stem, f in files.items() if stem.endswith("_masks")}
        images = {stem: f for stem, f in files.items() if not stem.endswith("_masks")}
    if not images:
        raise InputError(
            f"{path}: no images found; use images/ + labels/ (or masks/), NAME + NAME_masks "
            "files, or a synthscope data set"
        )
    missing = sorted(set(images) - set(labels))
    if missing:
        raise InputError(f"{path}: no label image for {', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''}")
    return [_pair(name, images[name], labels[name], axes=axes) for name in sorted(images)]


def read_images(path: str | os.PathLike, *, axes: str | None = None) -> list[tuple[str, ImageData]]:
    """Return the ``(name, image)`` pairs of one image file or of a folder of them, sorted by name.

    Files named ``NAME_masks`` (Cellpose's labels) are left out of a folder.

    Parameters
    ----------
    path : str or path
        An image file of any format of `SUFFIXES`, or a folder of them.
    axes : str, optional
        Axes of every file (see `synthscope.io.read_image`); by default read from each file.

    Returns
    -------
    list of (str, ImageData)
        Each image as read (dtype kept, no rescaling), named by its file's stem.

    Raises
    ------
    InputError
        When `path` does not exist or a folder holds no image.

    Examples
    --------
    >>> import tempfile
    >>> from synthscope.io import write_image
    >>> folder = Path(tempfile.mkdtemp())
    >>> write_image(folder / "b.tif", np.zeros((8, 8), np.float32), axes="YX")
    >>> write_image(folder / "a.png", np.zeros((8, 8), np.uint8), axes="YX")
    >>> [(name, image.axes) for name, image in read_images(folder)]
    [('a', 'YX'), ('b', 'YX')]
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if path.is_dir() and path.suffix != ".zarr":  # an OME-Zarr image is a folder too
        files = {stem: f for stem, f in _by_stem(path).items() if not stem.endswith("_masks")}
        if not files:
            raise InputError(f"{path}: no images ({', '.join(SUFFIXES)})")
        return [(stem, read_image(files[stem], axes=axes)) for stem in sorted(files)]
    name = next((path.name[: -len(s)] for s in SUFFIXES if path.name.lower().endswith(s)), path.stem)
    return [(name, read_image(path, axes=axes))]


def _by_stem(folder):
    return {
        p.name[: -len(s)]: p
        for p in sorted(folder.iterdir())
        for s in SUFFIXES
        if p.name.lower().endswith(s) and not p.name.startswith(".")
    }


def _pair(name, image_file, label_file, *, axes):
    image, labels = read_image(image_file, axes=axes), read_image(label_file, axes=axes).data
    if not np.issubdtype(labels.dtype, np.integer):
        raise InputError(f"{label_file}: labels must be integers, got {labels.dtype}")
    if labels.shape != image.data.shape:
        raise InputError(f"{label_file}: shape {labels.shape} differs from its image {image.data.shape}")
    return name, image, labels


def _dataset_pairs(path):
    from synthscope.io.dataset import read_dataset

    dataset = read_dataset(path)
    if not dataset.ids:
        raise InputError(f"{path}: the data set has no complete item")
    return [
        (id_, ImageData(item.picture, item.axes, dict(item.spacing or {})), item.labels)
        for id_, item in zip(dataset.ids, dataset)
    ]
