"""Bad input to the ``synthscope`` command: one ``error:`` line, exit status 2, nothing written.

Rows 4-9, 12, 13 and 15 of the reliability catalogue (issue 16).
"""

import json

import numpy as np
import pytest
import tifffile
import yaml
from cli_helpers import assert_one_error, image_folder, labels_2d, run, snapshot, tiny_dataset

from synthscope.diffusion.schedulers import SAMPLERS as SCHEDULER_SAMPLERS
from synthscope.errors import InputError
from synthscope.evaluate.realism import realism
from synthscope.io import read_image, write_image
from synthscope.maker import ItemMaker
from synthscope.refine.spec import SAMPLERS

GREY = np.full((32, 32), 0.5, np.float32)


def with_nan(image):
    image = image.copy()
    image[3, 4] = np.nan
    return image


@pytest.fixture
def nan_folder(tmp_path):
    """Three 32x32 images; ``001.tif`` holds a NaN."""
    return image_folder(tmp_path / "images", [GREY, with_nan(GREY), GREY])


def nan_cases(tmp_path, folder):
    """Each command that reads images, given ``folder/001.tif`` with a NaN: (arguments, output path)."""
    out = tmp_path / "out"
    annotated = tmp_path / "annotated"
    write_image(annotated / "a.tif", with_nan(GREY), axes="YX")
    write_image(annotated / "a_masks.tif", np.pad(labels_2d(), 8), axes="YX")
    training = {
        "model": {"spatial_dims": 2, "channels": [8, 8, 8], "patch_size": [16, 16]},
        "data": {"path": str(folder)},
        "training": {"steps": 1},
        "out": str(out),
    }
    (tmp_path / "train.yaml").write_text(yaml.safe_dump(training))
    return {
        "realism": (["evaluate", "realism", folder, folder, "--no-inception", "--patch-size", 16, "-o", out], out),
        "refine": (["refine", folder / "001.tif", "--model", "nuclei-fluo-2d", "-o", out / "r.tif"], out),
        "train": (["train", tmp_path / "train.yaml"], out),
        "fit": (["fit", annotated, "--out", out / "preset.yaml"], out),
        "adapt": (["adapt", folder, "--out", out, "--steps", 1], out),
    }


@pytest.mark.parametrize("command", ["realism", "refine", "train", "fit", "adapt"])
def test_a_nan_image_is_one_error_naming_the_file(tmp_path, nan_folder, capsys, command):
    args, out = nan_cases(tmp_path, nan_folder)[command]
    result = run(capsys, *args)
    assert_one_error(result, says="NaN or infinite")
    assert ("a.tif" if command == "fit" else "001.tif") in result[2]
    assert not out.exists()


def test_the_api_refuses_nan_images_too(nan_folder):
    with pytest.raises(InputError, match="001.tif: 1 of 1024 values are NaN"):
        read_image(nan_folder / "001.tif")
    with pytest.raises(InputError, match="reference: image 1"):
        realism([GREY, with_nan(GREY), GREY, GREY], [GREY], inception=False)


def damage(root, kind):
    """Spoil item 1 of a data set: a truncated file, a sketch of another shape, or a NaN."""
    sketch = root / "sketches" / "00001.tif"
    if kind == "corrupt":
        sketch.write_bytes(sketch.read_bytes()[:100])
    else:
        spoilt = np.zeros((8, 8), np.float32) if kind == "shape" else with_nan(np.zeros((16, 16), np.float32))
        write_image(sketch, spoilt, axes="YX")
    return sketch


@pytest.mark.parametrize(
    ("kind", "to", "says"),
    [
        ("corrupt", "cellpose", "not a readable TIFF file"),
        ("shape", "stardist", "image has shape (8, 8) but the labels have shape (16, 16)"),
        ("shape", "celldiffusion", "image has shape (8, 8)"),
        ("nan", "ctc", "NaN or infinite"),
    ],
)
def test_export_checks_every_item_before_writing(tmp_path, capsys, kind, to, says):
    root = tiny_dataset(tmp_path / "set")
    good = (root / "sketches" / "00001.tif").read_bytes()
    spoilt = damage(root, kind)
    result = run(capsys, "export", root, "--to", to, tmp_path / "out")
    assert_one_error(result, says=says)
    assert str(spoilt) in result[2] and not (tmp_path / "out").exists()
    spoilt.write_bytes(good)  # the cause fixed, the same command runs
    assert run(capsys, "export", root, "--to", to, tmp_path / "out")[0] == 0


