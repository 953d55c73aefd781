"""``synthscope evaluate``: reports written, bad input refused with one clear error."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

import synthscope.sample_data
from synthscope.cli import app
from synthscope.errors import InputError
from synthscope.io import DatasetWriter, write_image
from synthscope.item import Item

runner = CliRunner()


def folder(path, arrays, suffix=".tif"):
    path.mkdir()
    for i, array in enumerate(arrays):
        write_image(path / f"{i:03d}{suffix}", array, axes="YX")
    return path


def invoke(*args):
    return runner.invoke(app, ["evaluate", *map(str, args)])


def test_realism_writes_json_table_and_grid(tmp_path):
    rng = np.random.default_rng(0)
    a = folder(tmp_path / "a", list(rng.random((4, 64, 64), dtype=np.float32)))
    b = folder(tmp_path / "b", list(rng.random((2, 64, 64), dtype=np.float32)))
    result = invoke("realism", a, b, "--patch-size", 32, "--no-inception", "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "realism.json").read_text())
    assert (report["n_reference"], report["n_candidate"]) == (16, 8) and "swd" in report["metrics"]
    assert (tmp_path / "out" / "realism.png").is_file() and "floor" in (tmp_path / "out" / "realism.md").read_text()


def test_realism_needs_explicit_percentiles_for_integer_images(tmp_path):
    a = folder(tmp_path / "a", [np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8)] * 4, ".png")
    result = invoke("realism", a, a, "--patch-size", 32, "--no-inception", "--out", tmp_path / "out")
    assert isinstance(result.exception, InputError) and "--percentiles" in str(result.exception)
    result = invoke(
        "realism", a, a, "--patch-size", 32, "--no-inception", "--percentiles", "1,99.8", "--out", tmp_path / "out"
    )
    assert result.exit_code == 0, result.output


def test_segmentation_scores_and_refuses_mismatched_folders(tmp_path):
    labels = np.zeros((16, 16), np.uint16)
    labels[2:6, 2:6], labels[8:14, 8:14] = 1, 2
    true, pred = folder(tmp_path / "true", [labels, labels]), folder(tmp_path / "pred", [labels, labels * 0])
    assert invoke("segmentation", true, pred, "--out", tmp_path / "out").exit_code == 0
    report = json.loads((tmp_path / "out" / "segmentation.json").read_text())
    assert report["matching"]["ap"][0] == 0.5 and report["seg"] == 0.5
    (pred / "001.tif").rename(pred / "009.tif")
    result = invoke("segmentation", true, pred)
    assert isinstance(result.exception, InputError) and "001" in str(result.exception)
    floats = folder(tmp_path / "floats", [labels.astype(np.float32)] * 2)
    assert "integers" in str(invoke("segmentation", true, floats).exception)


@pytest.mark.parametrize("command", ["realism", "segmentation"])
def test_empty_folder_is_refused(tmp_path, command):
    (tmp_path / "empty").mkdir()
    result = invoke(command, tmp_path / "empty", tmp_path / "empty")
    assert isinstance(result.exception, InputError) and "holds no image files" in str(result.exception)


def test_downstream_runs_on_a_tiny_data_set(tmp_path, monkeypatch):
    labels = np.zeros((2, 32, 32), np.uint16)
    labels[:, 4:14, 4:14], labels[:, 16:28, 14:30] = 1, 2
    tiny_real = lambda split: ((labels > 0).astype(np.float32), labels)  # noqa: E731
    monkeypatch.setattr(synthscope.sample_data, "nuclei_2d", tiny_real)
    writer = DatasetWriter(tmp_path / "synthetic", info={"generator": "test", "seed": 0})
    writer.write(0, Item(labels=labels[0], axes="YX", sketch=(labels[0] > 0).astype(np.float32)), record={"seed": 0})
    out = tmp_path / "out"
    result = invoke("downstream", "--synthetic", tmp_path / "synthetic", "--steps", 2, "--seeds", "0", "--out", out)
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "downstream.json").read_text())
    assert list(report["conditions"]) == ["real", "synthetic", "real+synthetic"]
    assert report["settings"]["n_synthetic"] == 1
    assert report["settings"]["split"] == {"train": [20, 35], "test": [40, 51]}
    assert (tmp_path / "out" / "downstream.png").is_file()
    assert "--seeds" in str(invoke("downstream", "--seeds", "a,b").exception)
    assert "not a synthscope data set" in str(invoke("downstream", "--synthetic", tmp_path).exception)
