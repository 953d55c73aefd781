"""The napari reader: a synthscope data set (or one of its items) and OME-Zarr images.

A data set folder opens as the layers of all its items stacked (`synthscope.napari.layers`);
``DIR/items/ID.json`` opens one item; a ``.zarr`` folder opens its image and its label images,
scaled by the physical pixel size the file records.
"""

import os
from pathlib import Path

from synthscope.errors import InputError
from synthscope.io import read_dataset, read_image
from synthscope.io.omezarr import omezarr_label_names, read_omezarr
from synthscope.napari.layers import LayerData, item_layers


def get_reader(path: str | os.PathLike | list):
    """Return the function that reads `path` into layers, or None when it is nothing synthscope reads.

    Examples
    --------
    >>> get_reader("photo.jpg") is None
    True
    """
    if isinstance(path, list) and len(path) != 1:
        return None
    path = _one(path)
    if (path / "dataset.json").is_file():
        return read_dataset_layers
    if path.suffix == ".json" and path.parent.name == "items" and (path.parent.parent / "dataset.json").is_file():
        return read_item_layers
    if path.suffix == ".zarr" and path.is_dir():
        return read_omezarr_layers
    return None


def read_dataset_layers(path) -> list[LayerData]:
    """Return the layers of every item of the data set in `path`, stacked (items of one shape)."""
    path = _one(path)
    dataset = read_dataset(path)
    if not dataset.ids:
        raise InputError(f"{path}: holds no complete item")
    return item_layers(list(dataset), name=path.name)


def read_item_layers(path) -> list[LayerData]:
    """Return the layers of the one item whose record is `path` (``DIR/items/ID.json``)."""
    path = _one(path)
    item = read_dataset(path.parent.parent).load(path.stem)
    return item_layers([item], name=f"{path.parent.parent.name} {path.stem}")


def read_omezarr_layers(path) -> list[LayerData]:
    """Return the image of the OME-Zarr store `path` and its label images as layers."""
    path = _one(path)
    image = read_image(path)
    layers = [(image.data, _kwargs(image, name=path.stem), "image")]
    for label in omezarr_label_names(path):
        labels = read_omezarr(path, label=label)
        layers.append((labels.data, _kwargs(labels, name=label), "labels"))
    return layers


def _kwargs(image, *, name):
    kwargs = {"name": name, "scale": tuple(image.spacing.get(a, 1.0) for a in image.axes if a != "C")}
    if "C" in image.axes:
        kwargs["channel_axis"] = image.axes.index("C")
    return kwargs


def _one(path):
    """napari passes one path, or a list of one."""
    return Path(path[0] if isinstance(path, list) else path)
