"""``synthscope fit`` on awkward examples: real crops, few objects, nothing to measure for a statistic.

Every fit must give a preset that `load_preset` accepts, with no NaN in it; a statistic
the examples cannot give is stated by one `FitWarning` each, and no other warning (from
numpy or elsewhere) reaches the user.
"""

import json
import math
import warnings

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from synthscope.cli import app
from synthscope.io import write_image
from synthscope.phantoms import load_preset, sketch_item
from synthscope.phantoms.fit import FitWarning, fit_preset
from synthscope.sample_data import SPECIMENS

# A nucleus of HeLa train frame 0 spans columns 939-975 of rows 423-463: a crop that
# ends at column 941 keeps a sliver of it two pixels wide (the first report of NaN).
SLIVER = np.s_[330:522, 749:941]
TEN_NUCLEI = np.s_[128:288, 320:480]  # 10 nuclei in HeLa train frame 0
NO_SECTIONS = {
    "shape": [64, 64],
    "nuclei.radius": [7.0, 10.0],
    "nuclei.density": 0.3,
    "nuclei.mitotic_fraction": 0.0,
    "nuclei.out_of_focus_fraction": 0.0,
    "nuclei.out_of_plane": 0.0,
    "render.haze": 0.0,
}


@pytest.fixture(scope="module")
def hela():
    images, labels = SPECIMENS["hela"].load("train")
    return images[:2], labels[:2]


@pytest.fixture(scope="module")
def plain():
    """Three 64x64 sketches (15 nuclei) without mitoses, sections or unlabelled light, and their labels."""
    items = [sketch_item(load_preset("nuclei-2d", settings=NO_SECTIONS), rng=i) for i in range(3)]
    return [i.sketch for i in items], [i.labels for i in items]


