"""``synthscope adapt``: nuclei found without labels, a preset and a fine-tuned model in one folder."""

import json

import numpy as np
import pytest
import torch
import yaml
from typer.testing import CliRunner

from synthscope.adapt import LABELLED_OUT_OF_PLANE_BRIGHTNESS, adapt, label_nuclei
from synthscope.cli import app
from synthscope.diffusion import build_denoiser, load_denoiser, save_denoiser
from synthscope.errors import InputError
from synthscope.evaluate import match_instances
from synthscope.io import read_dataset, write_image
from synthscope.phantoms import load_preset, sketch_item

torch.set_num_threads(1)  # tiny networks gain nothing from a second thread on shared cores


@pytest.fixture(scope="module")
def specimen():
    """Four labelled sketches of a plain nuclei preset: the user's images and labels."""
    preset = load_preset(
        "nuclei-2d",
        settings={
            "shape": [96, 96],
            "nuclei.density": 0.3,
            "nuclei.radius": [7, 10],
            "nuclei.out_of_plane": 0,
            "nuclei.out_of_focus_fraction": 0,
            "refine.model": None,
        },
    )
    items = [sketch_item(preset, rng=i) for i in range(4)]
    return [item.sketch for item in items], [item.labels for item in items]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny")
    save_denoiser(build_denoiser(channels=(8, 8, 8), patch_size=(32, 32)), folder)
    return folder


def test_label_nuclei_finds_the_nuclei_of_a_sketch(specimen):
    images, labels = specimen
    found = [label_nuclei(image) for image in images]
    assert match_instances(labels, found)["ap"][0] > 0.6


def test_label_nuclei_refuses_a_flat_image():
    with pytest.raises(InputError, match="flat"):
        label_nuclei(np.full((32, 32), 0.2))


@pytest.mark.parametrize("with_labels", [True, False])
def test_adapt_writes_a_preset_that_generates_with_its_own_model(specimen, tiny_model, tmp_path, with_labels):
    images, labels = specimen
    out = tmp_path / "mine"
    preset_path = adapt(
        images, out, labels=labels if with_labels else None, steps=3, base=tiny_model, spacing=[0.5, 0.5]
    )
    preset = yaml.safe_load(preset_path.read_text())
    assert preset["refine"]["model"] == "model" and preset["spacing"] == [0.5, 0.5]
    assert 5 <= preset["nuclei"]["radius"][0] < preset["nuclei"]["radius"][1] <= 13
    if with_labels:  # unlabelled nuclei beside the labels are drawn almost dark
        assert preset["nuclei"]["out_of_plane_brightness"] == LABELLED_OUT_OF_PLANE_BRIGHTNESS
    record = json.loads((out / "adapt.json").read_text())
    assert record["training"]["steps"] == 3 and record["labels"] == (
        "given" if with_labels else "found by label_nuclei"
    )
    model = load_denoiser(out / "model")
    assert model.extra["steps"] == 3 and (out / "model" / "card.md").is_file()
    assert (out / "report.png").stat().st_size > 0 and "radius" in (out / "report.md").read_text()
    # the preset names its model folder relative to itself, so it works from anywhere
    loaded = load_preset(preset_path)
    assert loaded["refine"]["model"] == str((out / "model").resolve())


@pytest.mark.parametrize("with_labels", [True, False])
def test_a_mask_conditioned_base_is_fine_tuned_on_the_masks_and_refines_with_them(specimen, tmp_path, with_labels):
    images, labels = specimen
    base = tmp_path / "masked"
    save_denoiser(build_denoiser(channels=(8, 8, 8), patch_size=(32, 32), condition_channels=1), base)
    preset_path = adapt(images, tmp_path / "mine", labels=labels if with_labels else None, steps=2, base=base)
    assert yaml.safe_load(preset_path.read_text())["refine"]["condition"] == "mask"
    assert load_denoiser(tmp_path / "mine" / "model").config.condition_channels == 1
    result = CliRunner().invoke(app, ["generate", str(preset_path), "-n", "1", "-o", str(tmp_path / "data")])
    assert result.exit_code == 0, result.output


def test_a_base_with_two_condition_channels_is_refused_before_any_work(specimen, tmp_path):
    images, labels = specimen
    base = tmp_path / "two"
    save_denoiser(build_denoiser(channels=(8, 8, 8), patch_size=(32, 32), condition_channels=2), base)
    with pytest.raises(InputError, match="conditions on the mask only"):
        adapt(images, tmp_path / "mine", labels=labels, steps=2, base=base)
    assert not (tmp_path / "mine").exists()


def test_generate_uses_the_adapted_model(specimen, tiny_model, tmp_path):
    images, labels = specimen
    preset_path = adapt(images, tmp_path / "mine", labels=labels, steps=2, base=tiny_model)
    result = CliRunner().invoke(app, ["generate", str(preset_path), "-n", "1", "-o", str(tmp_path / "data")])
    assert result.exit_code == 0, result.output
    dataset = read_dataset(tmp_path / "data")
    assert dataset.info["refined"] and dataset.info["model"]["name"].endswith("model")


def test_cli_adapt_on_a_stack_with_labels(specimen, tiny_model, tmp_path):
    images, labels = specimen
    write_image(tmp_path / "frames.tif", (np.stack(images) * 4000).astype(np.uint16), axes="TYX")
    write_image(tmp_path / "labels.tif", np.stack(labels), axes="TYX")
    args = ["adapt", tmp_path / "frames.tif", "--labels", tmp_path / "labels.tif", "-o", tmp_path / "out"]
    result = CliRunner().invoke(app, [str(a) for a in [*args, "--steps", "2", "--base-model", tiny_model]])
    assert result.exit_code == 0, result.output
    assert "synthscope generate" in result.output and (tmp_path / "out" / "preset.yaml").is_file()


@pytest.mark.parametrize(
    "case, message",
    [
        ("volume", "2D single-channel images"),
        ("small", "at least 64x64"),
        ("raw", "float in \\[0, 1\\]"),
        ("labels", "label images for"),
        ("occupied", "holds other files"),
    ],
)
def test_bad_input_is_refused_before_anything_is_written(specimen, tmp_path, case, message):
    images, labels = specimen
    out = tmp_path / "out"
    if case == "occupied":
        out.mkdir()
        (out / "notes.txt").write_text("mine")
    changes = {
        "volume": dict(images=[np.zeros((4, 64, 64), np.float32)]),
        "small": dict(images=[np.zeros((32, 96), np.float32)]),
        "raw": dict(images=[np.full((96, 96), 300.0)]),
        "labels": dict(labels=labels[:2]),
    }.get(case, {})
    arguments = {"images": images, "labels": labels, **changes}
    with pytest.raises(InputError, match=message):
        adapt(arguments.pop("images"), out, steps=2, **arguments)
    assert not out.exists() or [p.name for p in out.iterdir()] == ["notes.txt"]


def test_finetune_fits_its_steps_to_the_budget_and_keeps_them_on_resume(specimen, tiny_model, tmp_path):
    from synthscope.adapt.finetune import FEWEST_STEPS, finetune

    images, _ = specimen
    first = finetune(images, tmp_path / "model", base=tiny_model, seconds=1e-3)
    assert first["steps"] == FEWEST_STEPS and load_denoiser(tmp_path / "model").extra["steps"] == FEWEST_STEPS
    again = finetune(images, tmp_path / "model", base=tiny_model, seconds=1e6)  # the planned steps, already done
    assert again["steps"] == FEWEST_STEPS and again["final_loss"] is None
