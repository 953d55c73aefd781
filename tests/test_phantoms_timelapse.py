"""Time-lapse nuclei: tracks agree with the frames, divisions, determinism."""

import numpy as np
import pytest

from synthscope.errors import InputError
from synthscope.phantoms import render, timelapse


def _check_tracks(item):
    labels, tracks = item.labels, item.tracks
    assert tracks.shape[1] == 4 and np.array_equal(tracks[:, 0], np.arange(1, len(tracks) + 1))
    assert set(np.unique(labels)) - {0} == set(tracks[:, 0])
    for label, begin, end, parent in tracks:
        present = [t for t in range(labels.shape[0]) if (labels[t] == label).any()]
        assert present == list(range(begin, end + 1))  # in every frame of its track, nowhere else
        if parent:
            assert begin == tracks[parent - 1, 2] + 1  # a daughter starts the frame after its parent ends
    parents, daughters = np.unique(tracks[tracks[:, 3] > 0, 3], return_counts=True)
    assert np.all(daughters == 2)
    ends = tracks[:, 2]
    assert np.all(ends[parents - 1] < labels.shape[0] - 1)


def test_tracks_are_consistent_with_frames_and_divisions_happen():
    item = timelapse((128, 128), frames=12, count=10, radius=(6, 8), division_rate=0.2, rng=0)
    assert item.axes == "TYX" and item.labels.shape == (12, 128, 128) and item.spacing["T"] == 300.0
    _check_tracks(item)
    assert (item.tracks[:, 3] > 0).sum() >= 4


def test_three_dimensional_time_lapse():
    item = timelapse((16, 48, 48), frames=5, count=4, radius=6, spacing=(2, 1, 1), division_rate=0.3, rng=1)
    assert item.axes == "TZYX" and item.labels.shape == (5, 16, 48, 48)
    _check_tracks(item)


def test_nuclei_move_between_frames_and_render_per_frame():
    item = timelapse((96, 96), frames=3, count=6, radius=7, speed=2.0, division_rate=0, rng=2)
    assert not np.array_equal(item.labels[0], item.labels[2])
    sketch = render(item, rng=0)
    assert sketch.shape == item.labels.shape
    assert sketch[1][item.labels[1] > 0].mean() > sketch[1][item.labels[1] == 0].mean() + 0.2


def test_same_seed_same_movie():
    a, b, c = (timelapse((64, 64), frames=4, count=4, radius=6, rng=s) for s in (3, 3, 4))
    assert np.array_equal(a.labels, b.labels) and np.array_equal(a.tracks, b.tracks)
    assert not np.array_equal(a.labels, c.labels)


@pytest.mark.parametrize(
    ("options", "message"),
    [({"frames": 0}, r"frames must be in \[1, "), ({"division_rate": 2}, r"division_rate must be in \[0, 0.5\]")],
)
def test_bad_time_lapse_parameters_are_named(options, message):
    with pytest.raises(InputError, match=message):
        timelapse((64, 64), **options, rng=0)
