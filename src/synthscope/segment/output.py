"""Writing a segmentation: label, mask and uncertainty images, pictures, and a record."""

import json
import os
from pathlib import Path

import numpy as np

from synthscope.checks import check_choice
from synthscope.io import write_image, write_text
from synthscope.segment.segmenter import Segmentation
from synthscope.segment.visualize import overlay, visualize

#: Output formats by name: the suffix of the written images.
FORMATS = {"ome-tiff": ".ome.tif", "ome-zarr": ".ome.zarr", "nifti": ".nii.gz"}


def segmentation_files(out: str | os.PathLike, name: str, *, format: str = "ome-tiff") -> dict[str, Path]:
    """Return the files `write_segmentation` writes for the image `name`, by what they hold.

    Examples
    --------
    >>> sorted(segmentation_files("out", "a"))
    ['comparison', 'labels', 'mask', 'overlay', 'record', 'uncertainty']
    >>> segmentation_files("out", "a", format="nifti")["labels"].name
    'a_labels.nii.gz'
    """
    suffix = FORMATS[check_choice(format, "format", tuple(FORMATS))]
    out = Path(out)
    files = {kind: out / f"{name}_{kind}{suffix}" for kind in ("labels", "mask", "uncertainty")}
    files.update({kind: out / f"{name}_{kind}.png" for kind in ("overlay", "comparison")})
    return {**files, "record": out / f"{name}.json"}


def write_segmentation(
    out: str | os.PathLike,
    name: str,
    result: Segmentation,
    *,
    image: np.ndarray,
    spacing: dict | None = None,
    format: str = "ome-tiff",
) -> dict[str, Path]:
    """Write `result` for the image `name` into the folder `out`; return the files.

    Instance labels (uint16/uint32), the semantic mask (uint8) and the uncertainty
    (float32) in `format`; the outlines over the image and the comparison picture
    (coarse | refined | uncertainty) as PNG; ``NAME.json``, the record, last: it marks
    the image done. Every file is written under a temporary name and renamed.

    Parameters
    ----------
    out : path-like
        Created if missing.
    name : str
    result : Segmentation
    image : numpy.ndarray
        The image that was segmented, for the pictures.
    spacing : dict, optional
        Physical pixel size per axis letter, kept in the images.
    format : {"ome-tiff", "ome-zarr", "nifti"}

    Examples
    --------
    >>> import tempfile
    >>> labels = np.zeros((16, 16), np.uint16); labels[4:12, 4:12] = 1
    >>> result = Segmentation(labels, np.uint8(labels > 0), np.float32(labels > 0),
    ...     np.zeros((16, 16), np.float32), np.float32(labels > 0), "YX", {"rng": 0})
    >>> files = write_segmentation(tempfile.mkdtemp(), "a", result, image=labels * 1.0)
    >>> files["labels"].name, files["record"].is_file()
    ('a_labels.ome.tif', True)
    """
    files = segmentation_files(out, name, format=format)
    Path(out).mkdir(parents=True, exist_ok=True)
    spacing = {k: v for k, v in (spacing or {}).items() if k in result.axes}
    for kind in ("labels", "mask", "uncertainty"):
        write_image(files[kind], getattr(result, kind), axes=result.axes, spacing=spacing)
    write_image(files["overlay"], overlay(image, result), axes="YXC")
    write_image(files["comparison"], visualize(image, result), axes="YXC")
    summary = {"objects": int(result.labels.max()), "foreground": float(result.mask.mean())}
    write_text(files["record"], json.dumps({**result.record, **summary}, indent=2) + "\n")
    return files
