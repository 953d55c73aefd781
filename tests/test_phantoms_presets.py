"""Presets: every one loads and makes an item; settings and bad keys; render ranges."""

import json

import numpy as np
import pytest
import yaml
from scipy import ndimage as ndi

from synthscope.errors import InputError
from synthscope.item import Item
from synthscope.phantoms import load_preset, nuclei, preset_names, render, sketch_item, timelapse

SMALL = {
    "nuclei-3d": {"shape": [16, 64, 64]},
    "tissue-3d": {"shape": [16, 64, 64]},
    "timelapse-2d": {"shape": [96, 96], "timelapse.frames": 4},
    "nuclei-2d-learned": {"shape": [96, 96]},
    "nuclei-3d-learned": {"shape": [12, 48, 48]},
}


def test_all_named_presets_exist():
    names = preset_names()
    for name in (
        "nuclei-2d",
        "nuclei-3d",
        "tissue-2d",
        "tissue-3d",
        "timelapse-2d",
        "nuclei-membrane-2d",
        "cilia",
        "cilia-oda-absent",
        "cilia-ida-absent",
        "cilia-transposition-gap",
        "cilia-peripheral-singlets",
    ):
        assert name in names


@pytest.mark.parametrize("name", [n for n in preset_names() if not n.startswith("cilia-")] + ["cilia-no-central-pair"])
def test_every_preset_makes_an_annotated_sketch(name):
    preset = load_preset(name, settings=SMALL.get(name))
    item = sketch_item(preset, rng=0)
    assert item.sketch.dtype == np.float32 and 0 <= item.sketch.min() and item.sketch.max() <= 1
    spatial = item.labels.shape[-len(preset["shape"]) :]
    assert spatial == tuple(preset["shape"]) and item.labels.max() > 0
    assert item.sketch.shape[-item.labels.ndim :] == item.labels.shape
    meta = item.metadata
    assert meta["preset"] == name and meta["generator"] == preset["generator"]
    assert meta["parameters"]["refine"] == preset["refine"]  # passed through for the pipeline
    rule = name[6:] if name.startswith("cilia-") else "normal" if name == "cilia" else None
    assert meta["diagnostic_class"] == rule
    assert json.loads(json.dumps(meta)) == meta  # written as it is by synthscope.io


def test_refine_sections_pass_through():
    assert load_preset("nuclei-2d")["refine"] == {
        "model": "nuclei-fluo-2d-out-of-plane-distilled",
        "condition": "mask+out_of_plane",
        "sampler": "ddim",
        "steps": 2,
        "t_start": 400,
        "hold": "empty",
    }
    assert load_preset("nuclei-3d")["refine"]["model"] == "nuclei-fluo-3d"
    assert "slice_rho" not in load_preset("nuclei-3d")["refine"]
    stages = load_preset("cilia-three-stage")["refine"]["stages"]
    assert stages == [
        {"t": 650, "hold": "axoneme"},
        {"t": 350, "hold": "axoneme_minus_tubules"},
        {"t": 250, "hold": None},
    ]


def test_one_stage_or_several(tmp_path):
    staged = load_preset("nuclei-2d", settings={"refine.stages": [{"t": 300, "hold": None}]})["refine"]
    assert "t_start" not in staged and "hold" not in staged
    assert load_preset("cilia", settings={"refine.t_start": 300})["refine"]["t_start"] == 300
    assert "stages" not in load_preset("cilia", settings={"refine.hold": "objects"})["refine"]
    both = tmp_path / "both.yaml"
    both.write_text(yaml.safe_dump({**load_preset("cilia"), "refine": {"stages": [{"t": 300}], "t_start": 300}}))
    with pytest.raises(InputError, match="refine.stages replaces refine.t_start and refine.hold"):
        load_preset(both)


def test_settings_change_nested_keys_and_swap_count_for_density():
    preset = load_preset(
        "cilia", settings={"cilia.axoneme.outer_arms": 0.5, "render.blur": 2.0, "shape": [256, 256], "cilia.scale": 0.5}
    )
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
        ({"refine.hold": "cytoplasm"}, "refine.hold must be one of"),
        ({"nuclei.count": 900}, "nuclei-2d: nuclei: cannot place 900 nuclei: at most about"),
        ({"nuclei.radius_distribution": "gamma"}, "nuclei.radius_distribution must be one of 'uniform', 'lognormal'"),
        ({"nuclei.out_of_focus_fraction": 1.5}, r"nuclei.out_of_focus_fraction must be in \[0, 1\]"),
        ({"nuclei.dividing_fraction": 0.6}, r"nuclei.dividing_fraction must be in \[0, 0.5\]"),
        ({"render.illumination": 1.0}, r"render.illumination must be in \[0, 1\)"),
        ({"render.background_texture": -0.1}, r"render.background_texture must be in \[0, 0.5\]"),
        ({"render.texture_scale": 0.5}, r"render.texture_scale must be in \[1, 1024\]"),
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
    path.write_text(
        "generator: cilia\nshape: [128, 128]\ncilia: {rule: ida-absent, scale: 0.3}\nrender: {modality: tem}\n"
    )
    item = sketch_item(load_preset(path), rng=0)
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


