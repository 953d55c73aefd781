"""Per-object mask update by seeded watershed inside a band around each mask."""

import numpy as np
from scipy import ndimage as ndi
from skimage.filters import gaussian, sobel
from skimage.segmentation import watershed

from synthscope.errors import InputError


def update_labels(image, labels, *, band=2, smoothing=1.0, min_iou=0.5, frames=False):
    """Move every object's edge to the nearest image edge within `band` pixels.

    Each object's mask eroded by `band` is its seed and everything farther than
    `band` from all objects seeds the background; a watershed on the gradient of the
    smoothed image decides the pixels in between. Each object therefore keeps its id,
    stays connected to its own core and cannot take over another object's core, so
    objects are never merged, dropped or renumbered. A change that leaves an object
    with IoU below `min_iou` against its old mask, or that splits it into several
    pieces, is refused and the old mask kept.

    Parameters
    ----------
    image : ndarray
        The refined image, 2D or 3D, same shape as `labels`. Only edges matter, so
        the polarity (bright or dark objects) and the intensity range do not.
    labels : ndarray of int
        Instance labels, 0 = background.
    band : int, optional
        How far (pixels) an edge may move, inwards or outwards.
    smoothing : float, optional
        Gaussian sigma applied before the gradient, against noise.
    min_iou : float, optional
        Changes that leave an object with a lower IoU against its old mask are refused.
    frames : bool, optional
        The first axis is time: each frame is updated on its own, so that no object
        spreads into a frame where it is not (a track's frames stay its frames).
        An object's IoU is then over all its frames, and it is refused when its
        change is refused in any frame.

    Returns
    -------
    updated : ndarray
        New instance labels, same dtype and ids as `labels`.
    report : dict
        ``{"iou": {id: IoU old vs new}, "refused": [ids kept unchanged], "mean_iou": float}``.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((40, 40), np.float32)
    >>> image[10:30, 10:30] = 1.0          # the object in the image is 20 x 20
    >>> labels = np.zeros((40, 40), np.uint16)
    >>> labels[12:28, 12:28] = 7           # its mask was drawn 2 px too small
    >>> updated, report = update_labels(image, labels, band=3)
    >>> int((updated == 7).sum()) > int((labels == 7).sum())
    True
    >>> sorted(report["iou"])
    [7]

    A time-lapse keeps each object in its own frames:

    >>> movie = np.stack([labels, np.zeros_like(labels)])
    >>> updated, _ = update_labels(np.stack([image, image]), movie, band=3, frames=True)
    >>> bool(updated[0].any()), bool(updated[1].any())
    (True, False)
    """
    image = np.asarray(image)
    labels = np.asarray(labels)
    if image.shape != labels.shape:
        raise InputError(f"image shape {image.shape} differs from labels shape {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer) or (labels.size and labels.min() < 0):
        raise InputError("labels must be non-negative integers")
    if band < 1:
        raise InputError(f"band must be at least 1 pixel, got {band}")
    check_frames(labels, frames)
    if frames:
        return _update_frames(image, labels, band=band, smoothing=smoothing, min_iou=min_iou)

    ids = np.unique(labels)
    ids = ids[ids != 0]
    if ids.size == 0:
        return labels.copy(), {"iou": {}, "refused": [], "mean_iou": float("nan")}

    markers = _seeds(labels, band=band)
    gradient = sobel(gaussian(image.astype(np.float32), sigma=smoothing, preserve_range=True))
    region = ndi.binary_dilation(labels > 0, iterations=band)
    background = ids.max() + 1  # a marker id no object uses
    markers[(markers == 0) & ~region] = background
    flooded = watershed(gradient, markers)
    flooded[flooded == background] = 0

    ious, refused = {}, []
    before, after = ndi.find_objects(labels), ndi.find_objects(flooded, max_label=int(ids.max()))
    for obj in ids:
        box = _union(before[obj - 1], after[obj - 1])
        old = labels[box] == obj
        new = flooded[box] == obj
        iou = float((old & new).sum() / (old | new).sum())
        _, pieces = ndi.label(new)
        if iou < min_iou or pieces != 1:
            refused.append(int(obj))
            iou = 1.0
        ious[int(obj)] = iou
    # Every accepted object takes its flooded pixels, and a refused one keeps its old mask
    # even where a neighbour grew into it; the pixels an object left and nobody took are background.
    kept = np.isin(labels, refused)
    moved = np.isin(flooded, ids[~np.isin(ids, refused)])
    updated = np.where(kept, labels, np.where(moved, flooded, 0)).astype(labels.dtype)
    return updated, {"iou": ious, "refused": refused, "mean_iou": float(np.mean(list(ious.values())))}


def _union(a, b):
    """The smallest box (tuple of slices) holding the boxes `a` and `b`, either of which may be None."""
    if a is None or b is None:
        return a if b is None else b
    return tuple(slice(min(x.start, y.start), max(x.stop, y.stop)) for x, y in zip(a, b))


def check_frames(labels, frames):
    """Refuse `frames` for labels that are not a stack of 2D or 3D frames."""
    if frames and labels.ndim < 3:
        raise InputError(f"frames: a time-lapse has a time axis and 2 or 3 spatial axes, got shape {labels.shape}")


def _update_frames(image, labels, **options):
    """`update_labels` frame by frame; each object's IoU over all its frames."""
    results = [update_labels(frame, frame_labels, **options) for frame, frame_labels in zip(image, labels)]
    updated = np.stack([frame_labels for frame_labels, _ in results])
    refused = sorted({obj for _, report in results for obj in report["refused"]})
    old, new, kept = (_sizes(array) for array in (labels, updated, np.where(labels == updated, labels, 0)))
    ious = {obj: kept.get(obj, 0) / (size + new.get(obj, 0) - kept.get(obj, 0)) for obj, size in old.items()}
    mean = float(np.mean(list(ious.values()))) if ious else float("nan")
    return updated, {"iou": ious, "refused": refused, "mean_iou": mean}


def _sizes(labels):
    """Pixels per object id: ``{id: count}``."""
    ids, counts = np.unique(labels[labels > 0], return_counts=True)
    return {int(obj): int(count) for obj, count in zip(ids, counts)}


def _seeds(labels, *, band):
    """Each object's pixels deeper than `band` inside it; a thin object keeps its deepest pixel."""
    markers = np.zeros(labels.shape, np.int64)
    for obj, box in enumerate(ndi.find_objects(labels), start=1):
        if box is None:
            continue
        inside = labels[box] == obj
        # Padding makes the box border count as outside, so touching objects shrink apart.
        depth = ndi.distance_transform_edt(np.pad(inside, 1))[(slice(1, -1),) * inside.ndim]
        core = depth > band
        if not core.any():
            core = np.zeros_like(inside)
            core.flat[np.argmax(depth)] = True
        markers[box][core] = obj
    return markers
