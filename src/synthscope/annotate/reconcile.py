"""Make labels and image agree: every object shown has a label, every label an object."""

import numpy as np

from synthscope.annotate.check import find_empty_labels, find_unlabeled
from synthscope.annotate.update import check_frames, update_labels
from synthscope.errors import InputError

# Each round removes labels for good or labels new pixels, so it ends; this only guards a bug.
_MAX_ROUNDS = 100


def find_mismatches(image, labels, *, reference, polarity="bright", frames=False, margin=2, min_contrast=0.5):
    """Return what disagrees between `image` and `labels`, judged against `reference`.

    Runs `find_unlabeled` and `find_empty_labels` with ``reference`` (see them for the
    tests), on the whole array or, for a time-lapse, frame by frame.

    Parameters
    ----------
    image : ndarray
        The refined image, 2D or 3D (or a stack of frames), same shape as `labels`.
    labels : ndarray of int
        Instance labels, 0 = background.
    reference : ndarray
        The sketch `labels` were drawn for, same shape as `labels`.
    polarity : {"bright", "dark"}, optional
        Whether objects are brighter (fluorescence) or darker (TEM) than background.
    frames : bool, optional
        The first axis is time: each frame is checked on its own.
    margin, min_contrast : optional
        As in `find_unlabeled` and `find_empty_labels`.

    Returns
    -------
    blobs : ndarray of int32
        The unlabeled objects, numbered 1..K (across all frames), 0 elsewhere.
    empty : list of int
        Sorted ids of the labels with no object (in any frame).

    Examples
    --------
    >>> import numpy as np
    >>> sketch = np.full((40, 40), 0.1, np.float32)
    >>> sketch[5:15, 5:15] = sketch[25:35, 5:15] = 0.8
    >>> image = sketch.copy()
    >>> image[25:35, 5:15] = 0.1                 # the model erased object 2 ...
    >>> image[25:35, 25:35] = 0.8                # ... and painted a new one
    >>> labels = np.zeros((40, 40), np.uint16)
    >>> labels[5:15, 5:15], labels[25:35, 5:15] = 1, 2
    >>> blobs, empty = find_mismatches(image, labels, reference=sketch)
    >>> int(blobs.max()), empty
    (1, [2])
    """
    image, labels, reference = _arrays(image, labels, reference, frames)
    if not frames:
        options = dict(reference=reference, polarity=polarity, margin=margin)
        return (
            find_unlabeled(image, labels, **options),
            find_empty_labels(image, labels, min_contrast=min_contrast, **options),
        )
    blobs = np.zeros(labels.shape, np.int32)
    empty, count = set(), 0
    for t in range(labels.shape[0]):
        found, lost = find_mismatches(
            image[t], labels[t], reference=reference[t], polarity=polarity, margin=margin, min_contrast=min_contrast
        )
        blobs[t] = np.where(found > 0, found + count, 0)
        count += int(found.max())
        empty.update(lost)
    return blobs, sorted(empty)


def reconcile_labels(image, labels, *, reference, polarity="bright", band=2, frames=False, margin=2, min_contrast=0.5):
    """Bring `labels` into agreement with `image`: label what shows, drop what does not.

    Every empty label (`find_empty_labels` against `reference`) is removed, and every
    unlabeled object (`find_unlabeled` against `reference`) becomes a new label, its
    ids following the largest id of `labels` in the order the blobs are found. A new
    object's mask is the blob with its edge moved to the image's edge by
    `update_labels` (within `band`), on pixels no other label holds. The check is then
    repeated, and acted on, until it finds nothing, so the result passes
    `find_mismatches` with the same settings. Kept labels are not changed.

    Parameters
    ----------
    image, labels, reference, polarity, frames, margin, min_contrast
        As in `find_mismatches`. With `frames`, a label empty in any frame is removed
        from every frame (its whole track), and a new object is an object of one frame.
    band : int, optional
        As in `update_labels`, for the masks of new objects.

    Returns
    -------
    labels : ndarray
        The reconciled labels; the dtype of `labels`, or uint32 when new ids need it.
    report : dict
        ``{"added": [new ids], "lost": [removed ids]}``.

    Examples
    --------
    >>> import numpy as np
    >>> sketch = np.full((40, 40), 0.1, np.float32)
    >>> sketch[5:15, 5:15] = sketch[25:35, 5:15] = 0.8
    >>> image = sketch.copy()
    >>> image[25:35, 5:15] = 0.1                 # the model erased object 2 ...
    >>> image[25:35, 25:35] = 0.8                # ... and painted a new one
    >>> labels = np.zeros((40, 40), np.uint16)
    >>> labels[5:15, 5:15], labels[25:35, 5:15] = 1, 2
    >>> fixed, report = reconcile_labels(image, labels, reference=sketch)
    >>> report
    {'added': [3], 'lost': [2]}
    >>> int(fixed[30, 30]), int(fixed[30, 10])
    (3, 0)
    """
    image, labels, reference = _arrays(image, labels, reference, frames)
    if band < 1:
        raise InputError(f"band must be at least 1 pixel, got {band}")
    options = dict(reference=reference, polarity=polarity, frames=frames, margin=margin, min_contrast=min_contrast)
    fixed = labels.copy()
    added, lost = [], []
    next_id = int(labels.max()) + 1
    for _ in range(_MAX_ROUNDS):
        blobs, empty = find_mismatches(image, fixed, **options)
        if not empty and not blobs.any():
            return fixed, {"added": added, "lost": lost}
        fixed[np.isin(fixed, empty)] = 0
        lost.extend(empty)
        count = int(blobs.max())
        if count:
            if next_id + count - 1 > np.iinfo(fixed.dtype).max:
                fixed = fixed.astype(np.uint32)
            masks = _new_masks(image, blobs, band=band, frames=frames)
            free = (masks > 0) & (fixed == 0)
            fixed[free] = masks[free] + (next_id - 1)
            added.extend(range(next_id, next_id + count))
            next_id += count
    raise RuntimeError(f"reconcile_labels: still finding mismatches after {_MAX_ROUNDS} rounds")


def _new_masks(image, blobs, *, band, frames):
    """The blobs with their edges moved to the image's edges (a blob that would break up stays as found)."""
    masks, _ = update_labels(image, blobs, band=band, frames=frames)
    return masks


def _arrays(image, labels, reference, frames):
    image, labels, reference = np.asarray(image), np.asarray(labels), np.asarray(reference)
    for name, array in (("image", image), ("reference", reference)):
        if array.shape != labels.shape:
            raise InputError(f"{name} shape {array.shape} differs from labels shape {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer) or (labels.size and labels.min() < 0):
        raise InputError("labels must be non-negative integers")
    check_frames(labels, frames)
    return image, labels, reference
