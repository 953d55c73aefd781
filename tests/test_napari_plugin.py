"""The napari plugin in a real (offscreen) viewer: reader, writer, sample data and the three widgets."""

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
    assert [w.display_name for w in manifest.contributions.widgets] == ["Generate", "Segment", "Shape 3D"]


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


@pytest.fixture(scope="module")
def nuclei():
    """A 96 x 96 nuclei-2d sketch (10 nuclei) and its labels: small, and the bundled models' kind of image."""
    from synthscope.maker import make_item

    return make_item("nuclei-2d", 0, settings={**SKETCHES, "shape": [96, 96]})


def _dock(viewer, name):
    _, widget = viewer.window.add_plugin_dock_widget("synthscope", name)
    return {child.name: child for child in widget}


def _last_notification():
    from napari.utils.notifications import notification_manager

    return notification_manager.records[-1].message


def test_the_segment_widget_adds_labels_uncertainty_and_coarse_mask_placed_like_the_image(
    make_napari_viewer, qtbot, nuclei
):
    from synthscope.segment import Segmenter

    viewer = make_napari_viewer()
    viewer.add_image(nuclei.picture, name="nuclei", scale=(0.52, 0.52), translate=(3.0, 4.0))
    form = _dock(viewer, "Segment")
    form["ensemble"].value, form["steps"].value, form["coarse"].value = 2, 1, True
    form["segment"].native.click()
    qtbot.waitUntil(lambda: "nuclei labels" in _layers(viewer), timeout=60_000)
    layers = _layers(viewer)
    expected = Segmenter.load("nuclei-seg-2d")(nuclei.picture, ensemble=2, steps=1)
    labels = layers["nuclei labels"]
    np.testing.assert_array_equal(labels.data, expected.labels)
    assert len(np.unique(labels.data)) - 1 == len(np.unique(nuclei.labels)) - 1 == 10  # one object per nucleus
    overlap = (labels.data > 0) & (nuclei.labels > 0)
    assert overlap.sum() / ((labels.data > 0) | (nuclei.labels > 0)).sum() > 0.8
    uncertainty = layers["nuclei uncertainty"].data
    assert np.isfinite(uncertainty).all() and 0 <= uncertainty.min() and uncertainty.max() <= 1
    assert uncertainty[overlap].mean() < uncertainty[~overlap & (labels.data > 0)].mean()  # unsure at the edges
    coarse = layers["nuclei coarse mask"].data
    assert set(np.unique(coarse)) == {0, 1} and (coarse.astype(bool) == (expected.coarse > 0.5)).all()
    for layer in (labels, layers["nuclei uncertainty"], layers["nuclei coarse mask"]):
        np.testing.assert_allclose(layer.scale, (0.52, 0.52))
        np.testing.assert_allclose(layer.translate, (3.0, 4.0))
    assert labels.metadata["segmentation"]["refinement"]["ensemble"] == 2
    assert form["status"].value == "10 objects in nuclei" and form["segment"].enabled


def test_the_segment_widget_applies_its_postprocessing(make_napari_viewer, qtbot, nuclei):
    viewer = make_napari_viewer()
    viewer.add_image(nuclei.picture, name="nuclei")
    form = _dock(viewer, "Segment")
    form["refine"].value, form["postprocessing"].value = False, "min_size: 100000"  # larger than every nucleus
    form["segment"].native.click()
    qtbot.waitUntil(lambda: "nuclei labels" in _layers(viewer), timeout=60_000)
    assert _layers(viewer)["nuclei labels"].data.max() == 0 and form["status"].value == "0 objects in nuclei"
    assert _layers(viewer)["nuclei labels"].metadata["segmentation"]["postprocessing"]["min_size"] == 100000