REALISTIC = {
    "nuclei.radius_distribution": "lognormal",
    "nuclei.out_of_focus_fraction": 0.2,
    "nuclei.dividing_fraction": 0.05,
    "render.illumination": 0.2,
    "render.background_texture": 0.02,
    "render.texture_scale": 8.0,
}


def test_presets_take_the_realism_options():
    item = sketch_item(load_preset("nuclei-2d", settings={"shape": [128, 128], **REALISTIC}), rng=0)
    assert item.sketch.dtype == np.float32 and 0 <= item.sketch.min() and item.sketch.max() <= 1
    assert any(o["defocus"] > 0 for o in item.metadata["objects"])
    with pytest.raises(InputError, match="nuclei-3d: nuclei.out_of_focus_fraction applies to 2D"):
        load_preset("nuclei-3d", settings={"nuclei.out_of_focus_fraction": 0.2})
    volume = sketch_item(
        load_preset(
            "nuclei-3d",
            settings={
                **{k: v for k, v in REALISTIC.items() if "focus" not in k},
                "shape": [16, 64, 64],
                "nuclei.dividing_fraction": 0.5,
            },
        ),
        rng=0,
    )
    assert volume.sketch.shape == (16, 64, 64) and any(o["pair"] for o in volume.metadata["objects"])


def _clean(item, **options):
    """A sketch without noise or texture, so that what an option does can be read off exactly."""
    return render(item, **{"texture": 0, "photons": 1e9, "read_noise": 0, "rng": 0, **options})


def _discs(shape=(64, 128), radius=12, **records):
    """Two equal discs at (32, 32) and (32, 96) with brightness 0.6 and the given extra record keys (id -> dict)."""
    y, x = np.ogrid[: shape[0], : shape[1]]
    labels = np.zeros(shape, np.uint16)
    labels[(y - 32) ** 2 + (x - 32) ** 2 <= radius**2] = 1
    labels[(y - 32) ** 2 + (x - 96) ** 2 <= radius**2] = 2
    objects = [{"id": i, "brightness": 0.6, **records.get(str(i), {})} for i in (1, 2)]
    return Item(labels=labels, axes="YX", metadata={"objects": objects})


def test_defocused_objects_are_blurred_more_and_in_focus_ones_keep_blur():
    sharp = _clean(_discs(), blur=1.0)
    mixed = _clean(_discs(**{"2": {"defocus": 0.8}}), blur=1.0)
    assert np.allclose(mixed[:, :64], sharp[:, :64], atol=1e-3)  # the in-focus disc is as it was
    edge = lambda image, cx: np.abs(np.diff(image[32, cx - 20 : cx + 20])).max()  # noqa: E731
    assert edge(mixed, 96) < 0.75 * edge(sharp, 96)  # sigma 1 * (1 + 0.8) = 1.8 instead of 1
    assert mixed[:, 64:].sum() == pytest.approx(sharp[:, 64:].sum(), rel=0.01)  # blur keeps the light
    reference = _discs()
    reference.labels[reference.labels == 1] = 0
    wide = _clean(reference, blur=1.8)
    assert np.allclose(mixed[:, 70:], wide[:, 70:], atol=2e-3)  # exactly a Gaussian of blur * (1 + h)


def test_haze_adds_unlabelled_out_of_focus_light_to_the_background():
    from synthscope.phantoms import nuclei

    item = nuclei((128, 128), count=12, radius=8, rng=0)
    clear = render(item, texture=0, photons=1e5, read_noise=0, rng=0)
    hazy = render(item, texture=0, photons=1e5, read_noise=0, haze=0.2, rng=0)
    background = item.labels == 0
    extra = (hazy - clear)[background]
    assert 0.02 < extra.mean() < 0.2 and extra.std() > 0.01  # blobs of peak <= 0.2 (overlaps add)
    cores = ndi.binary_erosion(item.labels > 0, iterations=3)
    assert abs(float(hazy[cores].mean() - clear[cores].mean())) < 0.003  # nuclei keep their levels
    with pytest.raises(InputError, match="haze"):
        render(item, haze=1.5)


