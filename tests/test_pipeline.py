"""The generate job end to end, with a tiny denoiser trained here on rendered sketches."""

import json
import subprocess
import sys

import numpy as np
import pytest
import tifffile

from synthscope.diffusion import PatchSampler, build_denoiser, save_denoiser, train_denoiser
from synthscope.errors import InputError
from synthscope.models import bundled_models
from synthscope.phantoms import load_preset, make_item, preset_names
from synthscope.pipeline import generate

SMALL_2D = {"shape": [64, 64]}


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    small = {"nuclei-2d": SMALL_2D, "cilia": {"shape": [128, 128], "cilia.scale": 0.2, "cilia.neighbours": 0}}
    sketches = [make_item(load_preset(name, settings=settings), rng=0).sketch for name, settings in small.items()]
    model = build_denoiser(channels=(8, 8, 8), attention_levels=(False, False, False), patch_size=(32, 32))
    stats = train_denoiser(model, PatchSampler(sketches, patch_size=(32, 32)), steps=30, batch_size=4, seed=0)
    assert stats["final_loss"] < stats["first_loss"]
    folder = tmp_path_factory.mktemp("model")
    save_denoiser(model, folder)
    return folder


def _ids(labels):
    return set(np.unique(labels)) - {0}


def test_sketch_only_data_set(tmp_path):
    root = generate("nuclei-2d", count=2, out=tmp_path / "set", settings={**SMALL_2D, "refine.model": None})
    info = json.loads((root / "dataset.json").read_text())
    assert info["refined"] is False and info["model"] is None
    image = tifffile.imread(root / "images" / "00000.tif")
    labels = tifffile.imread(root / "labels" / "00000.tif")
    assert image.shape == labels.shape == (64, 64) and labels.dtype == np.uint16
    assert len(_ids(labels)) > 3
    assert (root / "previews" / "00000.png").is_file()


def test_refined_2d_items_keep_their_label_ids(tmp_path, tiny_model):
    settings = {**SMALL_2D, "refine.model": str(tiny_model), "refine.condition": None, "refine.steps": 3}
    root = generate("nuclei-2d", count=2, out=tmp_path / "set", seed=3, settings=settings)
    plain = generate("nuclei-2d", count=2, out=tmp_path / "plain", seed=3, settings={**SMALL_2D, "refine.model": None})
    for name in ("00000", "00001"):
        refined = tifffile.imread(root / "images" / f"{name}.tif")
        sketch = tifffile.imread(root / "sketches" / f"{name}.tif")
        assert refined.dtype == np.float32 and 0 <= refined.min() and refined.max() <= 1
        assert np.abs(refined - sketch).mean() > 1e-3
        # The annotation update moves edges but never adds, drops or renumbers objects.
        assert _ids(tifffile.imread(root / "labels" / f"{name}.tif")) == _ids(tifffile.imread(plain / "labels" / f"{name}.tif"))
        record = json.loads((root / "items" / f"{name}.json").read_text())
        report = record["metadata"]["refinement"]
        assert set(report) >= {"iou", "refused", "unlabeled_objects", "empty_labels"}
    info = json.loads((root / "dataset.json").read_text())
    assert info["refined"] is True and len(info["model"]["sha256"]) == 64


def test_refined_3d_volume_with_a_2d_model(tmp_path, tiny_model):
    settings = {"shape": [8, 32, 32], "refine.model": str(tiny_model), "refine.steps": 2, "refine.slice_rho": 1.0}
    root = generate("nuclei-3d", count=1, out=tmp_path / "set", settings=settings)
    image = tifffile.imread(root / "images" / "00000.tif")
    labels = tifffile.imread(root / "labels" / "00000.tif")
    assert image.shape == labels.shape == (8, 32, 32)


