"""The mask model trained with v-prediction on the cosine schedule: it learns, and samples the classes apart."""

import numpy as np
import pytest

from synthscope.errors import InputError
from synthscope.phantoms.mask_model import sample_masks, train_mask_model


def test_a_v_prediction_mask_model_on_the_cosine_schedule_trains_and_draws_each_class():
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:16, :16] - 7.5
    crops = {
        name: np.stack([np.hypot(yy / rng.uniform(0.8, 1.2), xx) <= radius for _ in range(8)]).astype(np.float32)
        for name, radius in (("small", 3.5), ("large", 6.5))
    }
    model, stats = train_mask_model(
        crops,
        steps=150,
        channels=(8, 8, 8),
        batch_size=16,
        lr=2e-3,
        radius=5,
        prediction_type="v_prediction",
        beta_schedule="squaredcos_cap_v2",
        rng=0,
    )
    assert (model.config.prediction_type, model.config.beta_schedule) == ("v_prediction", "squaredcos_cap_v2")
    assert stats["final_loss"] < stats["first_loss"]
    areas = {
        name: (sample_masks(model, 12, specimen=name, steps=10, rng=1) > 0.5).sum(axis=(1, 2)).mean() for name in crops
    }
    assert areas["large"] > 1.1 * areas["small"]
    with pytest.raises(InputError, match="prediction_type"):
        train_mask_model(crops, steps=1, prediction_type="sample")
