"""Refined time-lapses keep the Cell Tracking Challenge invariants: each label in its track's frames only.

A tiny denoiser with random weights runs the whole refine path (sampling, annotation update,
mismatch policy, re-tracking); its images are far from the sketches, so objects are lost and
added as well as moved.
"""

import numpy as np
import pytest
import torch

from synthscope import generate, make_item
from synthscope.annotate import update_labels
from synthscope.diffusion import build_denoiser, save_denoiser
from synthscope.errors import InputError
from synthscope.io import read_dataset
from synthscope.io.ctc_check import check_tracks
from synthscope.io.export.ctc import to_ctc

SMALL = {"shape": [96, 96], "timelapse.frames": 8, "timelapse.division_rate": 0.3, "refine.steps": 2}


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("model")
    save_denoiser(build_denoiser(channels=(8, 8, 8), patch_size=(16, 16)), folder)
    return str(folder)


@pytest.fixture(scope="module")
def refined(model):
    return make_item("timelapse-2d", 0, rng=0, settings={**SMALL, "refine.model": model})


def test_a_refined_time_lapse_keeps_every_label_in_its_track_frames(refined):
    assert refined.image is not None and (refined.tracks[:, 3] > 0).any()  # refined, with divisions
    check_tracks(refined.labels, refined.tracks, axes=refined.axes, name="refined")


def test_the_whole_stack_updated_as_one_volume_breaks_them(refined, model):
    """Positive control: the update across time (the old behaviour) lets ids grow into other frames."""
    sketched = make_item("timelapse-2d", 0, rng=0, settings={**SMALL, "refine.model": None})
    check_tracks(sketched.labels, sketched.tracks, axes=sketched.axes, name="sketch")
    across_time, _ = update_labels(refined.image, sketched.labels, band=2)
    with pytest.raises(InputError, match="labels and tracks disagree"):
        check_tracks(across_time, sketched.tracks, axes=sketched.axes, name="volume")


@pytest.mark.parametrize("policy", ["relabel", "keep"])
def test_every_mismatch_policy_keeps_them(model, policy):
    # from t=800 the random model paints objects no label explains, which relabel adds as one-frame tracks
    settings = {**SMALL, "refine.model": model, "refine.mismatch": policy, "refine.t_start": 800}
    item = make_item("timelapse-2d", 0, rng=0, settings=settings)
    check_tracks(item.labels, item.tracks, axes=item.axes, name=policy)
    report = item.metadata["refinement"]
    assert report["unlabeled_objects"] > 0 and bool(report["added"]) == (policy == "relabel")
    assert set(np.unique(item.labels[item.labels > 0]).tolist()) == set(item.tracks[:, 0].tolist())


def test_a_written_and_exported_refined_time_lapse_has_consistent_tracks(model, tmp_path):
    root = generate("timelapse-2d", count=1, out=tmp_path / "set", rng=0, settings={**SMALL, "refine.model": model})
    item = read_dataset(root).load(0)
    to_ctc(root, tmp_path / "ctc")
    tracks = np.loadtxt(tmp_path / "ctc/01_GT/TRA/man_track.txt", dtype=np.int64, ndmin=2)
    np.testing.assert_array_equal(tracks, item.tracks)
    check_tracks(item.labels, tracks, axes=item.axes, name="exported")
