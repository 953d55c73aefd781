"""Export to the Cell Tracking Challenge layout.

Item k of the data set becomes sequence ``{k+1:02d}``::

    01/t000.tif                    the image of each frame
    01_GT/SEG/man_seg000.tif       the instance labels of each frame
    01_GT/TRA/man_track000.tif     the same labels, ids following the tracks
    01_GT/TRA/man_track.txt        one line "L B E P" per track

An item without a ``"T"`` axis is a sequence of one frame whose every object is a
track of its own (``L 0 0 0``), so 2D and 3D data sets export the same way.
"""

import numpy as np

from synthscope.io._atomic import write_text
from synthscope.io.ctc_check import check_tracks
from synthscope.io.export._common import all_or_nothing, open_export, pictured
from synthscope.io.image import ImageData
from synthscope.io.tiff import write_tiff


@all_or_nothing
def to_ctc(dataset_root, out):
    """Write every item of a data set as a Cell Tracking Challenge sequence.

    Images keep their dtype and values. Tracks come from the item's ``tracks``; an
    item without them gets one track per label id, from its first to its last frame
    and without a parent. An item whose labels and tracks break the Cell Tracking
    Challenge invariants (`synthscope.io.ctc_check.check_tracks`) is refused with one
    `InputError` line, and the export leaves `out` as it was.

    Parameters
    ----------
    dataset_root : path-like
        A data set written by `synthscope.io.DatasetWriter`.
    out : path-like
        A new or empty folder.

    Returns
    -------
    out : Path
    """
    dataset, out = open_export(dataset_root, out)
    for number, (id_, item) in enumerate(zip(dataset.ids, dataset), start=1):
        name = f"{dataset.root}/items/{id_}"
        image, labels = pictured(item, name=name), item.labels
        image_axes, axes = item.image_axes, item.axes
        if "T" not in axes:
            image, labels = image[np.newaxis], labels[np.newaxis]
            image_axes, axes = "T" + image_axes, "T" + axes
        tracks = item.tracks if item.tracks is not None else _tracks_from_labels(labels)
        check_tracks(labels, tracks, axes=axes, name=name)
        image = np.moveaxis(image, image_axes.index("T"), 0)
        image_axes = image_axes.replace("T", "")
        axes = axes.replace("T", "")
        spacing = {k: v for k, v in item.spacing.items() if k != "T"}
        sequence = out / f"{number:02d}"
        truth = out / f"{number:02d}_GT"
        width = max(3, len(str(len(labels) - 1)))
        for t, (frame, frame_labels) in enumerate(zip(image, labels, strict=True)):
            write_tiff(sequence / f"t{t:0{width}d}.tif", ImageData(frame, image_axes, spacing))
            write_tiff(truth / "SEG" / f"man_seg{t:0{width}d}.tif", ImageData(frame_labels, axes, spacing))
            write_tiff(truth / "TRA" / f"man_track{t:0{width}d}.tif", ImageData(frame_labels, axes, spacing))
        write_text(
            truth / "TRA" / "man_track.txt", "".join(" ".join(map(str, row)) + "\n" for row in np.asarray(tracks))
        )
    return out


def _tracks_from_labels(labels):
    """Return one row ``L B E 0`` per label id of a (T, ...) label array."""
    rows = []
    present = [np.unique(frame) for frame in labels]
    for label in np.unique(labels[labels > 0]):
        times = [t for t, ids in enumerate(present) if label in ids]
        rows.append((int(label), times[0], times[-1], 0))
    return np.array(rows, np.int64).reshape(-1, 4)
