"""The shape model end to end on tiny sizes: it trains, samples ensembles, predicts objects, and the CLI writes them."""

import dataclasses

import numpy as np
import pytest
import yaml
from cli_helpers import assert_one_error, run, snapshot

from synthscope.diffusion import Denoiser, save_denoiser
from synthscope.errors import InputError
from synthscope.io import read_image, write_image
from synthscope.shape3d import FEATURES, ShapeTraining, phantom_cells, predict, train_shape3d
from synthscope.shape3d.model import SHAPE_MODEL, binary_shape, sample_shapes

SIZE = 16


def iou(a, b):
    return np.sum(a & b) / np.sum(a | b)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("shape-model")
    settings = ShapeTraining(
        out=str(folder), source="nuclei", cells=32, size=SIZE, channels=(8, 8), steps=100, batch_size=4, lr=2e-3
    )
    model, stats = train_shape3d(settings)
    return model, stats, folder


def test_training_lowers_the_loss_and_the_shapes_follow_the_section(trained):
    model, stats, _ = trained
    assert stats["final_loss"] < 0.5 * stats["first_loss"]
    untrained = Denoiser(model.config).eval()
    cells = phantom_cells("nuclei", 4, size=SIZE, rng=77)  # cells the model did not see
    scores = {"trained": [], "untrained": []}
    for name, net in (("trained", model), ("untrained", untrained)):
        for k in range(4):
            draws = sample_shapes(net, cells.images[k], cells.masks[k], ensemble=2, steps=4, rng=k)
            scores[name].append(iou(draws.mean(axis=0) > 0.5, cells.shapes[k]))
    assert np.mean(scores["trained"]) > 0.4 and np.mean(scores["trained"]) > np.mean(scores["untrained"]) + 0.2


def test_an_ensemble_is_one_batch_of_different_draws_and_a_seed_repeats_it(trained):
    model = trained[0]
    cells = phantom_cells("nuclei", 1, size=SIZE, rng=3)
    draws = sample_shapes(model, cells.images[0], cells.masks[0], ensemble=3, steps=3, rng=5)
    again = sample_shapes(model, cells.images[0], cells.masks[0], ensemble=3, steps=3, rng=5)
    assert draws.shape == (3, SIZE, SIZE, SIZE) and np.array_equal(draws, again)
    assert not np.array_equal(draws[0], draws[1])
    shape, member_volume = binary_shape(draws), np.mean(np.sum(draws > 0.5, axis=(1, 2, 3)))
    assert shape.sum() == pytest.approx(member_volume, abs=1) and shape[draws.mean(axis=0) > 0.9].all()
    with pytest.raises(InputError, match="grid"):
        sample_shapes(model, cells.images[0][:8], cells.masks[0], ensemble=2)