def fitted(images, labels, tmp_path, **options):
    """Fit, check the preset (loads, no NaN, sketches) and return it with the messages of its warnings.

    Any warning other than a `FitWarning` fails the test.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        preset = fit_preset(images, labels, rng=0, **options)
    others = [f"{w.category.__name__}: {w.message}" for w in caught if not issubclass(w.category, FitWarning)]
    assert not others, others
    assert not [v for v in _numbers(preset) if not math.isfinite(v)], preset
    path = tmp_path / "fitted.yaml"
    path.write_text(yaml.safe_dump(preset, sort_keys=False))
    sketch_item(load_preset(path), rng=0)
    return preset, [str(w.message) for w in caught]


def _numbers(value):
    if isinstance(value, dict):
        return [n for v in value.values() for n in _numbers(v)]
    if isinstance(value, list | tuple):
        return [n for v in value for n in _numbers(v)]
    return [float(value)] if isinstance(value, int | float) and not isinstance(value, bool) else []


def _keys(messages):
    return sorted(m.split(":")[0] for m in messages)


def test_fit_on_hela_crops_that_cut_a_nucleus_to_a_sliver(hela, tmp_path):
    images, labels = hela
    preset, _ = fitted([images[0][SLIVER], images[1][:192, :192]], [labels[0][SLIVER], labels[1][:192, :192]], tmp_path)
    assert 5 < np.mean(preset["nuclei"]["radius"]) < 30, preset["nuclei"]


def test_fit_on_ten_hela_nuclei(hela, tmp_path):
    images, labels = hela
    assert len(np.unique(labels[0][TEN_NUCLEI])) - 1 == 10
    fitted([images[0][TEN_NUCLEI]], [labels[0][TEN_NUCLEI]], tmp_path)


def test_fit_on_one_cho_frame(tmp_path):
    images, labels = SPECIMENS["cho"].load("train")
    fitted(images[:1], labels[:1], tmp_path)


def test_statistics_without_examples_fall_back_to_stated_values(plain, tmp_path):
    preset, messages = fitted(*plain, tmp_path)
    assert _keys(messages) == ["nuclei.mitotic_fraction", "nuclei.out_of_focus_fraction", "nuclei.out_of_plane"]
    assert all(m.endswith("; using 0.0") for m in messages), messages
    nuclei = preset["nuclei"]
    assert nuclei["mitotic_fraction"] == nuclei["out_of_focus_fraction"] == nuclei["out_of_plane"] == 0.0


def test_few_sections_keep_the_base_dimming(plain, tmp_path):
    images, labels = plain[0], [label.copy() for label in plain[1]]
    y, x = np.indices(labels[0].shape)
    for n in (1, 2):  # two nuclei labelled as small sections: a disc of radius 3 at the middle
        ys, xs = np.nonzero(labels[0] == n)
        labels[0][(labels[0] == n) & ((y - ys.mean()) ** 2 + (x - xs.mean()) ** 2 > 9)] = 0
    preset, messages = fitted(images, labels, tmp_path)
    assert "nuclei.defocus_dimming" in _keys(messages) and preset["nuclei"]["out_of_focus_fraction"] > 0
    assert preset["nuclei"]["defocus_dimming"] == load_preset("nuclei-2d")["nuclei"]["defocus_dimming"]


def test_fit_on_nuclei_too_small_for_the_base_spacing(tmp_path):
    # nuclei-2d spaces nuclei 19.5 pixels apart: 2-pixel nuclei need another packing.
    settings = {**NO_SECTIONS, "shape": [48, 48], "nuclei.radius": [1.5, 2.5], "nuclei.min_distance": 0}
    items = [sketch_item(load_preset("nuclei-2d", settings=settings), rng=i) for i in range(2)]
    preset = fitted([i.sketch for i in items], [i.labels for i in items], tmp_path)[0]
    assert preset["nuclei"]["min_distance"] < 19.5 and preset["render"]["texture_scale"] >= 1


def test_fit_on_a_flat_background(plain, tmp_path):
    labels = plain[1]
    images = [np.where(label > 0, 0.5, 0.1).astype(np.float32) for label in labels]  # no noise: no variance at all
    render = fitted(images, labels, tmp_path)[0]["render"]
    assert render["read_noise"] == 0.0 and render["photons"] == 1e5 and render["haze"] == 0.0, render


def test_fit_without_background(tmp_path):
    # Squares that tile the image: no pixel is far from a label, so background, haze,
    # blur and noise cannot be measured.
    labels = (np.arange(96)[:, None] // 16 * 6 + np.arange(96)[None, :] // 16 + 1).astype(np.uint16)
    image = np.random.default_rng(0).uniform(0.3, 0.6, labels.max() + 1)[labels].astype(np.float32)
    preset, messages = fitted([image], [labels], tmp_path)
    assert {"render.background", "render.haze", "render.blur", "render.photons, render.read_noise"} <= set(
        _keys(messages)
    )
    kept = ("background", "haze", "blur", "photons", "read_noise")
    base = load_preset("nuclei-2d")["render"]
    assert {k: preset["render"][k] for k in kept} == {k: base[k] for k in kept}


def test_fit_on_a_small_volume_with_a_nucleus_cut_by_its_top(tmp_path):
    settings = {"shape": [10, 32, 32], "nuclei.radius": [3.0, 5.0], "nuclei.density": 0.3}
    items = [sketch_item(load_preset("nuclei-3d", settings=settings), rng=i) for i in range(2)]
    labels = [i.labels.copy() for i in items]
    labels[0][0, 1:6, 1:6] = labels[0].max() + 1  # one plane thick: its convex hull has no volume
    preset, _ = fitted([i.sketch for i in items], labels, tmp_path, base="nuclei-3d", spacing=[0.58, 0.52, 0.52])
    assert preset["shape"] == [10, 32, 32] and "out_of_focus_fraction" not in preset["nuclei"]


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_cli_fit_prints_one_line_per_fallback(plain, tmp_path):
    (tmp_path / "mine" / "images").mkdir(parents=True)
    (tmp_path / "mine" / "masks").mkdir()
    for n, (image, label) in enumerate(zip(*plain)):
        write_image(tmp_path / "mine" / "images" / f"{n}.tif", (image * 4000).astype(np.uint16), axes="YX")
        write_image(tmp_path / "mine" / "masks" / f"{n}.tif", label, axes="YX")
    out = tmp_path / "fitted.yaml"
    result = CliRunner().invoke(
        app, ["fit", str(tmp_path / "mine"), "--out", str(out), "--percentiles", "1,99.8", "--check", "2"]
    )
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("warning: ")]
    assert [line.split(":")[1].strip() for line in lines] == [
        "nuclei.mitotic_fraction",
        "nuclei.out_of_focus_fraction",
        "nuclei.out_of_plane",
    ], result.output
    assert "Warning" not in result.output and load_preset(out)
    assert len(json.loads(out.with_suffix(".fit.json").read_text())["warnings"]) == 3