def test_cilia_region_held_stages(tmp_path, tiny_model):
    stages = [{"t": 650, "hold": "axoneme"}, {"t": 350, "hold": "axoneme_minus_tubules"}, {"t": 250, "hold": None}]
    settings = {"shape": [128, 128], "cilia.scale": 0.2, "cilia.neighbours": 0, "refine.model": str(tiny_model),
                "refine.steps": 2, "refine.stages": stages}
    root = generate("cilia", count=1, out=tmp_path / "set", settings=settings)
    record = json.loads((root / "items" / "00000.json").read_text())
    assert [s["t_start"] for s in record["metadata"]["refinement"]["stages"]] == [650, 350, 250]
    assert record["metadata"]["diagnostic_class"] == "normal"


def test_interrupted_job_resumes_to_the_same_bytes(tmp_path, tiny_model):
    settings = {**SMALL_2D, "refine.model": str(tiny_model), "refine.condition": None, "refine.steps": 2}

    def stop_after_two(done, total):
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        generate("nuclei-2d", count=4, out=tmp_path / "resumed", settings=settings, callback=stop_after_two)
    generate("nuclei-2d", count=4, out=tmp_path / "resumed", settings=settings)
    generate("nuclei-2d", count=4, out=tmp_path / "whole", settings=settings)
    resumed = sorted(p.relative_to(tmp_path / "resumed") for p in (tmp_path / "resumed").rglob("*") if p.is_file())
    whole = sorted(p.relative_to(tmp_path / "whole") for p in (tmp_path / "whole").rglob("*") if p.is_file())
    assert resumed == whole and len(whole) > 10
    for path in whole:
        assert (tmp_path / "resumed" / path).read_bytes() == (tmp_path / "whole" / path).read_bytes(), path


def test_a_folder_holding_another_job_is_refused(tmp_path):
    generate("nuclei-2d", count=1, out=tmp_path / "set", settings={**SMALL_2D, "refine.model": None})
    with pytest.raises(InputError, match="set"):
        generate("nuclei-2d", count=1, out=tmp_path / "set", seed=5, settings={**SMALL_2D, "refine.model": None})


def test_cli_bad_input_is_one_line_and_exit_code_2(tmp_path):
    result = subprocess.run([sys.executable, "-m", "synthscope.cli", "generate", "no-such-preset", "-o", str(tmp_path / "x")],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "no-such-preset" in result.stderr
    assert not (tmp_path / "x").exists()


def test_cli_sketch_writes_a_data_set(tmp_path):
    result = subprocess.run([sys.executable, "-m", "synthscope.cli", "sketch", "tissue-2d", "-n", "2", "-o", str(tmp_path / "t"),
                             "--set", "shape=[64, 64]"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert len(list((tmp_path / "t" / "labels").glob("*.tif"))) == 2


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_names_a_bundled_model_or_none(name):
    model = load_preset(name)["refine"].get("model")
    assert model is None or model in bundled_models()


def test_mask_conditioned_model(tmp_path):
    items = [make_item(load_preset("nuclei-2d", settings=SMALL_2D), rng=i) for i in range(2)]
    model = build_denoiser(channels=(8, 8, 8), attention_levels=(False, False, False), patch_size=(32, 32),
                           condition_channels=1)
    patches = PatchSampler([i.sketch for i in items], conditions=[(i.labels > 0).astype(np.float32) for i in items],
                           patch_size=(32, 32))
    train_denoiser(model, patches, steps=5, batch_size=2, seed=0)
    save_denoiser(model, tmp_path / "model")
    settings = {**SMALL_2D, "refine.model": str(tmp_path / "model"), "refine.steps": 2}
    with pytest.raises(InputError, match="refine.condition=mask"):
        generate("nuclei-2d", count=1, out=tmp_path / "refused", settings={**settings, "refine.condition": None})
    assert not (tmp_path / "refused").exists()
    root = generate("nuclei-2d", count=1, out=tmp_path / "set", settings={**settings, "refine.condition": "mask"})
    assert tifffile.imread(root / "images" / "00000.tif").shape == (64, 64)
