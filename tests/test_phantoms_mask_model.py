"""The mask model, conditioned by a ramp channel or a class label: it learns and samples the classes apart."""

import numpy as np
import pytest
import torch

from synthscope.diffusion import build_denoiser, save_denoiser
from synthscope.errors import InputError
from synthscope.phantoms.mask_model import load_mask_model, sample_masks, train_mask_model

# Tiny networks gain nothing from a second thread, and on shared cores a busy neighbour
# makes two OpenMP threads 10x slower (measured); one thread keeps the suite fast.
torch.set_num_threads(1)


def _crops():
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:16, :16] - 7.5
    return {
        name: np.stack([np.hypot(yy / rng.uniform(0.8, 1.2), xx) <= radius for _ in range(8)]).astype(np.float32)
        for name, radius in (("small", 3.5), ("large", 6.5))
    }


@pytest.mark.parametrize(
    "conditioning, channels",
    [
        ("ramp", (8, 8, 8)),
        # The class embedding is a per-channel offset ahead of a group normalisation, which
        # removes it where a group holds one channel: with channels (8, 8, 8), everywhere.
        ("class", (8, 16, 16)),
    ],
)
def test_a_v_prediction_mask_model_on_the_cosine_schedule_trains_and_draws_each_class(conditioning, channels):
    crops = _crops()
    model, stats = train_mask_model(
        crops,
        steps=150,
        channels=channels,
        batch_size=16,
        lr=2e-3,
        radius=5,
        conditioning=conditioning,
        prediction_type="v_prediction",
        beta_schedule="squaredcos_cap_v2",
        rng=0,
    )
    assert (model.config.prediction_type, model.config.beta_schedule) == ("v_prediction", "squaredcos_cap_v2")
    ramp = conditioning == "ramp"
    assert (model.config.condition_channels, model.config.num_classes) == ((2, 0) if ramp else (0, 3))
    assert stats["final_loss"] < stats["first_loss"]
    areas = {
        name: (sample_masks(model, 12, specimen=name, steps=10, rng=1) > 0.5).sum(axis=(1, 2)).mean() for name in crops
    }
    assert areas["large"] > 1.1 * areas["small"]
    with pytest.raises(InputError, match="prediction_type"):
        train_mask_model(crops, steps=1, prediction_type="sample")
    with pytest.raises(InputError, match=r"conditioning: expected one of \('ramp', 'class'\)"):
        train_mask_model(crops, steps=1, conditioning="embedding")


def test_a_model_with_classes_needs_one_per_specimen_and_one_for_any(tmp_path):
    extra = {"mask_radius": 5, "specimens": ["cells3d", "hela", "cho"]}
    for name, options in (("short", {"num_classes": 3}), ("both", {"num_classes": 4, "condition_channels": 3})):
        save_denoiser(build_denoiser(channels=(8, 8, 8), patch_size=(16, 16), **options), tmp_path / name, extra=extra)
        with pytest.raises(InputError, match=r"classes but 3 specimens \(and 'any'\)"):
            load_mask_model(tmp_path / name)
    save_denoiser(build_denoiser(channels=(8, 8, 8), patch_size=(16, 16), num_classes=4), tmp_path / "fit", extra=extra)
    model = load_mask_model(tmp_path / "fit")
    with pytest.raises(InputError, match="specimen must be one of"):
        sample_masks(model, 2, specimen="yeast")
