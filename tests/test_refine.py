"""The refine package: its spec (every refine.* key, default and check), held regions, conditions, tracks."""

import numpy as np
import pytest

from synthscope.errors import InputError
from synthscope.phantoms import load_preset, preset_names, sketch_item
from synthscope.refine import RefineSpec, StageSpec, held_region, retrack, soft_held_region
from synthscope.refine.item import RETRY_MARGIN, retry_window


def test_the_spec_owns_every_default():
    spec = RefineSpec.from_mapping({})
    assert spec.model is None and spec.sampler == "dpm" and spec.steps == 20 and spec.band == 2
    assert spec.mismatch == "retry" and spec.retries == 2 and spec.condition is None
    assert spec.plan == (StageSpec(t=400, hold=None),)


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_refine_section_is_a_spec(name):
    section = load_preset(name)["refine"]
    spec = RefineSpec.from_mapping(section)
    assert spec.model == section.get("model")
    if "stages" in section:
        assert [s.to_dict() for s in spec.plan] == [{"hold": None, **s} for s in section["stages"]]
    else:
        assert spec.plan == (StageSpec(t=section.get("t_start", 400), hold=section.get("hold")),)


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"temperature": 1}, "refine.temperature is not a refinement key; use model, sampler"),
        ({"steps": True}, "refine.steps has the wrong type: True"),
        ({"steps": 2.5}, "refine.steps has the wrong type: 2.5"),
        ({"model": 3}, "refine.model has the wrong type: 3"),
        ({"stages": "650:axoneme"}, "refine.stages has the wrong type"),
        ({"stages": [{"t": 300, "temperature": 1}]}, "refine.stages: each stage is"),
        ({"stages": [{"t": 0}]}, r"refine.stages.t must be in \[1, 999\]"),
        ({"stages": [{"t": 300}], "hold": "objects"}, "refine.stages replaces refine.t_start and refine.hold"),
        ({"condition": "membrane"}, "refine.condition: 'membrane' is not a condition; use mask, mask"),
        ({"mismatch": "fix"}, "refine.mismatch must be one of"),
    ],
)
def test_a_bad_section_is_one_line_naming_the_key(mapping, message):
    with pytest.raises(InputError, match=message) as error:
        RefineSpec.from_mapping(mapping)
    assert "\n" not in str(error.value)


def test_numbers_take_ints_for_floats_and_specs_are_frozen():
    spec = RefineSpec.from_mapping({"slice_rho": 1, "stages": [{"t": 650, "hold": "axoneme"}, {"t": 250}]})
    assert spec.slice_rho == 1 and spec.plan[1] == StageSpec(t=250)
    with pytest.raises(AttributeError):
        spec.steps = 3


def test_held_regions_come_from_the_masks():
    item = sketch_item(load_preset("cilia", settings={"cilia.neighbours": 0}), rng=1)
    axoneme = held_region(item, "axoneme")
    minus = held_region(item, "axoneme_minus_tubules")
    assert np.array_equal(minus, axoneme & (item.labels == 0))
    assert np.array_equal(held_region(item, "background"), item.labels == 0)
    with pytest.raises(InputError, match="'nucleoli' is not a region"):
        held_region(item, "nucleoli")
    assert np.array_equal(held_region(item, "empty"), item.labels == 0)  # no out-of-plane nuclei


def test_the_empty_region_leaves_out_the_nuclei_beyond_the_section():
    item = sketch_item(load_preset("nuclei-2d", settings={"shape": [96, 96], "nuclei.out_of_plane": 0.5}), rng=0)
    beyond = item.masks["out_of_plane"] > 0
    assert beyond.any()
    np.testing.assert_array_equal(held_region(item, "empty"), held_region(item, "background") & ~beyond)


def test_the_background_keeps_a_margin_and_is_softened():
    item = sketch_item(load_preset("nuclei-2d", settings={"shape": [64, 64], "nuclei.count": 4}), rng=0)
    hard = soft_held_region(item, "background", softness=0)
    assert set(np.unique(hard)) == {0.0, 1.0} and hard.sum() < (item.labels == 0).sum()
    soft = soft_held_region(item, "background")
    assert soft.dtype == np.float32 and 0 < soft[(soft > 0) & (soft < 1)].size
    np.testing.assert_array_equal(soft_held_region(item, "objects", softness=0), item.labels > 0)


def test_retrack_drops_lost_tracks_and_adds_one_frame_tracks():
    labels = np.zeros((3, 8, 8), np.uint16)
    labels[:, 1, 1] = 1
    labels[2, 5, 5] = 4
    tracks = np.array([[1, 0, 2, 0], [2, 0, 1, 0], [3, 2, 2, 2]])
    out = retrack(tracks, labels, added=[4], lost=[2])
    assert out.tolist() == [[1, 0, 2, 0], [3, 2, 2, 0], [4, 2, 2, 0]]
    assert retrack(tracks, labels, added=[], lost=[]) is tracks


def test_a_retry_window_holds_what_disagreed_and_the_model_patch():
    wrong = np.zeros((3, 100, 50), bool)
    wrong[1, 2:6, 20:24] = True
    # frames whole; the box and twice the margin, at least the patch, inside the image
    window = retry_window(wrong, least=(32, 32))
    assert window[0] == slice(None) and window[1] == slice(0, 36)
    assert window[2].start <= 20 - 2 * RETRY_MARGIN and window[2].stop >= 24 + 2 * RETRY_MARGIN
    assert window[2].stop - window[2].start == 36
    # a patch larger than the image gives the whole axis; nothing wrong gives the whole image
    assert retry_window(wrong, least=(32, 64))[2] == slice(0, 50)
    assert retry_window(np.zeros((8, 8), bool), least=(4, 4)) == (slice(None), slice(None))