def test_predict_puts_each_object_back_at_its_place_and_size(trained):
    model = trained[0]
    labels = np.zeros((60, 80), np.uint16)
    yy, xx = np.mgrid[:60, :80]
    labels[(yy - 20) ** 2 + (xx - 20) ** 2 <= 8**2] = 3
    labels[((yy - 38) / 10) ** 2 + ((xx - 55) / 16) ** 2 <= 1] = 7
    image = np.where(labels > 0, 200.0, 20.0)
    result = predict(image, labels, model=model, ensemble=2, steps=3, spacing=(0.5, 0.5, 0.5))
    middle = result.labels[result.labels.shape[0] // 2]
    for label in (3, 7):
        assert iou(middle == label, labels == label) > 0.6
    volumes = {row["label"]: row["volume"] for row in result.features}
    assert volumes[7] > 2 * volumes[3]  # the larger section gives the larger shape, in um^3
    assert set(FEATURES) <= set(result.features[0]) and len(result.members) == 4
    assert result.uncertainty.min() >= 0 and result.uncertainty.max() <= 0.25
    coarse = predict(image, labels, model=model, ensemble=2, steps=3, spacing=(1.0, 0.5, 0.5))
    assert coarse.labels.shape[0] < result.labels.shape[0]  # planes twice as far apart: half as many


def test_an_object_cut_by_the_image_edge_is_flagged_and_put_back_inside_the_image(trained):
    yy, xx = np.mgrid[:40, :50]
    labels = np.zeros((40, 50), np.uint16)
    labels[(yy - 20) ** 2 + (xx - 3) ** 2 <= 10**2] = 1  # its left third lies beyond the image
    labels[(yy - 20) ** 2 + (xx - 33) ** 2 <= 8**2] = 2
    result = predict(np.where(labels > 0, 200.0, 20.0), labels, model=trained[0], ensemble=2, steps=3)
    assert {row["label"]: row["cut"] for row in result.features} == {1: True, 2: False}
    middle = result.labels[result.labels.shape[0] // 2]
    assert iou(middle == 1, labels == 1) > 0.6
    whole = {row["label"]: row["volume"] for row in result.features}  # on the grid: the whole cell
    assert whole[1] > whole[2]


def test_a_sliver_at_the_edge_is_predicted_at_the_size_of_the_images_other_objects(trained):
    yy, xx = np.mgrid[:50, :80]
    labels = np.zeros((50, 80), np.uint16)
    for label, (cy, cx) in enumerate([(25, 30), (25, 60), (25, -8)], 1):  # 3: 4 px of a disc like the others
        labels[(yy - cy) ** 2 + (xx - cx) ** 2 <= 11**2] = label
    image = np.where(labels > 0, 200.0, 20.0)
    volumes = {}
    alone = np.where(labels == 3, labels, 0)
    for name, objects, diameter in (("with others", labels, None), ("alone", alone, None), ("told", alone, 22.0)):
        result = predict(image, objects, model=trained[0], ensemble=2, steps=3, diameter=diameter)
        volumes[name] = {row["label"]: row["volume"] for row in result.features}
    whole = np.mean([volumes["with others"][1], volumes["with others"][2]])
    assert 0.4 < volumes["with others"][3] / whole < 2.5  # completed by the circle of the others' size
    assert volumes["alone"][3] < 0.3 * whole  # no other object, no circle: the sliver's own size
    assert volumes["with others"][3] > 10 * volumes["alone"][3]
    assert 0.4 < volumes["told"][3] / whole < 2.5  # the diameter given instead of measured


def test_predict_refuses_bad_input_before_any_work(trained):
    model = trained[0]
    with pytest.raises(InputError, match="no object"):
        predict(np.zeros((20, 20)), np.zeros((20, 20), np.uint16), model=model)
    with pytest.raises(InputError, match="2D"):
        predict(np.zeros((4, 20, 20)), np.zeros((4, 20, 20), np.uint16), model=model)
    with pytest.raises(InputError, match="square"):
        predict(np.zeros((20, 20)), np.ones((20, 20), np.uint16), model=model, spacing=(1, 1, 2))
    with pytest.raises(InputError, match="diameter"):
        predict(np.zeros((20, 20)), np.ones((20, 20), np.uint16), model=model, diameter=0.0)
    not_a_shape_model = Denoiser(dataclasses.replace(SHAPE_MODEL, condition_channels=1))
    with pytest.raises(InputError, match="not a shape model"):
        predict(np.zeros((20, 20)), np.ones((20, 20), np.uint16), model=not_a_shape_model)


def test_the_cli_trains_from_yaml_and_writes_every_output(trained, capsys, tmp_path):
    spec = {"out": "model", "source": "rbc", "cells": 4, "size": SIZE, "channels": [8, 8], "steps": 2}
    (tmp_path / "train.yaml").write_text(yaml.safe_dump({**spec, "batch_size": 2}))
    code, _, err = run(capsys, "train-shape3d", tmp_path / "train.yaml")
    assert code == 0 and (tmp_path / "model" / "ema.safetensors").is_file(), err
    model_folder = tmp_path / "shipped"
    save_denoiser(trained[0], model_folder)
    labels = np.zeros((40, 40), np.uint16)
    labels[5:15, 5:18], labels[22:36, 20:34] = 1, 2
    write_image(tmp_path / "image.tif", np.where(labels > 0, 900, 100).astype(np.uint16), axes="YX")
    write_image(tmp_path / "mask.tif", labels, axes="YX")
    out = tmp_path / "out"
    arguments = ["shape3d", tmp_path / "image.tif", tmp_path / "mask.tif", "--out", out, "--model", model_folder]
    code, _, err = run(capsys, *arguments, "--ensemble", "2", "--steps", "2", "--z-spacing", "2", "--diameter", "12")
    assert code == 0, err
    volume = read_image(out / "labels.tif")
    assert volume.axes == "ZYX" and volume.data.shape[1:] == (40, 40) and set(np.unique(volume.data)) == {0, 1, 2}
    assert volume.spacing["Z"] == 2.0 and read_image(out / "uncertainty.tif").data.dtype == np.float32
    rows = (out / "features.csv").read_text().splitlines()
    assert rows[0].startswith("label,volume,surface_area") and len(rows) == 3
    assert len((out / "members.csv").read_text().splitlines()) == 5 and (out / "picture.png").is_file()


def test_the_cli_refuses_a_3d_image_and_writes_nothing(trained, capsys, tmp_path):
    write_image(tmp_path / "volume.tif", np.zeros((4, 16, 16), np.uint16), axes="ZYX")
    out = tmp_path / "out"
    result = run(capsys, "shape3d", tmp_path / "volume.tif", tmp_path / "volume.tif", "--out", out)
    assert_one_error(result, says="2D")
    assert snapshot(out) == {}


def test_the_bundled_model_is_a_shape_model_of_the_documented_grid():
    from synthscope.shape3d.model import load_shape_model

    model = load_shape_model("shape3d-nuclei")
    assert model.config.patch_size == (32, 32, 32) and model.config.prediction_type == "v_prediction"
    assert model.extra["training"]["source"] == "nuclei"