def test_illumination_multiplies_objects_and_background_by_a_smooth_field():
    item = nuclei((128, 128), count=20, radius=8, brightness=(0.35, 0.6), mitotic_fraction=0, rng=0)  # never above 1
    labels = item.labels.copy()
    plain, lit = _clean(item), _clean(item, illumination=0.4)
    assert np.array_equal(item.labels, labels)
    field = lit / plain
    assert 0.6 - 1e-3 <= field.min() and field.max() <= 1.4 + 1e-3  # within 1 -/+ the amplitude ...
    assert np.abs(field - 1).max() == pytest.approx(0.4, abs=2e-3)  # ... reaching it at an extreme
    quadrants = [field[i : i + 64, j : j + 64].mean() for i in (0, 64) for j in (0, 64)]
    assert np.ptp(quadrants) > 0.05  # feature size about half the image: the quadrants differ
    assert np.abs(np.diff(field, axis=1)).max() < 0.03  # smooth: no step at object edges, objects and background alike
    ids = np.arange(1, 21)
    centres = np.round(ndi.center_of_mass(item.labels > 0, item.labels, ids)).astype(int)
    ratios = ndi.mean(lit, item.labels, ids) / ndi.mean(plain, item.labels, ids)
    assert ratios == pytest.approx(field[tuple(centres.T)], abs=0.03)  # each nucleus takes the field where it lies


def test_background_texture_adds_smooth_variation_of_the_given_amplitude():
    empty = Item(labels=np.zeros((128, 128), np.uint16), axes="YX")
    flat = _clean(empty, background=0.2, blur=0)
    varied = _clean(empty, background=0.2, blur=0, background_texture=0.05)
    assert flat.std() < 1e-3 and varied.std() == pytest.approx(0.05, rel=0.05)
    assert varied.mean() == pytest.approx(0.2, abs=0.03)
    assert np.abs(np.diff(varied, axis=0)).max() < 0.15 * 0.05 * 4  # features ~32 px: smooth
    clipped = _clean(empty, background=0.01, blur=0, background_texture=0.2)
    assert clipped.min() >= 0 and np.mean(clipped == 0) > 0.2
    item = nuclei((96, 96), count=6, radius=8, rng=0)
    objects = item.labels > 0
    assert np.allclose(_clean(item, blur=0, background_texture=0.1)[objects], _clean(item, blur=0)[objects], atol=1e-3)


def test_smaller_texture_scale_gives_finer_texture():
    labels = np.zeros((128, 128), np.uint16)
    labels[8:120, 8:120] = 1
    block = Item(labels=labels, axes="YX", metadata={"objects": [{"id": 1, "brightness": 0.5}]})
    inside = np.zeros(labels.shape, bool)
    inside[16:112, 16:112] = True
    energy = {}
    for scale in (4.0, 24.0):
        sketch = _clean(block, texture=0.3, texture_scale=scale, blur=0)
        fine = sketch - ndi.gaussian_filter(sketch, 2)
        energy[scale] = fine[inside].var() / sketch[inside].var()
        assert sketch[inside].std() / sketch[inside].mean() == pytest.approx(0.3, rel=0.2)  # same amplitude
    assert energy[4.0] > 5 * energy[24.0]


def test_render_options_work_alike_in_3d_and_in_time():
    volume = nuclei((16, 64, 64), count=6, radius=7, spacing=(2, 1, 1), dividing_fraction=0.3, rng=0)
    options = dict(illumination=0.3, background_texture=0.03, texture_scale=6.0, rng=0)
    sketch = render(volume, **options)
    assert sketch.shape == (16, 64, 64) and 0 <= sketch.min() and sketch.max() <= 1
    lit, plain = (_clean(volume, illumination=a) for a in (0.3, 0.0))
    field = lit / plain
    assert np.allclose(field, field[:1], atol=1e-3)  # illumination is a field over y and x, the same at every z
    movie = timelapse((64, 64), frames=3, count=4, radius=6, rng=0)
    movie.metadata["objects"] = [dict(o, defocus=0.5) for o in movie.metadata["objects"]]
    frames = render(movie, **options)
    assert frames.shape == (3, 64, 64) and 0 <= frames.min() and frames.max() <= 1