def test_the_segment_widget_averages_an_rgb_layer_for_a_2d_model(make_napari_viewer, qtbot, nuclei):
    from synthscope.segment import Segmenter

    viewer = make_napari_viewer()
    viewer.add_image(np.repeat(nuclei.picture[..., None], 3, axis=-1), name="rgb", rgb=True)
    form = _dock(viewer, "Segment")
    form["refine"].value = False
    form["segment"].native.click()
    qtbot.waitUntil(lambda: "rgb labels" in _layers(viewer), timeout=60_000)
    expected = Segmenter.load("nuclei-seg-2d")(nuclei.picture, refine=False)
    np.testing.assert_array_equal(_layers(viewer)["rgb labels"].data, expected.labels)


@pytest.mark.parametrize(
    ("data", "postprocessing", "message"),
    [
        (np.zeros((2, 3, 32, 32), np.float32), "", "4 dimensions; the model segments YX images"),
        (np.zeros((8, 32, 32), np.float32), "", "ZYX; the model segments YX images"),
        (np.zeros((32, 32), np.float32), "erode: 1", "unknown keys ['erode']"),
    ],
)
def test_the_segment_widget_refuses_bad_input_with_a_notification(make_napari_viewer, data, postprocessing, message):
    viewer = make_napari_viewer()
    viewer.add_image(data, name="bad")
    form = _dock(viewer, "Segment")
    form["postprocessing"].value = postprocessing
    form["segment"].native.click()
    assert message in _last_notification() and "\n" not in _last_notification()
    assert form["status"].value.startswith("error:") and form["segment"].enabled and not form["cancel"].enabled
    assert [layer.name for layer in viewer.layers] == ["bad"]


def _shape_inputs(viewer, nuclei):
    viewer.add_image(nuclei.picture, name="nuclei", scale=(0.52, 0.52), translate=(3.0, 4.0))
    viewer.add_labels(nuclei.labels, name="cells", scale=(0.52, 0.52), translate=(3.0, 4.0))
    return _dock(viewer, "Shape 3D")


def test_the_shape3d_widget_adds_each_cells_shape_in_place_with_features(make_napari_viewer, qtbot, nuclei):
    viewer = make_napari_viewer()
    form = _shape_inputs(viewer, nuclei)
    form["ensemble"].value, form["steps"].value, form["z_spacing"].value = 2, 2, 1.04
    form["predict"].native.click()
    qtbot.waitUntil(lambda: "cells 3D" in _layers(viewer), timeout=60_000)
    layers = _layers(viewer)
    shapes, ids = layers["cells 3D"], [int(i) for i in np.unique(nuclei.labels) if i]
    volume = np.asarray(shapes.data)
    middle = volume.shape[0] // 2
    assert volume.ndim == 3 and volume.shape[1:] == (96, 96) and volume.shape[0] % 2 == 1
    assert [int(i) for i in np.unique(volume) if i] == ids  # every cell, under its 2D id
    for cell in ids:  # each shape stands on its cell: its middle plane covers most of the 2D mask
        section = volume[middle] == cell
        assert (section & (nuclei.labels == cell)).sum() > 0.7 * (nuclei.labels == cell).sum()
    np.testing.assert_allclose(shapes.scale, (1.04, 0.52, 0.52))
    np.testing.assert_allclose(shapes.translate, (-middle * 1.04, 3.0, 4.0))
    uncertainty = layers["cells 3D uncertainty"].data
    assert uncertainty.shape == volume.shape and np.isfinite(uncertainty).all() and uncertainty.max() > 0
    features = shapes.features
    assert list(features["index"]) == ids and (features["volume"] > 0).all()
    assert np.isfinite(features["volume_sd"]).all() and (features["volume_sd"] > 0).any()  # two shapes differ
    table = form["features"].to_dataframe()
    assert list(table["label"]) == ids and np.allclose(table["volume"], features["volume"])
    assert form["status"].value == "3D shapes of 10 cells of cells"


