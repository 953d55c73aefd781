"""Export to StarDist's training layout: ``images/NAME.tif`` and ``masks/NAME.tif``."""

import numpy as np

from synthscope.io.export._common import all_or_nothing, frames, open_export
from synthscope.io.image import ImageData
from synthscope.io.tiff import write_tiff


@all_or_nothing
def to_stardist(dataset_root, out):
    """Write every item of a data set as a StarDist training pair.

    StarDist wants channels last, so multi-channel images are written with axes
    ``"YXC"`` or ``"ZYXC"`` (said so in their OME metadata); values and dtype are
    kept. Time-lapse items give one pair per frame, named ``{id}_t{t:03d}``.

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
        image, axes = frame.image, frame.image_axes
        if axes.startswith("C"):
            image, axes = np.moveaxis(image, 0, -1), axes[1:] + "C"
        write_tiff(out / "images" / f"{frame.name}.tif", ImageData(image, axes, frame.spacing))
        write_tiff(out / "masks" / f"{frame.name}.tif", ImageData(frame.labels, frame.axes, frame.spacing))
    return out
