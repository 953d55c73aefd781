"""The CTC invariants check: what it refuses, and that the writer and the CTC exporter use it."""

import numpy as np
import pytest

from synthscope.errors import InputError
from synthscope.io import DatasetWriter, read_dataset
from synthscope.io.ctc_check import check_tracks
from synthscope.io.export.ctc import to_ctc
from synthscope.item import Item
from synthscope.phantoms import timelapse

# Track 1 divides into 2 and 3 at frame 2; track 4 lives through all 4 frames.
TRACKS = np.array([[1, 0, 1, 0], [2, 2, 3, 1], [3, 2, 3, 1], [4, 0, 3, 0]])


def _labels():
    labels = np.zeros((4, 12, 12), np.uint16)
    labels[:2, 1:4, 1:4] = 1
    labels[2:, 1:3, 1:3] = 2
    labels[2:, 3:5, 3:5] = 3
    labels[:, 8:11, 8:11] = 4
    return labels


def _item(labels=None, tracks=TRACKS):
    labels = _labels() if labels is None else labels
    return Item(labels=labels, axes="TYX", sketch=np.zeros(labels.shape, np.float32), tracks=tracks)


def test_consistent_tracks_pass():
    check_tracks(_labels(), TRACKS, axes="TYX", name="item")
    movie = timelapse((64, 64), frames=8, count=6, radius=6, division_rate=0.5, rng=0)
    assert (movie.tracks[:, 3] > 0).any()
    check_tracks(movie.labels, movie.tracks, axes=movie.axes, name="movie")
    # time need not come first
    check_tracks(np.moveaxis(_labels(), 0, -1), TRACKS, axes="YXT", name="item")


def _daughter_before_birth(labels, tracks):
    labels[0, 3:5, 3:5] = 3
    return labels, tracks


def _gap(labels, tracks):
    labels[1][labels[1] == 4] = 0
    return labels, tracks


def _untracked(labels, tracks):
    labels[0, 6, 6] = 9
    return labels, tracks


def _edit(row, column, value):
    def edit(labels, tracks):
        tracks = tracks.copy()
        tracks[row, column] = value
        return labels, tracks

    return edit


BROKEN = {
    "daughter before its birth": (_daughter_before_birth, "label 3 is in frames 0, 2-3 but its track spans 2-3"),
    "a gap in a track": (_gap, "label 4 is in frames 0, 2-3 but its track spans 0-3"),
    "a label without a track": (_untracked, "label 9 is in frames 0, without a track"),
    "a track past the last frame": (_edit(3, 2, 4), "track 4 spans frames 0-4, outside the 4 frames"),
    "a repeated track id": (_edit(3, 0, 1), "track id 1 is repeated"),
    "an unknown parent": (_edit(1, 3, 7), "track 2 has parent 7, which is not another track"),
    "a parent ending too early": (_edit(0, 2, 0), "track 2 starts at frame 2 but its parent 1 ends at frame 0"),
}


@pytest.mark.parametrize("case", BROKEN)
def test_broken_tracks_are_refused_with_one_line(case):
    breaks, message = BROKEN[case]
    labels, tracks = breaks(_labels(), TRACKS)
    with pytest.raises(InputError, match="^item: ") as error:
        check_tracks(labels, tracks, axes="TYX", name="item")
    assert message in str(error.value) and "\n" not in str(error.value)


def test_the_writer_refuses_a_broken_item_before_writing_it(tmp_path):
    writer = DatasetWriter(tmp_path, info={})
    labels, _ = _daughter_before_birth(_labels(), TRACKS)
    with pytest.raises(InputError, match=r"items/00000: labels and tracks disagree in 1 label: label 3"):
        writer.write(0, _item(labels), record={})
    assert not writer.is_complete(0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dataset.json"]


def test_the_ctc_exporter_refuses_a_hand_edited_data_set(tmp_path):
    writer = DatasetWriter(tmp_path / "set", info={})
    writer.write(0, _item(), record={})
    to_ctc(tmp_path / "set", tmp_path / "good")
    tracks = np.loadtxt(tmp_path / "good/01_GT/TRA/man_track.txt", dtype=np.int64, ndmin=2)
    np.testing.assert_array_equal(tracks, TRACKS)
    (tmp_path / "set/tracks/00000.txt").write_text("1 0 1 0\n2 1 3 1\n3 2 3 1\n4 0 3 0\n")
    with pytest.raises(InputError, match="items/00000: tracks are not CTC tracks: track 2 starts at frame 1"):
        to_ctc(tmp_path / "set", tmp_path / "bad")
    assert not (tmp_path / "bad").exists()


def test_an_item_without_tracks_exports_tracks_from_its_labels_and_a_gap_is_refused(tmp_path):
    writer = DatasetWriter(tmp_path / "set", info={})
    writer.write(0, _item(tracks=None), record={})
    labels, _ = _gap(_labels(), TRACKS)
    writer.write(1, _item(labels, tracks=None), record={})
    assert read_dataset(tmp_path / "set").load(1).tracks is None
    with pytest.raises(InputError, match="items/00001: labels and tracks disagree in 1 label: label 4"):
        to_ctc(tmp_path / "set", tmp_path / "ctc")
