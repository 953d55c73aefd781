"""The napari plugin in a real (offscreen) viewer: reader, writer, sample data and the Generate widget."""

import os

import numpy as np
import pytest

napari = pytest.importorskip("napari")
pytest.importorskip("pytestqt")
if not os.environ.get("DISPLAY"):  # Qt's offscreen platform has no OpenGL for the canvas
    pytest.skip("napari's canvas needs a display: run under xvfb-run (make test-napari)", allow_module_level=True)

from synthscope.io import ImageData, read_dataset  # noqa: E402
from synthscope.io.omezarr import write_omezarr  # noqa: E402
from synthscope.pipeline import generate  # noqa: E402

SKETCHES = {"refine.model": None}
CILIA = {**SKETCHES, "shape": [128, 128], "cilia.scale": 0.2, "cilia.neighbours": 0}


@pytest.fixture(scope="module")
def cilia_set(tmp_path_factory):
    return generate("cilia", count=2, out=tmp_path_factory.mktemp("cilia") / "set", settings=CILIA)


def _layers(viewer):
    return {layer.name: layer for layer in viewer.layers}


def test_the_manifest_is_found_and_valid():
    from npe2 import PluginManager

    manager = PluginManager.instance()
    manager.discover()
    manifest = manager.get_manifest("synthscope")
    assert {c.key for c in manifest.contributions.sample_data} == {"nuclei-2d", "cilia"}
    assert [w.display_name for w in manifest.contributions.widgets] == ["Generate"]


def test_a_data_set_opens_as_stacked_layers_scaled_by_its_spacing(make_napari_viewer, cilia_set):
    viewer = make_napari_viewer()
    viewer.open(cilia_set, plugin="synthscope")
    layers = _layers(viewer)
    assert {"set sketch", "set labels", "set classes", "set axoneme"} <= set(layers)
    labels = layers["set labels"]
    assert labels.data.shape == (2, 128, 128) and labels.data.dtype == np.uint16
    np.testing.assert_allclose(labels.scale, (1.0, 0.0012, 0.0012))
    assert layers["set classes"].visible is False
    np.testing.assert_array_equal(labels.data[1], read_dataset(cilia_set).load(1).labels)


def test_one_item_opens_from_its_record(make_napari_viewer, cilia_set):
    viewer = make_napari_viewer()
    viewer.open(cilia_set / "items" / "00001.json", plugin="synthscope")
    assert _layers(viewer)["set 00001 labels"].data.shape == (128, 128)


def test_an_ome_zarr_image_opens_with_its_labels_and_pixel_size(make_napari_viewer, tmp_path):
    image = np.random.default_rng(0).random((2, 16, 24), dtype=np.float32)
    cells = np.zeros((16, 24), np.uint16)
    cells[4:9, 5:12] = 1
    write_omezarr(tmp_path / "a.zarr", ImageData(image, "CYX", {"Y": 0.3, "X": 0.3}), labels={"cells": cells})
    viewer = make_napari_viewer()
    viewer.open(tmp_path / "a.zarr", plugin="synthscope")
    layers = _layers(viewer)
    assert len([layer for layer in viewer.layers if layer.__class__.__name__ == "Image"]) == 2  # one per channel
    np.testing.assert_array_equal(layers["cells"].data, cells)
    np.testing.assert_allclose(layers["cells"].scale, (0.3, 0.3))


def test_layers_from_a_data_set_save_back_as_the_same_items(make_napari_viewer, cilia_set, tmp_path):
    viewer = make_napari_viewer()
    viewer.open(cilia_set, plugin="synthscope")
    viewer.layers.selection = {viewer.layers["set sketch"], viewer.layers["set labels"]}
    viewer.layers.save(str(tmp_path / "saved"), selected=True, plugin="synthscope")
    saved, original = read_dataset(tmp_path / "saved"), read_dataset(cilia_set)
    assert len(saved) == 2
    for index in range(2):
        np.testing.assert_array_equal(saved.load(index).labels, original.load(index).labels)
        np.testing.assert_array_equal(saved.load(index).image, original.load(index).sketch)
        assert saved.load(index).spacing == {"Y": 0.0012, "X": 0.0012}


def test_a_painted_raw_image_saves_as_one_item_with_its_mapping_recorded(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    viewer.add_image(np.arange(32 * 32, dtype=np.uint16).reshape(32, 32), name="raw", scale=(0.5, 0.5))
    labels = viewer.add_labels(np.zeros((32, 32), np.int32), name="cells", scale=(0.5, 0.5))
    labels.data[3:9, 3:9] = 4
    viewer.layers.selection = set(viewer.layers)
    with pytest.warns(UserWarning, match="mapped to"):
        viewer.layers.save(str(tmp_path / "painted"), selected=True, plugin="synthscope")
    item = read_dataset(tmp_path / "painted").load(0)
    assert item.labels.dtype == np.uint16 and item.labels.max() == 4 and item.spacing == {"Y": 0.5, "X": 0.5}
    assert item.metadata["normalisation"] == {"low": 0.0, "high": 1023.0} and item.image.max() == 1.0


@pytest.mark.parametrize(("sample", "image"), [("cilia", "cilia sketch"), ("nuclei-2d", "nuclei-2d image")])
def test_sample_data(make_napari_viewer, sample, image):
    viewer = make_napari_viewer()
    viewer.open_sample("synthscope", sample)
    layers = _layers(viewer)
    assert image in layers and layers[image].data.dtype == np.float32
    assert layers[f"{sample} labels"].data.max() > 0


def _generate_widget(viewer):
    _, widget = viewer.window.add_plugin_dock_widget("synthscope", "Generate")
    return {child.name: child for child in widget}


def test_the_generate_widget_adds_the_items_as_layers(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    form = _generate_widget(viewer)
    form["count"].value, form["shape"].value, form["seed"].value = 3, "64, 64", 5
    form["refine"].value = False
    form["generate"].native.click()
    qtbot.waitUntil(lambda: "nuclei-2d labels" in _layers(viewer), timeout=60_000)
    from synthscope.maker import make_item

    expected = make_item("nuclei-2d", 2, rng=5, settings={**SKETCHES, "shape": [64, 64]})
    np.testing.assert_array_equal(_layers(viewer)["nuclei-2d labels"].data[2], expected.labels)
    assert form["items"].value == 3 and form["generate"].enabled


def test_the_generate_widget_refuses_bad_settings_before_starting(make_napari_viewer):
    viewer = make_napari_viewer()
    form = _generate_widget(viewer)
    form["settings"].value = "nuclei.colour: 1"
    form["generate"].native.click()
    assert form["status"].value.startswith("error:") and "nuclei.colour" in form["status"].value
    assert form["generate"].enabled and not form["cancel"].enabled and len(viewer.layers) == 0


def test_the_generate_widget_cancels_between_items(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    form = _generate_widget(viewer)
    form["count"].value, form["shape"].value, form["steps"].value = 200, "64, 64", 0
    form["generate"].native.click()
    qtbot.waitUntil(lambda: form["items"].value >= 1, timeout=60_000)
    form["cancel"].native.click()
    qtbot.waitUntil(lambda: form["status"].value == "cancelled", timeout=60_000)
    assert len(viewer.layers) == 0 and form["items"].value < 200
