"""Items as napari layer data, and back: the one translation the reader, the writer, the samples and the widget share.

A layer's data is an item's array; several items of one shape are stacked along a leading
axis (a slider named ``item`` in the viewer). The layer's ``scale`` is the item's spacing
(micrometres; 1 where unknown), and its ``metadata["synthscope"]`` holds the item axes, so
that the writer knows a stack of 2D items from a volume.
"""

from collections.abc import Sequence

import numpy as np

from synthscope.errors import InputError
from synthscope.item import Item

#: napari layer data: ``(data, kwargs, layer_type)``.
LayerData = tuple[np.ndarray, dict, str]


def item_layers(items: Sequence[Item], *, name: str = "") -> list[LayerData]:
    """Return the layers of `items`: image, sketch, labels, classes and named masks.

    Parameters
    ----------
    items : sequence of Item
        One item, or several of the same shape, stacked along a new leading axis.
    name : str, optional
        Put before every layer name, e.g. ``"nuclei-2d image"``.

    Returns
    -------
    list of (ndarray, dict, str)
        The refined image (or the sketch when there is none), the sketch (hidden) when
        there is a refined image, the instance labels, the classes and every mask
        (hidden), each with ``name``, ``scale``, ``axis_labels`` and ``metadata``;
        multi-channel pictures carry ``channel_axis``.

    Raises
    ------
    InputError
        If there is no item, or the items differ in shape or axes.

    Examples
    --------
    >>> labels = np.zeros((4, 6), np.uint16)
    >>> item = Item(labels=labels, axes="YX", sketch=np.zeros((4, 6), np.float32), spacing={"Y": 0.5, "X": 0.5})
    >>> [(kw["name"], data.shape, kw["scale"], kind) for data, kw, kind in item_layers([item, item], name="set")]
    [('set sketch', (2, 4, 6), (1.0, 0.5, 0.5), 'image'), ('set labels', (2, 4, 6), (1.0, 0.5, 0.5), 'labels')]
    """
    if not items:
        raise InputError("no item to show")
    first = items[0]
    if any(item.axes != first.axes or item.labels.shape != first.labels.shape for item in items):
        raise InputError("the items differ in shape or axes; show them one at a time")
    prefix = f"{name} " if name else ""
    stacked = len(items) > 1
    scale = (1.0,) * stacked + tuple(float(first.spacing.get(axis, 1.0)) for axis in first.axes)
    axis_labels = ("item",) * stacked + tuple(first.axes.lower())
    metadata = {"synthscope": {"axes": first.axes, "stacked": stacked}}

    def layer(arrays, what, kind, **kwargs):
        data = np.stack(arrays) if stacked else arrays[0]
        common = {"name": prefix + what, "scale": scale, "axis_labels": axis_labels, "metadata": metadata}
        return data, {**common, **kwargs}, kind

    layers = []
    if first.picture is not None:
        channels = {"channel_axis": int(stacked)} if first.image_axes.startswith("C") else {}
        picture = "image" if first.image is not None else "sketch"
        layers.append(layer([item.picture for item in items], picture, "image", **channels))
        if first.image is not None and first.sketch is not None:
            layers.append(layer([item.sketch for item in items], "sketch", "image", visible=False, **channels))
    layers.append(layer([item.labels for item in items], "labels", "labels"))
    if first.classes is not None:
        layers.append(layer([item.classes for item in items], "classes", "labels", visible=False))
    for mask in first.masks:
        arrays = [np.asarray(item.masks[mask]) for item in items]
        arrays = [a.astype(np.uint8) if a.dtype == bool else a for a in arrays]  # napari labels are integers
        layers.append(layer(arrays, mask, "labels", visible=False))
    return layers


def layers_items(image: LayerData | None, labels: LayerData) -> list[Item]:
    """Return the items that an image layer and a labels layer hold (the inverse of `item_layers`).

    The axes come from the layers' ``metadata["synthscope"]`` when `item_layers` made
    them (a stack of items is split again), else from the number of dimensions of the
    labels (``"YX"`` or ``"ZYX"``); the spacing from the scale (axes of scale 1 have none).
    The image is kept as it is; the data set writer checks its values.

    Examples
    --------
    >>> labels = np.ones((2, 4, 6), np.uint16)
    >>> meta = {"scale": (1.0, 0.5, 0.5), "metadata": {"synthscope": {"axes": "YX", "stacked": True}}}
    >>> items = layers_items((labels / 2.0, meta, "image"), (labels, meta, "labels"))
    >>> len(items), items[0].axes, items[0].spacing, items[0].image.shape
    (2, 'YX', {'Y': 0.5, 'X': 0.5}, (4, 6))
    """
    data, meta, _ = labels
    data = np.asarray(data)
    known = meta.get("metadata", {}).get("synthscope", {})
    axes = known.get("axes") or {2: "YX", 3: "ZYX"}.get(data.ndim)
    if axes is None:
        raise InputError(f"labels layer {meta.get('name', '')!r}: {data.ndim} dimensions; expected 2 (YX) or 3 (ZYX)")
    stacked = bool(known.get("stacked"))
    scale = tuple(meta.get("scale") or (1.0,) * data.ndim)[-len(axes) :]
    spacing = {axis: float(s) for axis, s in zip(axes, scale) if s != 1.0}
    pictures = [None] * len(data) if stacked else [None]
    if image is not None:
        picture = np.asarray(image[0])
        if picture.shape != data.shape:
            raise InputError(f"image layer {image[1].get('name', '')!r}: shape {picture.shape}, labels {data.shape}")
        pictures = list(picture) if stacked else [picture]
    label_arrays = list(data) if stacked else [data]
    return [Item(labels=lab, axes=axes, image=pic, spacing=spacing) for lab, pic in zip(label_arrays, pictures)]
