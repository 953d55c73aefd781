"""The bundled segmentation model nuclei-seg-2d: found by name, used by `segment`, the command and
the web app unless told otherwise, and it finds real nuclei it never saw (trained on synthetic data)."""

import json
from pathlib import Path

import pytest
from cli_helpers import run

import synthscope
from synthscope.app import load_segmenter
from synthscope.evaluate import dice, match_instances
from synthscope.io import write_image
from synthscope.sample_data import SPECIMENS
from synthscope.segment import DEFAULT_MODEL, Segmenter


@pytest.fixture(scope="module")
def real():
    """The first held-out cells3d slice and its manual labels."""
    images, labels = SPECIMENS["cells3d"].load("test")
    return images[0], labels[0]


def test_the_default_model_finds_real_nuclei_it_never_saw(real):
    image, truth = real
    model = Segmenter.load(DEFAULT_MODEL)
    assert model.refiner is not None and Path(model.source["path"]).name == DEFAULT_MODEL
    refined = synthscope.segment(image, model=model, rng=0)
    assert dice(truth, refined.mask) > 0.8
    assert match_instances(truth, refined.labels)["f1"][0] > 0.6
    assert dice(truth, synthscope.segment(image, model=model, refine=False).mask) > 0.8


def test_the_command_and_the_app_use_it_unless_told_otherwise(real, capsys, tmp_path):
    write_image(tmp_path / "slice.tif", real[0], axes="YX")
    code, _, err = run(capsys, "segment", tmp_path / "slice.tif", "--out", tmp_path / "out")
    assert code == 0, err
    record = json.loads((tmp_path / "out" / "slice.json").read_text())
    assert Path(record["model"]["path"]).name == DEFAULT_MODEL and record["refinement"]["ensemble"] == 1
    assert Path(load_segmenter(None).source["path"]).name == DEFAULT_MODEL
