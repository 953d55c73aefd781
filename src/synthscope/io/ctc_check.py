"""The Cell Tracking Challenge invariants: a time-lapse's labels and its tracks ``L B E P`` agree.

A track row ``L B E P`` says that label ``L`` is present from frame ``B`` to frame ``E``
and divided from track ``P`` (0: no parent). The tracking ground truth is only right when

- every label id of the frames has a track, and is present in every frame from ``B`` to
  ``E`` and in no other frame (a daughter never shows before its birth);
- track ids are positive and unique, and ``0 <= B <= E < T`` for ``T`` frames;
- a parent is another track that ends the frame before its daughter starts
  (``B == E_parent + 1``).

`check_tracks` refuses, with one `InputError` line, what breaks them: the data set writer
before it writes a time-lapse item, the CTC exporter before it writes a sequence.
"""

import numpy as np

from synthscope.errors import InputError


def check_tracks(labels: np.ndarray, tracks: np.ndarray, *, axes: str, name: str) -> None:
    """Refuse `labels` and `tracks` that break the CTC invariants (see the module notes).

    Parameters
    ----------
    labels : ndarray of int
        Instance labels, 0 = background; a single frame when `axes` has no ``"T"``.
    tracks : ndarray of int, shape (N, 4)
        One row ``L B E P`` per track.
    axes : str
        Axes of `labels`, e.g. ``"TYX"``.
    name : str
        What the message names (the item).

    Raises
    ------
    InputError
        Naming the first track or label that breaks an invariant, and how many do.

    Examples
    --------
    >>> labels = np.zeros((3, 4, 4), np.uint16)
    >>> labels[:2, 0, 0] = 1; labels[2, 0, 0] = 2; labels[2, 3, 3] = 3
    >>> tracks = np.array([[1, 0, 1, 0], [2, 2, 2, 1], [3, 2, 2, 1]])
    >>> check_tracks(labels, tracks, axes="TYX", name="item")
    >>> labels[1, 3, 3] = 3                      # a daughter before its birth
    >>> check_tracks(labels, tracks, axes="TYX", name="item")
    Traceback (most recent call last):
    ...
    synthscope.errors.InputError: item: labels and tracks disagree in 1 label: label 3 is in frames 1-2 but ...2-2
    """
    labels = np.moveaxis(labels, axes.index("T"), 0) if "T" in axes else np.asarray(labels)[np.newaxis]
    present = [set(np.unique(frame).tolist()) - {0} for frame in labels]
    rows = np.asarray(tracks).reshape(-1, 4).tolist()
    problem = _row_problem(rows, len(present))
    if problem:
        raise InputError(f"{name}: tracks are not CTC tracks: {problem}")
    wrong = _disagreements(rows, present)
    if wrong:
        count = f"{len(wrong)} label{'s' if len(wrong) > 1 else ''}"
        raise InputError(f"{name}: labels and tracks disagree in {count}: {wrong[0]}")


def _row_problem(rows, frames):
    """What is wrong with the first bad track row, or None."""
    ends = {}
    for label, begin, end, _ in rows:
        if label <= 0 or label in ends:
            return f"track id {label} is {'not positive' if label <= 0 else 'repeated'}"
        if not 0 <= begin <= end < frames:
            return f"track {label} spans frames {begin}-{end}, outside the {frames} frames"
        ends[label] = end
    for label, begin, _, parent in rows:
        if parent and (parent == label or parent not in ends):
            return f"track {label} has parent {parent}, which is not another track"
        if parent and ends[parent] != begin - 1:
            return f"track {label} starts at frame {begin} but its parent {parent} ends at frame {ends[parent]}"
    return None


def _disagreements(rows, present):
    """One sentence per label whose frames are not its track's frames (untracked labels first)."""
    tracked = {row[0] for row in rows}
    shown = {}
    for t, ids in enumerate(present):
        for label in ids:
            shown.setdefault(label, []).append(t)
    untracked = sorted(shown.keys() - tracked)
    wrong = [f"label {label} is in frames {_span(shown[label])}, without a track" for label in untracked]
    for label, begin, end, _ in rows:
        if shown.get(label, []) != list(range(begin, end + 1)):
            wrong.append(
                f"label {label} is in frames {_span(shown.get(label, [])) or 'none'} but its track spans {begin}-{end}"
            )
    return wrong


def _span(frames):
    """Sorted frame numbers as runs: ``[0, 1, 2, 5]`` -> ``"0-2, 5"``."""
    runs = []
    for t in frames:
        if runs and t == runs[-1][1] + 1:
            runs[-1][1] = t
        else:
            runs.append([t, t])
    return ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in runs)
