"""``synthscope train-segmenter`` on a user's folder and ``synthscope segment``: files written,
formats read and written, resumed runs, bad input refused before anything is written."""

import numpy as np
import pytest
import yaml
from cli_helpers import assert_one_error, run, snapshot
from PIL import Image

from synthscope.io import read_image, write_image


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A tiny model trained by the command on images/ + masks/ PNGs (binary masks, 0/255)."""
    root = tmp_path_factory.mktemp("train")
    rng = np.random.default_rng(0)
    for index in range(3):
        mask = np.zeros((48, 48), np.uint8)
        mask[8 + index : 24, 10:30] = mask[30:42, 20 + index : 40] = 255
        picture = np.clip(mask * 0.6 + 40 + rng.normal(0, 10, mask.shape), 0, 255).astype(np.uint8)
        write_image(root / "data" / "images" / f"{index}.png", picture, axes="YX")
        write_image(root / "data" / "masks" / f"{index}.png", mask, axes="YX")
    spec = {
        "data": {"path": "data"},
        "coarse": {"channels": [8, 8], "patch_size": [32, 32]},
        "refiner": {"channels": [8, 8], "attention_levels": [False, False], "patch_size": [32, 32]},
        "training": {"coarse_steps": 3, "refiner_steps": 3, "batch_size": 2, "seed": 1},
        "refinement": {"steps": 2},
        "out": "model",
    }
    (root / "train.yaml").write_text(yaml.safe_dump(spec))
    return root


def test_train_then_segment_writes_every_output_and_resumes(model, capsys, tmp_path):
    code, _, err = run(capsys, "train-segmenter", model / "train.yaml")
    assert code == 0, err
    assert (model / "model" / "config.json").is_file() and (model / "model" / "refiner" / "ema.safetensors").is_file()
    Image.fromarray(np.full((40, 40, 3), 90, np.uint8)).save(tmp_path / "photo.jpg")
    out = tmp_path / "out"
    arguments = ["segment", model / "data" / "images", tmp_path / "photo.jpg", "--out", out, "--model", model / "model"]
    code, _, err = run(capsys, *arguments, "--ensemble", "2", "--format", "nifti")
    assert code == 0, err
    labels = read_image(out / "0_labels.nii.gz")
    assert labels.data.dtype == np.uint16 and labels.data.shape == (48, 48) and labels.axes == "YX"
    assert read_image(out / "photo_uncertainty.nii.gz").data.dtype == np.float32
    assert read_image(out / "photo_overlay.png").data.shape == (40, 40, 3)
    assert (out / "2_comparison.png").is_file() and (out / "2.json").is_file()
    before = snapshot(out)
    code, _, err = run(capsys, *arguments, "--ensemble", "2", "--format", "nifti")
    assert code == 0 and "4 of 4 images done already" in err and snapshot(out) == before


def test_bad_input_writes_nothing(model, capsys, tmp_path):
    (tmp_path / "notes.png").write_text("not a picture")
    out = tmp_path / "out"
    result = run(capsys, "segment", tmp_path / "notes.png", "--out", out, "--model", model / "model")
    assert_one_error(result, says="notes.png")
    result = run(
        capsys, "segment", model / "data" / "images", "--out", out, "--model", tmp_path, "--format", "ome-tiff"
    )
    assert_one_error(result, says="no segmentation model folder")
    result = run(capsys, "segment", model / "data" / "images", "--out", out, "--format", "jpeg")
    assert_one_error(result, says="format must be one of")
    assert not out.exists()
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump({"data": {"path": "x"}, "out": "m", "training": {"steps": 1}}))
    assert_one_error(run(capsys, "train-segmenter", tmp_path / "bad.yaml"), says="unknown keys in training: ['steps']")