def test_an_unknown_sampler_is_refused_before_the_data_set_is_made(tmp_path, capsys):
    args = ["generate", "nuclei-2d", "-n", 1, "-o", tmp_path / "set", "--set", "refine.model=null"]
    args += ["--set", "shape=[32,32]"]
    assert_one_error(run(capsys, *args, "--sampler", "foo"), says="refine.sampler must be one of")
    assert not (tmp_path / "set").exists()
    assert run(capsys, *args, "--sampler", "ddim")[0] == 0
    with pytest.raises(InputError, match="refine.sampler"):
        ItemMaker("nuclei-2d", settings={"refine.sampler": "foo"})
    assert set(SAMPLERS) == set(SCHEDULER_SAMPLERS)


def test_brackets_in_a_message_are_printed_as_they_are(tmp_path, capsys):
    result = run(capsys, "sketch", "nuclei-2d", "-o", tmp_path / "set", "--set", "nuclei.radius=[9,3]")
    assert_one_error(result, says="nuclei.radius must be [low, high] with low <= high, got [9, 3]")
    assert not (tmp_path / "set").exists()


@pytest.mark.parametrize(
    "command", [["refine"], ["train"], ["fit"], ["adapt"], ["evaluate", "realism"], ["evaluate", "segmentation"]]
)
def test_every_command_that_reads_images_takes_axes(capsys, command):
    code, out, _ = run(capsys, *command, "--help")
    assert code == 0 and "--axes" in out


def test_a_stack_saved_by_plain_tifffile_is_read_with_axes(tmp_path, capsys):
    stack = np.stack([labels_2d()] * 5)  # tifffile names the axes of a plain stack "QYX"
    for side in ("true", "pred"):
        (tmp_path / side).mkdir()
        tifffile.imwrite(tmp_path / side / "a.tif", stack)
    args = ["evaluate", "segmentation", tmp_path / "true", tmp_path / "pred", "-o", tmp_path / "out"]
    assert_one_error(run(capsys, *args), says="'QYX'; say what they are with --axes")
    assert not (tmp_path / "out").exists()
    assert run(capsys, *args, "--axes", "ZYX")[0] == 0
    assert json.loads((tmp_path / "out" / "segmentation.json").read_text())["seg"] == 1.0


def test_a_4d_file_is_read_with_axes(tmp_path, capsys):
    tifffile.imwrite(tmp_path / "a.tif", np.zeros((2, 3, 16, 16), np.float32))
    args = ["refine", tmp_path / "a.tif", "--model", "nuclei-fluo-2d", "-o", tmp_path / "r.tif"]
    assert_one_error(run(capsys, *args), says="--axes")
    assert not (tmp_path / "r.tif").exists()
    assert read_image(tmp_path / "a.tif", axes="TZYX").axes == "TZYX"


def test_refine_checks_the_output_format_before_the_model(tmp_path, capsys):
    write_image(tmp_path / "a.tif", GREY, axes="YX")
    result = run(capsys, "refine", tmp_path / "a.tif", "--model", "no-such-model", "--out", tmp_path / "x.jpg")
    assert_one_error(result, says="x.jpg: ")
    assert "no-such-model" not in result[2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tif"]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["generate", "nuclei-2d", "-n", "-3"], "Invalid value for '--count' / '-n'"),
        (["sketch", "nuclei-2d", "--seed", "-1"], "Invalid value for '--seed'"),
        (["generate", "nuclei-2d", "--no-such-option"], "No such option: --no-such-option"),
    ],
)
def test_a_usage_error_is_one_line(tmp_path, capsys, args, says):
    result = run(capsys, *args, "-o", tmp_path / "set")
    assert_one_error(result, says=says)
    assert "--help" in result[2] and not (tmp_path / "set").exists()


def test_segmentation_of_nothing_against_nothing_is_refused(tmp_path, capsys):
    empty = np.zeros((16, 16), np.uint16)
    true, pred = image_folder(tmp_path / "true", [empty]), image_folder(tmp_path / "pred", [empty])
    result = run(capsys, "evaluate", "segmentation", true, pred, "-o", tmp_path / "out")
    assert_one_error(result, says="neither holds an object")
    assert snapshot(tmp_path / "out") == {}
    image_folder(tmp_path / "found", [labels_2d()])
    code, _, err = run(capsys, "evaluate", "segmentation", true, tmp_path / "found", "-o", tmp_path / "out")
    assert code == 0 and err.startswith("warning: ") and "SEG is undefined" in err.splitlines()[0]
