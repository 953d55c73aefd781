"""DICOM (read only) via pydicom: single- and multi-frame, grey or colour."""

import numpy as np
import pydicom

from synthscope.axes import check_axes
from synthscope.errors import InputError
from synthscope.io.image import ImageData


def read_dicom(path, *, axes=None):
    """Read the pixels of a DICOM file into an `ImageData`, as stored (no rescale slope).

    Parameters
    ----------
    path : path-like
    axes : str, optional
        By default ``"YX"``, with ``"Z"`` in front for multi-frame files and
        ``"C"`` last for colour.

    Returns
    -------
    ImageData
        Spacing from ``PixelSpacing`` and, for multi-frame files,
        ``SpacingBetweenSlices`` or ``SliceThickness``, in micrometres.
    """
    try:
        dataset = pydicom.dcmread(path)
        data = np.asarray(dataset.pixel_array)
    except Exception as error:  # pydicom raises many types for damaged files
        raise InputError(f"{path}: not a readable DICOM image ({error})") from None
    frames = int(dataset.get("NumberOfFrames", 1)) > 1
    default = ("Z" if frames else "") + "YX" + ("C" if int(dataset.get("SamplesPerPixel", 1)) > 1 else "")
    axes = check_axes(default if axes is None else axes, data.ndim, name=str(path))
    spacing = {}
    if "PixelSpacing" in dataset:  # millimetres, row spacing first
        spacing["Y"], spacing["X"] = (float(v) * 1e3 for v in dataset.PixelSpacing)
    between = dataset.get("SpacingBetweenSlices", dataset.get("SliceThickness"))
    if frames and between is not None:
        spacing["Z"] = float(between) * 1e3
    return ImageData(data, axes, {k: v for k, v in spacing.items() if k in axes})
