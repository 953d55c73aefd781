"""Checks of an `Item`'s arrays before anything of it is written."""

import json

import numpy as np

from synthscope.errors import InputError


def as_labels(labels, *, name):
    """Return instance labels as uint16, or uint32 above 65,535, after checking them.

    Raises
    ------
    InputError
        If the labels are not integers, are negative or exceed uint32.

    Examples
    --------
    >>> as_labels(np.array([[0, 70000]]), name="a").dtype
    dtype('uint32')
    >>> as_labels(np.array([[0.5]]), name="a")
    Traceback (most recent call last):
    ...
    synthscope.errors.InputError: a: labels must be integers, got float64
    """
    return _as_unsigned(labels, (np.uint16, np.uint32), name=name, what="labels")


def as_classes(classes, *, name):
    """Return a semantic class image as uint8 after checking its values fit."""
    return _as_unsigned(classes, (np.uint8,), name=name, what="classes")


def check_layout(array, labels, *, name, what):
    """Return the axes prefix of `array`: ``""`` if laid out like `labels`, ``"C"`` with channels first."""
    if array.shape == labels.shape:
        return ""
    if array.ndim == labels.ndim + 1 and array.shape[1:] == labels.shape:
        return "C"
    raise InputError(f"{name}: {what} has shape {array.shape} but the labels have shape {labels.shape}")


def as_tracks(tracks, *, name):
    """Return Cell Tracking Challenge track rows ``L B E P`` as an (N, 4) int64 array."""
    tracks = np.asarray(tracks)
    if tracks.ndim != 2 or tracks.shape[1] != 4 or (tracks.size and tracks.dtype.kind not in "iu"):
        raise InputError(
            f"{name}: tracks must be integer rows 'L B E P' of shape (N, 4), got {tracks.dtype} {tracks.shape}"
        )
    return tracks.astype(np.int64)


def to_json(value, *, name):
    """Return `value` as canonical JSON text (sorted keys, two-space indent, final newline)."""
    try:
        return json.dumps(value, sort_keys=True, indent=2, allow_nan=False) + "\n"
    except (TypeError, ValueError) as error:
        raise InputError(f"{name}: not JSON-serialisable ({error})") from None


def _as_unsigned(array, dtypes, *, name, what):
    array = np.asarray(array)
    if array.dtype.kind not in "iu":
        raise InputError(f"{name}: {what} must be integers, got {array.dtype}")
    if array.size and array.min() < 0:
        raise InputError(f"{name}: {what} must not be negative, found {array.min()}")
    top = int(array.max()) if array.size else 0
    for dtype in dtypes:
        if top <= np.iinfo(dtype).max:
            return array.astype(dtype, copy=False)
    raise InputError(f"{name}: {what} go up to {top}, more than {np.dtype(dtypes[-1])} holds")
