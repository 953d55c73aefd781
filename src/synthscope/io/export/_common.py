"""What every exporter needs: all-or-nothing output, checked items, and the items cut into frames."""

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from synthscope.checks import check_finite
from synthscope.errors import InputError
from synthscope.io._atomic import atomic_path
from synthscope.io._checks import check_layout
from synthscope.io.dataset import read_dataset


@dataclass
class Frame:
    """One picture with its labels, as most segmentation tools want them.

    Attributes
    ----------
    name : str
        The item id, with ``_t{t:03d}`` for frames of time-lapse items.
    image : ndarray
        The refined image, or the sketch where the data set has no refined one.
    image_axes : str
        Axes of `image`: `axes`, with ``"C"`` in front for multi-channel items.
    labels : ndarray of uint16 or uint32
    axes : str
        Axes of `labels` (``"YX"`` or ``"ZYX"``).
    spacing : dict of str to float
    """

    name: str
    image: np.ndarray
    image_axes: str
    labels: np.ndarray
    axes: str
    spacing: dict


def all_or_nothing(exporter):
    """Make ``exporter(dataset_root, out, **options)`` write into a temporary folder renamed to `out` at the end.

    `out` must be new or an empty folder. An export that fails (bad input, a full disk)
    leaves `out` as it was, so the same export runs again once the cause is fixed. The
    decorated exporter returns `out` as a `Path`.
    """

    @functools.wraps(exporter)
    def export(dataset_root, out, **options):
        out = Path(out)
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise InputError(f"{out}: exists and is not an empty folder; export into a new folder")
        with atomic_path(out) as folder:
            exporter(dataset_root, folder, **options)
        return out

    return export


def open_export(dataset_root, out):
    """Return the data set at `dataset_root`, every item checked, and the folder `out`, created.

    Raises
    ------
    InputError
        Before `out` is made: if `dataset_root` is not a data set, or an item's file
        cannot be read, its image holds NaN or infinite values, or its image and labels
        differ in shape.
    """
    dataset = read_dataset(dataset_root)
    for id_ in dataset.ids:
        _check_item(dataset, id_)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    return dataset, out


def _check_item(dataset, id_):
    """Raise `InputError` naming the file if item `id_` of `dataset` cannot be exported."""
    item = dataset.load(id_)  # a missing or corrupt file raises here, naming it
    picture = pictured(item, name=f"{dataset.root}/items/{id_}")
    name = str(dataset.root / dataset.record(id_)["files"]["image" if item.image is not None else "sketch"])
    check_layout(picture, item.labels, name=name, what="image")
    check_finite(picture, name)


def pictured(item, *, name):
    """Return the refined image of `item`, or its sketch where it has none."""
    if item.picture is None:
        raise InputError(f"{name}: item has neither an image nor a sketch to export")
    return item.picture


def frames(dataset):
    """Yield every item of `dataset` as `Frame` objects, one per time point.

    Examples
    --------
    >>> import numpy as np, tempfile
    >>> from synthscope.io import DatasetWriter
    >>> from synthscope.item import Item
    >>> writer = DatasetWriter(tempfile.mkdtemp(), info={})
    >>> writer.write(0, Item(np.ones((2, 4, 4), np.uint16), "TYX", sketch=np.zeros((2, 4, 4), np.float32)), record={})
    >>> [(f.name, f.axes) for f in frames(read_dataset(writer.root))]
    [('00000_t000', 'YX'), ('00000_t001', 'YX')]
    """
    for id_, item in zip(dataset.ids, dataset):
        image = pictured(item, name=f"{dataset.root}/items/{id_}")
        spacing = {k: v for k, v in item.spacing.items() if k != "T"}
        if "T" not in item.axes:
            yield Frame(id_, image, item.image_axes, item.labels, item.axes, spacing)
            continue
        label_t, image_t = item.axes.index("T"), item.image_axes.index("T")
        axes, image_axes = item.axes.replace("T", ""), item.image_axes.replace("T", "")
        for t in range(item.labels.shape[label_t]):
            labels, frame = np.take(item.labels, t, axis=label_t), np.take(image, t, axis=image_t)
            yield Frame(f"{id_}_t{t:03d}", frame, image_axes, labels, axes, spacing)
