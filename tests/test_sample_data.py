"""``synthscope.sample_data``: the real nuclei slices and the nuclei beyond each of them."""

import numpy as np
import pytest

import synthscope.sample_data as sample_data
from synthscope.errors import InputError


def test_nuclei_beyond_a_slice_come_from_its_own_split(monkeypatch):
    labels = np.zeros((60, 8, 8), np.uint32)
    labels[36:40, :2, :2] = 1  # between the splits, 1-4 slices above the first held-out slice (40)
    labels[35, 4:, 4:] = 2  # a training slice's nucleus, 5 slices away: never used for held-out slices
    labels[40:42, 2:4, 2:4] = 3  # cut by slice 40 itself
    monkeypatch.setattr(sample_data, "nuclei_3d", lambda: (np.zeros_like(labels, np.uint16), labels))
    beyond = sample_data.nuclei_2d_out_of_plane("test", reach=2.0, scale=1)
    assert beyond.shape == (12, 8, 8)
    np.testing.assert_array_equal(beyond[0], labels[36] == 1)  # neither 2 (other split) nor 3 (cut)
    np.testing.assert_array_equal(beyond[6], labels[40] == 3)  # slice 46: 1 lies more than 2 um (6 slices) away
    assert sample_data.nuclei_2d_out_of_plane("train", reach=2.0, scale=1)[-1][4:, 4:].sum() == 0  # cut by 35


def test_bad_split_or_reach_is_refused():
    with pytest.raises(InputError, match="split must be one of"):
        sample_data.nuclei_2d_out_of_plane("validation")
    with pytest.raises(InputError, match="reach must be >= 0"):
        sample_data.nuclei_2d_out_of_plane("train", reach=-1)
