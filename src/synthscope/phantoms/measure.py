"""What a segmenter cares about in annotated images, measured: the statistics `synthscope.phantoms.fit` matches.

`measure` turns images with instance labels into per-object statistics (size, shape,
brightness, texture, touching), per-image ones (labelled fraction, background level
and variation, fine-scale noise) and the edge blur that best explains the images.
"""

import numpy as np
from scipy import ndimage as ndi
from skimage.measure import label as connected
from skimage.measure import regionprops

from synthscope import checks as check
from synthscope.errors import InputError

MARGIN = 3  # background pixels lie farther than this from every label
BLURS = np.round(np.arange(0.25, 4.01, 0.25), 2)
UNLABELLED_LEVEL = 0.2  # unlabelled light counts above background + this times (object level - background)
UNLABELLED_SIZE = 0.25  # ... in blobs at least this times the median object's size
PER_OBJECT = ("radius", "elongation", "solidity", "brightness", "inner_cv", "touching")  # see `measure`


def measure(images, labels, *, spacing=None):
    """Return the statistics of annotated nuclei images (2D or 3D) as a dict.

    Parameters
    ----------
    images : sequence of ndarray
        Float images with intensities in [0, 1] (normalise integer images first).
    labels : sequence of ndarray of int
        Instance labels of the same shapes, 0 = background.
    spacing : sequence of float, optional
        Pixel size per axis; lengths are given in pixels of the last axis.

    Returns
    -------
    stats : dict
        Per-object arrays ``radius`` (equivalent radius), ``elongation`` (major over
        minor axis), ``solidity``, ``brightness`` (median intensity of the object
        without its outer pixel, or of all of it when it is too thin to have a core),
        ``inner_cv`` (standard deviation over mean of those pixels) and ``touching``
        (bool: within 2 pixels of another object); per-image
        arrays ``density`` (labelled fraction), ``background`` (median far from
        labels), ``background_texture`` (standard deviation of the smoothed
        background), ``noise_background`` and ``noise_objects`` (variance of the
        fine-scale residual), ``unlabelled`` (the share of unlabelled blobs among the
        blobs and objects of the image: light as bright as `UNLABELLED_LEVEL` of the way
        from background to objects, farther than `MARGIN` from every label, in blobs of
        at least `UNLABELLED_SIZE` times the median object) and, per blob,
        ``unlabelled_brightness`` (its smoothed peak above the image's background);
        scalars ``blur`` (fitted edge width) and ``noise_gain`` (residual variance of unit
        white noise); and ``count`` (objects per image). A per-image value, and ``blur``,
        is NaN where an image has too few pixels to measure it (e.g. no background:
        labels within `MARGIN` of every pixel); per-object values are never NaN.

    Examples
    --------
    >>> from synthscope.phantoms import nuclei, render
    >>> item = nuclei((96, 96), count=10, radius=(6, 9), rng=0)
    >>> stats = measure([render(item, blur=1.5, rng=0)], [item.labels])
    >>> len(stats["radius"]), bool(1.0 <= stats["blur"] <= 2.0)
    (10, True)
    """
    images, labels, scale = _check_annotated(images, labels, spacing)
    per_object = {k: [] for k in PER_OBJECT}
    per_image = {
        k: []
        for k in (
            "density",
            "background",
            "background_texture",
            "noise_background",
            "noise_objects",
            "level_objects",
            "unlabelled",
        )
    }
    edges, blobs = [], []
    for image, label in zip(images, labels):
        _measure_objects(image, label, scale, per_object)
        far = ~ndi.binary_dilation(label > 0, iterations=MARGIN)
        inside = ndi.binary_erosion(label > 0, iterations=1)
        residual = image - ndi.gaussian_filter(image, 1.0)
        per_image["density"].append(float(np.mean(label > 0)))
        per_image["background"].append(float(np.median(image[far])) if far.any() else np.nan)
        per_image["background_texture"].append(_smooth_variation(image, far))
        per_image["noise_background"].append(_robust_variance(residual[far]))
        per_image["noise_objects"].append(_robust_variance(residual[inside]))
        per_image["level_objects"].append(float(np.median(image[inside])) if inside.any() else np.nan)
        sizes = np.bincount(label.ravel())[1:]
        sizes = sizes[sizes > 0]
        peaks = _unlabelled_blobs(image, far, sizes, per_image["background"][-1], per_image["level_objects"][-1])
        per_image["unlabelled"].append(len(peaks) / max(len(peaks) + sizes.size, 1))
        blobs.extend(peaks)
        edges.append((image, label, per_image["background"][-1]))
    stats = {k: np.asarray(v, float) for k, v in {**per_object, **per_image}.items()}
    stats["unlabelled_brightness"] = np.asarray(blobs, float)
    stats["touching"] = stats["touching"].astype(bool)
    stats["count"] = len(stats["radius"]) / len(images)
    stats["blur"] = _fit_blur(edges, scale)
    stats["noise_gain"] = _noise_gain(images[0].ndim)
    return stats


def _check_annotated(images, labels, spacing):
    images, labels = list(images), list(labels)
    if not images or len(images) != len(labels):
        raise InputError(f"fit needs a label image for every image: got {len(images)} images, {len(labels)} labels")
    ndim = np.ndim(images[0])
    out_images, out_labels = [], []
    for i, (image, label) in enumerate(zip(images, labels)):
        image, label = np.asarray(image), np.asarray(label)
        if image.shape != label.shape or image.ndim != ndim or ndim not in (2, 3):
            raise InputError(f"image {i} {image.shape} and its labels {label.shape} must share one 2D or 3D shape")
        if not np.issubdtype(label.dtype, np.integer):
            raise InputError(f"labels {i} have dtype {label.dtype}; instance labels must be integers")
        if not np.issubdtype(image.dtype, np.floating) or image.min() < 0 or image.max() > 1:
            raise InputError(f"image {i} must be float in [0, 1] (normalise it first, e.g. --percentiles 1,99.8)")
        out_images.append(image.astype(np.float32))
        out_labels.append(label)
    spacing = check.check_spacing(spacing, ndim)
    return out_images, out_labels, np.asarray(spacing) / spacing[-1]