def test_the_shape3d_widget_predicts_one_chosen_cell(make_napari_viewer, qtbot, nuclei):
    viewer = make_napari_viewer()
    form = _shape_inputs(viewer, nuclei)
    form["label"].value, form["ensemble"].value, form["steps"].value = 3, 1, 2
    form["predict"].native.click()
    qtbot.waitUntil(lambda: "cells 3D" in _layers(viewer), timeout=60_000)
    assert set(np.unique(_layers(viewer)["cells 3D"].data)) == {0, 3}
    assert list(_layers(viewer)["cells 3D"].features["index"]) == [3]


def test_the_shape3d_widget_completes_one_chosen_cut_cell_by_the_size_of_all_cells(make_napari_viewer, qtbot, nuclei):
    from synthscope.shape3d import predict
    from synthscope.shape3d.cells import complete_at_edge

    labels = nuclei.labels
    at_edge = sorted(set(np.unique(np.r_[labels[[0, -1]].ravel(), labels[:, [0, -1]].ravel()])) - {0})
    cut = int(next(i for i in at_edge if complete_at_edge(labels == i)[1] == 0))  # no ellipse: needs the size
    viewer = make_napari_viewer()
    form = _shape_inputs(viewer, nuclei)
    form["label"].value, form["ensemble"].value, form["steps"].value = cut, 1, 2
    form["predict"].native.click()
    qtbot.waitUntil(lambda: "cells 3D" in _layers(viewer), timeout=60_000)
    chosen = _layers(viewer)["cells 3D"].features["volume"][0]
    among_all = predict(nuclei.picture, labels, ensemble=1, steps=2, spacing=(0.52, 0.52, 0.52)).features
    assert chosen == pytest.approx(next(row["volume"] for row in among_all if row["label"] == cut), rel=1e-6)


@pytest.mark.parametrize(
    ("label", "rgb", "message"),
    [(99, False, "cells': has no label 99"), (0, True, "expected a 2D single-channel layer")],
)
def test_the_shape3d_widget_refuses_bad_input_with_a_notification(make_napari_viewer, nuclei, label, rgb, message):
    viewer = make_napari_viewer()
    picture = np.repeat(nuclei.picture[..., None], 3, axis=-1) if rgb else nuclei.picture
    viewer.add_image(picture, name="nuclei", rgb=rgb)
    viewer.add_labels(nuclei.labels, name="cells")
    form = _dock(viewer, "Shape 3D")
    form["label"].value = label
    form["predict"].native.click()
    assert message in _last_notification() and form["status"].value.startswith("error:")
    assert [layer.name for layer in viewer.layers] == ["nuclei", "cells"]


def test_the_shape3d_widget_cancels_between_cells(make_napari_viewer, qtbot, nuclei):
    viewer = make_napari_viewer()
    form = _shape_inputs(viewer, nuclei)
    form["ensemble"].value, form["steps"].value = 1, 20
    form["predict"].native.click()
    qtbot.waitUntil(lambda: form["progress"].value >= 1, timeout=60_000)
    form["cancel"].native.click()
    qtbot.waitUntil(lambda: form["status"].value == "cancelled", timeout=60_000)
    assert form["progress"].value < 10 and form["predict"].enabled and not form["cancel"].enabled
    assert [layer.name for layer in viewer.layers] == ["nuclei", "cells"]


def test_an_error_in_the_worker_is_notified_and_adds_nothing(make_napari_viewer, qtbot, nuclei):
    viewer = make_napari_viewer()
    viewer.add_image(nuclei.picture, name="nuclei", scale=(0.5, 0.6))  # predict needs square pixels
    viewer.add_labels(nuclei.labels, name="cells")
    form = _dock(viewer, "Shape 3D")
    form["predict"].native.click()
    qtbot.waitUntil(lambda: form["status"].value.startswith("error:"), timeout=60_000)
    assert "Y and X must be equal" in _last_notification() and form["predict"].enabled
    assert [layer.name for layer in viewer.layers] == ["nuclei", "cells"]
