"""Presets: every one loads and makes an item; settings and bad keys; render ranges."""

import json

import numpy as np
import pytest

from synthscope.errors import InputError
from synthscope.item import Item
from synthscope.phantoms import held_region, load_preset, make_item, nuclei, preset_names, render

SMALL = {"nuclei-3d": {"shape": [16, 64, 64]}, "tissue-3d": {"shape": [16, 64, 64]},
         "timelapse-2d": {"shape": [96, 96], "timelapse.frames": 4}}


def test_all_named_presets_exist():
    names = preset_names()
    for name in ("nuclei-2d", "nuclei-3d", "tissue-2d", "tissue-3d", "timelapse-2d", "nuclei-membrane-2d", "cilia",
                 "cilia-oda-absent", "cilia-ida-absent", "cilia-transposition-gap", "cilia-peripheral-singlets"):
        assert name in names


@pytest.mark.parametrize("name", [n for n in preset_names() if not n.startswith("cilia-")] + ["cilia-no-central-pair"])
def test_every_preset_makes_an_annotated_sketch(name):
    preset = load_preset(name, settings=SMALL.get(name))
    item = make_item(preset, rng=0)
    assert item.sketch.dtype == np.float32 and 0 <= item.sketch.min() and item.sketch.max() <= 1
    spatial = item.labels.shape[-len(preset["shape"]):]
    assert spatial == tuple(preset["shape"]) and item.labels.max() > 0
    assert item.sketch.shape[-item.labels.ndim:] == item.labels.shape
    meta = item.metadata
    assert meta["preset"] == name and meta["generator"] == preset["generator"]
    assert meta["parameters"]["refine"] == preset["refine"]  # passed through for the pipeline
    rule = name[6:] if name.startswith("cilia-") else "normal" if name == "cilia" else None
    assert meta["diagnostic_class"] == rule
    assert json.loads(json.dumps(meta)) == meta  # written as it is by synthscope.io


def test_refine_sections_pass_through():
    assert load_preset("nuclei-2d")["refine"] == {"model": "nuclei-fluo-2d-masked", "condition": "mask", "sampler": "dpm", "steps": 10,
                                                   "t_start": 400, "hold_background": True}
    assert load_preset("nuclei-3d")["refine"]["slice_rho"] == 1.0
    stages = load_preset("cilia-oda-absent")["refine"]["stages"]
    assert stages == [{"t": 650, "hold": "axoneme"}, {"t": 350, "hold": "axoneme_minus_tubules"},
                      {"t": 250, "hold": None}]


def test_held_regions_come_from_the_masks():
    item = make_item(load_preset("cilia", settings={"cilia.neighbours": 0}), rng=1)
    axoneme = held_region(item, "axoneme")
    minus = held_region(item, "axoneme_minus_tubules")
    assert np.array_equal(minus, axoneme & (item.labels == 0))
    assert np.array_equal(held_region(item, "background"), item.labels == 0)
    with pytest.raises(InputError, match="'nucleoli' is not a region"):
        held_region(item, "nucleoli")


def test_settings_change_nested_keys_and_swap_count_for_density():
    preset = load_preset("cilia", settings={"cilia.axoneme.outer_arms": 0.5, "render.blur": 2.0, "shape": [256, 256],
                                             "cilia.scale": 0.5})
    assert preset["cilia"]["axoneme"] == {"outer_arms": 0.5} and preset["render"]["blur"] == 2.0
    preset = load_preset("nuclei-2d", settings={"nuclei.count": 30})
    assert preset["nuclei"]["count"] == 30 and "density" not in preset["nuclei"]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"nuclei.colour": 1}, "nuclei-2d: nuclei.colour is not a parameter of nuclei"),
        ({"colour": 1}, "nuclei-2d: colour is not a preset key"),
        ({"nuclei.radius": -1}, r"nuclei-2d: nuclei.radius must be in \[1, "),
        ({"render.modality": "xray"}, "nuclei-2d: render.modality must be one of"),
        ({"render.glow": 1}, "nuclei-2d: render.glow is not a parameter of render"),
        ({"refine.t_start": 5000}, r"nuclei-2d: refine.t_start must be in \[1, 999\]"),
        ({"refine.stages": [{"t": 300, "hold": "cytoplasm"}]}, "refine.stages.hold must be one of"),
        ({"refine.temperature": 1}, "refine.temperature is not a refinement key"),
        ({"nuclei.count": 900}, "cannot place 900 nuclei: at most about"),
        ({"shape": [4, 4]}, "shape sizes must be in"),
    ],
)
def test_bad_settings_are_named_before_any_work(settings, message):
    with pytest.raises(InputError, match=message):
        load_preset("nuclei-2d", settings=settings)


def test_unknown_preset_and_user_files(tmp_path):
    with pytest.raises(InputError, match="neither a file nor one of .*nuclei-2d"):
        load_preset("no-such-preset")
    path = tmp_path / "mine.yaml"
    path.write_text("generator: cilia\nshape: [128, 128]\ncilia: {rule: ida-absent, scale: 0.3}\n"
                    "render: {modality: tem}\n")
    item = make_item(load_preset(path), rng=0)
    assert item.metadata["preset"] == "mine" and not item.masks["inner_arms"].any()
    path.write_text("generator: cilia\nshape: [128, 128]\ncilia: {rule: broken}\n")
    with pytest.raises(InputError, match="mine: cilia.rule must be one of normal"):
        load_preset(path)


def test_fluorescence_sketch_has_the_documented_ranges():
    item = nuclei((128, 128), count=20, radius=8, rng=0)
    sketch = render(item, rng=0)
    assert 0.05 <= np.median(sketch[item.labels == 0]) <= 0.15
    assert 0.3 <= np.median(sketch[item.labels > 0]) <= 0.9
    again = render(item, rng=0)
    assert np.array_equal(sketch, again) and not np.array_equal(sketch, render(item, rng=1))


def test_render_rejects_what_the_item_cannot_show():
    item = nuclei((64, 64), count=3, radius=6, rng=0)
    with pytest.raises(InputError, match="modality 'tem' needs a cilia item"):
        render(item, modality="tem")
    with pytest.raises(InputError, match="channel 'membrane' is not a mask of this item"):
        render(item, channel="membrane")


def test_airy_psf_has_rings_and_keeps_the_range():
    labels = np.zeros((64, 64), np.uint16)
    labels[32, 32] = 1
    point = Item(labels=labels, axes="YX", metadata={"objects": [{"id": 1, "brightness": 1.0}]})
    options = dict(background=0, texture=0, blur=2.0, photons=1e9, read_noise=0, rng=0)
    airy, gaussian = render(point, psf="airy", **options), render(point, **options)
    assert airy[32, 32 + 6] < airy[32, 32 + 8]  # the first dark ring, then the first bright ring
    assert gaussian[32, 32 + 6] > gaussian[32, 32 + 8]
    assert airy.sum() == pytest.approx(gaussian.sum(), rel=0.05)
    volume = render(nuclei((12, 48, 48), count=3, radius=6, spacing=(2, 1, 1), rng=0), psf="airy", rng=0)
    assert volume.shape == (12, 48, 48) and 0 <= volume.min() and volume.max() <= 1