def _measure_objects(image, label, scale, out):
    unit = np.pi if label.ndim == 2 else 4 / 3 * np.pi
    for region in regionprops(label, intensity_image=image, spacing=tuple(scale)):
        if region.num_pixels < 4:
            continue
        sl = region.slice
        own = label[sl] == region.label
        core = ndi.binary_erosion(own, iterations=1) if region.num_pixels > 20 else own
        if not core.any():  # a sliver (e.g. a nucleus cut by the edge of a crop) has no core
            core = own
        values = image[sl][core]
        minor = max(region.axis_minor_length, 1e-6)
        out["radius"].append((region.area / unit) ** (1 / label.ndim))
        out["elongation"].append(region.axis_major_length / minor)
        out["solidity"].append(_solidity(region, own))
        out["brightness"].append(float(np.median(values)))
        out["inner_cv"].append(float(np.std(values) / max(np.mean(values), 1e-6)))
        around = tuple(slice(max(s.start - 2, 0), s.stop + 2) for s in sl)
        grown = ndi.binary_dilation(label[around] == region.label, iterations=2)
        others = label[around][grown]
        out["touching"].append(bool(np.any((others != region.label) & (others > 0))))


def _solidity(region, own):
    """The solidity of `region` (`own`: its mask in its bounding box); a flat object in a volume in its plane.

    The convex hull of an object one pixel thick along an axis of a volume (a nucleus
    cut by the top or bottom of a stack) has no volume.
    """
    flat = tuple(axis for axis, size in enumerate(own.shape) if size == 1)
    if own.ndim < 3 or not flat:
        return region.solidity
    plane = own.squeeze(axis=flat)
    return regionprops(plane.astype(np.uint8))[0].solidity if plane.ndim == 2 else 1.0  # a line is convex


def _unlabelled_blobs(image, far, sizes, background, level, sigma=1.5):
    """The smoothed peaks, above `background`, of the blobs of unlabelled light in `far` (see `measure`).

    `sizes` are the pixel counts of the image's objects.
    """
    if not np.isfinite(background) or not np.isfinite(level) or not sizes.size:
        return []
    smooth = ndi.gaussian_filter(image, sigma)
    blobs = connected(far & (smooth > background + UNLABELLED_LEVEL * (level - background)))
    least = UNLABELLED_SIZE * np.median(sizes)
    return [
        float(region.intensity_max - background)
        for region in regionprops(blobs, intensity_image=smooth)
        if region.num_pixels >= least
    ]


def _smooth_variation(image, region, sigma=4.0):
    """Standard deviation of `image` over `region` after smoothing within the region only."""
    weight = ndi.gaussian_filter(region.astype(np.float32), sigma)
    kept = region & (weight > 0.3)  # away from the region's edge, where the smoothing has too few pixels
    if kept.sum() < 10:
        return np.nan
    smooth = ndi.gaussian_filter(np.where(region, image, 0).astype(np.float32), sigma) / np.maximum(weight, 1e-6)
    return float(np.std(smooth[kept]))


def _robust_variance(values):
    """Variance from the median absolute deviation (robust to edges and texture)."""
    if values.size < 10:
        return np.nan
    return float((1.4826 * np.median(np.abs(values - np.median(values)))) ** 2)


def _noise_gain(ndim):
    """Variance of ``x - gaussian(x, 1)`` for unit white noise (how much noise the residual keeps)."""
    noise = np.random.default_rng(0).standard_normal((256, 256) if ndim == 2 else (48, 64, 64))
    return _robust_variance(noise - ndi.gaussian_filter(noise, 1.0))


def _levels(image, label):
    """Per label id (index), the median of the object without 2 edge pixels, or of all of it if that leaves none."""
    levels = np.zeros(int(label.max()) + 1, np.float32)
    # Medians over the labelled pixels only: scipy sorts every pixel it is given.
    whole = label > 0
    present = np.unique(label[whole])
    levels[present] = ndi.median(image[whole], label[whole], index=present)
    inside = ndi.binary_erosion(whole, iterations=2) * label
    core = inside > 0
    cored = np.unique(inside[core])
    if cored.size:
        levels[cored] = ndi.median(image[core], inside[core], index=cored)
    return levels


def _fit_blur(edges, scale):
    """The Gaussian edge width (pixels of the last axis) that best explains the images near edges.

    NaN when no image has both labels and a background level (`measure`'s ``background``).
    """
    errors, seen = np.zeros(len(BLURS)), False
    for image, label, background in edges:
        if not label.any() or not np.isfinite(background):  # no background level to blur the edges into
            continue
        seen = True
        levels = _levels(image, label)
        sharp = np.where(label > 0, levels[label], background).astype(np.float32)
        boundary = ndi.binary_dilation(label > 0, iterations=3) & ~ndi.binary_erosion(label > 0, iterations=3)
        target = ndi.gaussian_filter(image, 0.5)[boundary]  # a little smoothing against noise
        for k, blur in enumerate(BLURS):
            model = ndi.gaussian_filter(sharp, np.hypot(blur, 0.5) / scale)[boundary]
            errors[k] += float(np.mean((model - target) ** 2))
    return float(BLURS[int(np.argmin(errors))]) if seen else np.nan
