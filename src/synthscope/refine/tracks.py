"""Tracks after relabelling: a time-lapse keeps a lineage that matches its labels."""

import numpy as np
from scipy import ndimage as ndi


def retrack(tracks: np.ndarray, labels: np.ndarray, *, added: list[int], lost: list[int]) -> np.ndarray:
    """Return the CTC track rows ``L B E P`` after labels `lost` were removed and `added` drawn.

    A lost track is dropped and its daughters lose their parent; each added label is a
    one-frame track in the frame where `labels` shows it.

    Examples
    --------
    >>> labels = np.zeros((2, 4, 4), np.uint16); labels[:, 0, 0] = 1; labels[1, 3, 3] = 3
    >>> tracks = np.array([[1, 0, 1, 0], [2, 0, 0, 0]])
    >>> retrack(tracks, labels, added=[3], lost=[2]).tolist()
    [[1, 0, 1, 0], [3, 1, 1, 0]]
    """
    if not added and not lost:
        return tracks
    kept = tracks[~np.isin(tracks[:, 0], lost)].copy()
    kept[np.isin(kept[:, 3], lost), 3] = 0
    boxes = ndi.find_objects(labels)
    new = [[i, boxes[i - 1][0].start, boxes[i - 1][0].stop - 1, 0] for i in added]
    return np.concatenate([kept, np.array(new, dtype=tracks.dtype).reshape(-1, 4)])
