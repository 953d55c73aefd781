"""Nuclei found without a person's labels: a classical segmentation for `synthscope.phantoms.fit`.

When a user has images but no annotation, `adapt` estimates nucleus size, density,
brightness, texture and noise by fitting a preset to these labels instead. They need not
be perfect: the fit reads distributions (radii, densities, intensities), not single
objects, so a split or a merged nucleus here and there moves it little.
"""

import numpy as np
from scipy import ndimage as ndi
from skimage import filters, measure, segmentation

from synthscope.errors import InputError

# Otsu's threshold is taken of the smoothed image clipped at this percentile, so that a few
# very bright objects (mitotic nuclei, debris) do not lift it above the dim nuclei. On the
# training splits of cells3d, HeLa and CHO, AP@0.5 against their labels (all images
# pooled): unclipped 0.783, 0.652, 0.829; 97: 0.773, 0.738, 0.847; 95: 0.758, 0.746, 0.862;
# 90: 0.739, 0.738, 0.847.
CLIP_PERCENTILE = 95
# Foreground pieces smaller than this share of the median piece are noise, not nuclei.
SMALLEST_SHARE = 0.1
# Seeds of touching nuclei: maxima of the distance to the background at least this many
# median inner radii apart (two nuclei closer than that are taken as one). With sigma 2,
# 1.3 found the nuclei of the training splits of cells3d, HeLa and CHO best (AP@0.5
# 0.75, 0.70, 0.83 against their labels, averaged over images; 0.7 and sigma 1: 0.60,
# 0.64, 0.68; both measured without the clipping above).
SEED_SPACING = 1.3


def label_nuclei(image: np.ndarray, *, sigma: float = 2.0) -> np.ndarray:
    """Return instance labels of the bright nuclei of a fluorescence image (2D or 3D).

    Otsu's threshold of the smoothed image (clipped at its `CLIP_PERCENTILE`-th
    percentile) gives the foreground; touching nuclei are cut
    apart by a watershed of the distance to the background from one seed per nucleus
    (maxima at least `SEED_SPACING` median radii apart); pieces smaller than
    `SMALLEST_SHARE` of the median piece are dropped.

    Parameters
    ----------
    image : ndarray
        A single-channel image, float in [0, 1] (bright nuclei on a dark background).
    sigma : float, optional
        Gaussian smoothing, in pixels, before the threshold.

    Returns
    -------
    labels : ndarray of int32
        0 = background, nuclei 1..N.

    Raises
    ------
    InputError
        If the image is flat (no threshold exists).

    Examples
    --------
    >>> truth = np.zeros((64, 64), np.uint16)
    >>> truth[10:24, 10:24] = 1; truth[30:50, 36:56] = 2
    >>> image = 0.1 + 0.6 * (truth > 0) + np.random.default_rng(0).normal(0, 0.03, truth.shape)
    >>> found = label_nuclei(image)
    >>> int(found.max()), [int((found == i).sum()) for i in (1, 2)]
    (2, [192, 396])
    """
    image = np.asarray(image, np.float32)
    smooth = filters.gaussian(image, sigma=sigma)
    if np.ptp(smooth) == 0:
        raise InputError("the image is flat: there are no nuclei to find")
    threshold = filters.threshold_otsu(np.minimum(smooth, np.percentile(smooth, CLIP_PERCENTILE)))
    foreground = ndi.binary_fill_holes(smooth > threshold)
    pieces = measure.label(foreground)
    areas = np.bincount(pieces.ravel())[1:]
    if areas.size == 0:
        return pieces.astype(np.int32)
    kept = np.concatenate([[False], areas >= SMALLEST_SHARE * np.median(areas)])
    foreground = kept[pieces]
    distance = ndi.distance_transform_edt(foreground)
    radius = np.median(_piece_radii(distance, measure.label(foreground)))
    peaks = _seeds(distance, foreground, spacing=max(1, int(SEED_SPACING * radius)))
    return segmentation.watershed(-distance, peaks, mask=foreground).astype(np.int32)


def _piece_radii(distance, pieces):
    """The largest distance to the background in each piece: its inner radius."""
    return ndi.maximum(distance, pieces, index=np.arange(1, pieces.max() + 1))


def _seeds(distance, foreground, *, spacing):
    from skimage.feature import peak_local_max

    pieces = measure.label(foreground)
    coords = peak_local_max(distance, min_distance=spacing, labels=pieces, exclude_border=False)
    seeds = np.zeros(distance.shape, np.int32)
    seeds[tuple(coords.T)] = np.arange(1, len(coords) + 1)
    # A piece without a maximum (thin, or flat at the top) still gets one seed.
    missing = np.setdiff1d(np.unique(pieces[foreground]), pieces[seeds > 0])
    for piece in missing:
        inside = np.argwhere(pieces == piece)
        seeds[tuple(inside[len(inside) // 2])] = seeds.max() + 1
    return seeds
