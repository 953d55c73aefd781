"""Denoiser config and checkpoints: JSON round trip, identical outputs, refused files."""

import json

import numpy as np
import pytest
import safetensors.torch
import torch

from synthscope.diffusion import Denoiser, DenoiserConfig, build_denoiser, load_denoiser, save_denoiser
from synthscope.errors import InputError

# Tiny networks gain nothing from a second thread, and on shared cores a busy neighbour
# makes two OpenMP threads 10x slower (measured); one thread keeps the suite fast.
torch.set_num_threads(1)


def _tiny(**options):
    return build_denoiser(channels=(8, 8, 8), patch_size=(16, 16), **options)


def test_config_round_trips_through_json():
    config = DenoiserConfig(
        channels=(8, 16, 16),
        condition_channels=2,
        num_classes=3,
        prediction_type="v_prediction",
        beta_schedule="scaled_linear",
        normalisation={"method": "percentile", "low": 1, "high": 99.8},
    )
    assert DenoiserConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


@pytest.mark.parametrize(
    "options",
    [
        {"spatial_dims": 4},
        {"prediction_type": "sample"},
        {"beta_schedule": "cosine"},
        {"attention_levels": (True,)},
        {"patch_size": (30, 30)},
        {"patch_size": (16, 16, 16)},
        {"num_classes": -1},
    ],
)
def test_bad_configs_are_refused(options):
    with pytest.raises(InputError):
        DenoiserConfig(channels=(8, 8, 8), **options)


@pytest.mark.parametrize("dims", [2, 3])
def test_save_load_round_trip_gives_identical_outputs(tmp_path, dims):
    torch.manual_seed(0)
    model = build_denoiser(
        channels=(8, 8, 8), spatial_dims=dims, patch_size=(8,) * dims, axes="ZYX"[-dims:] if dims == 3 else "YX"
    )
    for parameter in model.parameters():  # the output layer starts at zero; make outputs non-trivial
        parameter.data.add_(0.01 * torch.randn_like(parameter))
    save_denoiser(model.eval(), tmp_path, extra={"steps": 3})
    loaded = load_denoiser(tmp_path / "model.safetensors")
    x, t = torch.randn(2, 1, *(8,) * dims), torch.tensor([10, 900])
    with torch.no_grad():
        assert torch.equal(loaded(x, t), model(x, t))
    assert loaded.config == model.config and not loaded.training and loaded.extra == {"steps": 3}
    assert len(loaded.source["sha256"]) == 64


def test_ema_weights_are_preferred(tmp_path):
    model, ema = _tiny(), _tiny()
    torch.nn.init.ones_(ema.net.out[-1].conv.weight)
    save_denoiser(model, tmp_path, ema=ema)
    loaded = load_denoiser(tmp_path)
    assert loaded.source["weights"] == "ema.safetensors"
    assert torch.equal(loaded.net.out[-1].conv.weight, ema.net.out[-1].conv.weight)


def test_config_weights_mismatch_is_refused(tmp_path):
    save_denoiser(_tiny(), tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "channels": [8, 16, 16]}))
    with pytest.raises(InputError, match="do not match"):
        load_denoiser(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({**config, "num_res_blocks": 2}))
    with pytest.raises(InputError, match="do not match"):
        load_denoiser(tmp_path)


def test_files_that_are_not_safetensors_are_refused_without_unpickling(tmp_path):
    model = _tiny()
    torch.save(model.state_dict(), tmp_path / "model.pt")
    with pytest.raises(InputError, match="not a safetensors checkpoint"):
        load_denoiser(tmp_path / "model.pt")
    save_denoiser(model, tmp_path)
    (tmp_path / "model.safetensors").write_bytes((tmp_path / "model.pt").read_bytes())
    with pytest.raises(InputError, match="not a safetensors file"):
        load_denoiser(tmp_path)


def test_unknown_names_and_bad_configs_are_refused(tmp_path):
    with pytest.raises(InputError, match="no bundled model"):
        load_denoiser("no-such-model")
    save_denoiser(_tiny(), tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "colour": "red"}))
    with pytest.raises(InputError, match="unknown keys"):
        load_denoiser(tmp_path)


def test_saved_weights_are_plain_safetensors(tmp_path):
    save_denoiser(_tiny(), tmp_path)
    tensors = safetensors.torch.load_file(str(tmp_path / "model.safetensors"))
    assert all(isinstance(v, torch.Tensor) for v in tensors.values())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "model.safetensors"]


def test_denoiser_is_one_class_for_2d_and_3d():
    for dims, shape in ((2, (1, 1, 12, 20)), (3, (1, 1, 4, 8, 12))):
        model = Denoiser(
            DenoiserConfig(
                spatial_dims=dims,
                channels=(8, 8),
                attention_levels=(False, True),
                patch_size=(4,) * dims,
                axes="ZYX"[-dims:] if dims == 3 else "YX",
            )
        )
        assert model(torch.zeros(shape), torch.tensor([1])).shape == shape
    assert np.isclose(sum(p.numel() for p in build_denoiser().parameters()) / 1e6, 1.1, atol=0.3)


def _perturbed(model):
    """`model` with its weights moved off their initial values (the output layer starts at zero)."""
    torch.manual_seed(0)
    for parameter in model.parameters():
        parameter.data.add_(0.05 * torch.randn_like(parameter))
    return model.eval()


def test_class_labels_select_a_learned_embedding_and_round_trip(tmp_path):
    # Channels (8, 16, 16): MONAI adds the time and class embeddings as per-channel offsets
    # before a group normalisation, which removes them where a group holds one channel
    # (with channels (8, 8, 8), everywhere).
    model = _perturbed(build_denoiser(channels=(8, 16, 16), patch_size=(16, 16), num_classes=3))
    x, t = torch.randn(2, 1, 16, 16), torch.tensor([10, 500])
    with torch.no_grad():
        outputs = [model(x, t, class_labels=torch.tensor([c, c])) for c in range(3)]
        assert not torch.allclose(outputs[0], outputs[1], atol=1e-3)
        save_denoiser(model, tmp_path)
        loaded = load_denoiser(tmp_path)
        assert loaded.config.num_classes == 3
        assert torch.equal(loaded(x, t, class_labels=torch.tensor([0, 0])), outputs[0])


@pytest.mark.parametrize(
    "num_classes, labels, message",
    [
        (0, torch.tensor([0, 0]), "the model has 0 classes, got labels"),
        (2, None, "the model has 2 classes, got none"),
        (2, torch.tensor([0]), "expected 2 integer labels"),
        (2, torch.tensor([0.0, 1.0]), "expected 2 integer labels"),
        (2, torch.tensor([0, 2]), r"values in \[0, 2\)"),
        (2, torch.tensor([-1, 0]), r"values in \[0, 2\)"),
    ],
)
def test_class_labels_are_required_exactly_by_models_with_classes(num_classes, labels, message):
    model = _tiny(num_classes=num_classes)
    with pytest.raises(InputError, match=message):
        model(torch.zeros(2, 1, 16, 16), torch.tensor([1, 1]), class_labels=labels)


def test_configs_saved_before_classes_existed_still_load(tmp_path):
    save_denoiser(_tiny(), tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    del config["num_classes"]
    (tmp_path / "config.json").write_text(json.dumps(config))
    assert load_denoiser(tmp_path).config.num_classes == 0
