"""The napari writer: an image layer and a labels layer saved as a synthscope data set.

Layers that came from a data set (or the Generate widget) as a stack of items are saved as
that many items again; any other pair as one item, 2D (``YX``) or 3D (``ZYX``).
"""

import warnings

import numpy as np

import synthscope
from synthscope.errors import InputError
from synthscope.intensity import percentile_normalize
from synthscope.io import DatasetWriter
from synthscope.napari.layers import LayerData, layers_items


def write_dataset(path: str, layer_data: list[LayerData]) -> list[str]:
    """Save one labels layer, with an image layer if one is given, as the data set folder `path`.

    The data set layout holds images as floats in [0, 1]: an image layer in another range
    (a raw microscopy image) is mapped to it by its minimum and maximum, with a warning,
    and the mapping is recorded in every item's metadata (``"normalisation"``).

    Parameters
    ----------
    path : str
        A new data set folder (or one this writer wrote from the same layers, to complete).
    layer_data : list of (data, kwargs, layer_type)
        At most one ``"image"`` layer and exactly one ``"labels"`` layer, as napari passes them.

    Returns
    -------
    list of str
        ``[path]``.

    Examples
    --------
    >>> import tempfile
    >>> from synthscope.io import read_dataset
    >>> labels = np.zeros((8, 8), np.uint16)
    >>> labels[2:5, 2:6] = 1
    >>> raw = (labels * 300.0, {"name": "raw"}, "image")
    >>> with warnings.catch_warnings(record=True):
    ...     [out] = write_dataset(tempfile.mkdtemp() + "/set", [raw, (labels, {"name": "cells"}, "labels")])
    >>> item = read_dataset(out).load(0)
    >>> float(item.image.max()), item.metadata["normalisation"]
    (1.0, {'high': 300.0, 'low': 0.0})
    """
    images = [layer for layer in layer_data if layer[2] == "image"]
    labels = [layer for layer in layer_data if layer[2] == "labels"]
    if len(labels) != 1 or len(images) > 1:
        raise InputError("save one labels layer, and at most one image layer, as a synthscope data set")
    image, metadata = (None, {})
    if images:
        image, metadata = _in_unit_range(*images[0])
    items = layers_items(image, labels[0])
    names = [layer[1].get("name", "") for layer in (*images, *labels)]
    writer = DatasetWriter(
        path, info={"generator": "synthscope.napari", "layers": names, "version": synthscope.__version__}
    )
    for index, item in enumerate(items):
        item.metadata.update(metadata)
        writer.write(index, item, record={})
    return [str(writer.root)]


def _in_unit_range(data, kwargs, kind):
    """The image layer with float32 values in [0, 1], and the metadata that records any mapping."""
    data = np.asarray(data)
    if data.dtype.kind == "f" and data.size and np.isfinite(data).all() and 0 <= data.min() and data.max() <= 1:
        return (data.astype(np.float32, copy=False), kwargs, kind), {}
    low, high = float(data.min()), float(data.max())
    warnings.warn(
        f"image layer {kwargs.get('name', '')!r}: values in [{low:g}, {high:g}] mapped to [0, 1] for the data set",
        stacklevel=2,
    )
    return (percentile_normalize(data, 0, 100), kwargs, kind), {"normalisation": {"low": low, "high": high}}
