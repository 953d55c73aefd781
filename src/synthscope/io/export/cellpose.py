"""Export to Cellpose's training layout: ``NAME_img.tif`` next to ``NAME_masks.tif``."""

from synthscope.io.export._common import all_or_nothing, frames, open_export
from synthscope.io.image import ImageData
from synthscope.io.tiff import write_tiff


@all_or_nothing
def to_cellpose(dataset_root, out):
    """Write every item of a data set as a Cellpose training pair.

    Images keep their dtype and values (float32 in [0, 1] for synthscope images)
    and their channels-first layout, which Cellpose reads; masks are the instance
    labels. Time-lapse items give one pair per frame, named ``{id}_t{t:03d}``.

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
    for frame in frames(dataset):
        write_tiff(out / f"{frame.name}_img.tif", ImageData(frame.image, frame.image_axes, frame.spacing))
        write_tiff(out / f"{frame.name}_masks.tif", ImageData(frame.labels, frame.axes, frame.spacing))
    return out
