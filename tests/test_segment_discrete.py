"""The discrete refiner (SegRefiner's pixel-flip diffusion), really trained a little on the toy
shape task of the continuous one: it repairs degraded masks, its draws disagree on boundaries,
and a model folder records and reloads the formulation, in 2D and 3D."""

import json

import numpy as np
import pytest
import torch
from test_segment_refiner import toy_shapes, untrained_refiner

from synthscope.diffusion import DenoiserConfig, PatchSampler, build_denoiser
from synthscope.evaluate import boundary_f1, dice
from synthscope.segment import (
    CoarseConfig,
    Refinement,
    Segmenter,
    SegmenterConfig,
    Training,
    degrade_mask,
    refine_mask,
    train_segmenter,
)
from synthscope.segment.discrete import corrupt, refine_discrete, train_discrete_refiner

DISCRETE = Refinement(formulation="discrete")


@pytest.fixture(scope="module")
def refiner():
    model, patches = untrained_refiner()
    stats = train_discrete_refiner(model, patches, steps=150, batch_size=8, lr=2e-3, rng=0)
    assert stats["final_loss"] < 0.5 * stats["first_loss"], stats
    return model.eval()


def test_a_little_training_repairs_degraded_masks(refiner):
    images, masks = toy_shapes(1, 4)
    before, after, edges_before, edges_after = [], [], [], []
    for index, (image, mask) in enumerate(zip(images, masks)):
        coarse = degrade_mask(mask, rng=100 + index)
        probability, _ = refine_mask(refiner, image, coarse, DISCRETE, rng=index)
        before.append(dice(mask, coarse > 0.5))
        after.append(dice(mask, probability > 0.5))
        edges_before.append(boundary_f1(mask, coarse > 0.5, tolerance=1))
        edges_after.append(boundary_f1(mask, probability > 0.5, tolerance=1))
    assert np.mean(after) > np.mean(before) + 0.04, (before, after)
    assert np.mean(edges_after) > np.mean(edges_before) + 0.1, (edges_before, edges_after)


def test_its_uncertainty_points_at_its_errors_and_draws_repeat_with_their_seed(refiner):
    images, masks = toy_shapes(2, 4)
    wrong, uncertain = [], []
    for index, (image, mask) in enumerate(zip(images, masks)):
        coarse = degrade_mask(mask, rng=7 + index)
        probability, uncertainty = refine_mask(refiner, image, coarse, Refinement(ensemble=4), rng=index)
        assert 0 <= uncertainty.min() and uncertainty.max() <= 1
        wrong.append((probability > 0.5) != mask)
        uncertain.append(uncertainty)
    wrong, uncertain = np.concatenate(wrong, axis=None), np.concatenate(uncertain, axis=None)
    top = uncertain >= np.quantile(uncertain, 0.9)
    assert wrong[top].mean() > 3 * wrong[~top].mean(), (wrong[top].mean(), wrong[~top].mean())
    (image,), (mask,) = toy_shapes(3, 1)
    coarse = degrade_mask(mask, rng=0)
    crops, condition = coarse[None], np.stack([image, coarse])[None]
    first = refine_discrete(refiner, crops, condition, steps=4, rng=3)
    assert np.array_equal(first, refine_discrete(refiner, crops, condition, steps=4, rng=3))
    assert not np.array_equal(first, refine_discrete(refiner, crops, condition, steps=4, rng=4))


def test_the_forward_process_moves_from_the_fine_to_the_coarse_mask():
    fine, coarse = torch.ones(3, 1, 64, 64), torch.zeros(3, 1, 64, 64)
    mixed = corrupt(fine, coarse, torch.tensor([0.0, 0.3, 1.0]), generator=torch.Generator().manual_seed(0))
    shares = [float(1 - m.mean()) for m in mixed]  # the share of pixels showing the coarse value
    assert shares[0] == 0 and shares[2] == 1 and abs(shares[1] - 0.3) < 0.03


def test_a_model_folder_records_the_formulation_in_2d_and_3d(tmp_path):
    for dims, shape in ((2, (48, 48)), (3, (16, 32, 32))):
        center = np.array(shape).reshape(-1, *[1] * dims) / 2
        labels = (np.linalg.norm(np.indices(shape) - center, axis=0) < 7).astype(np.uint16)
        patch = (16,) * dims
        coarse = CoarseConfig(spatial_dims=dims, channels=(8, 8, 8), patch_size=patch)
        config = SegmenterConfig(coarse=coarse, refinement=DISCRETE)
        net = DenoiserConfig(
            channels=(8, 8, 8), attention_levels=(False,) * 3, patch_size=patch, axes="ZYX"[-dims:], spatial_dims=dims
        )
        training = Training(coarse_steps=2, refiner_steps=2, batch_size=2)
        out = tmp_path / f"{dims}d"
        train_segmenter([labels * 100.0], [labels], out, config=config, refiner=net, training=training)
        assert json.loads((out / "config.json").read_text())["refinement"]["formulation"] == "discrete"
        result = Segmenter.load(out)(labels * 100.0, ensemble=2)
        assert (
            result.record["refinement"]["formulation"] == "discrete" and result.record["refinement"]["t_start"] == 1000
        )
        assert result.mask.shape == shape and result.uncertainty.shape == shape


def test_training_resumes_step_for_step(tmp_path):
    images, masks = toy_shapes(5, 2)
    conditions = [np.stack([image, degrade_mask(mask, rng=i)]) for i, (image, mask) in enumerate(zip(images, masks))]
    patches = PatchSampler([m.astype(np.float32) for m in masks], patch_size=(32, 32), conditions=conditions, jitter=0)
    config = DenoiserConfig(channels=(8, 8), attention_levels=(False,) * 2, patch_size=(32, 32), condition_channels=2)
    whole, parted = build_denoiser(config), build_denoiser(config)
    parted.load_state_dict(whole.state_dict())
    train_discrete_refiner(whole, patches, steps=4, batch_size=2, rng=1)
    train_discrete_refiner(parted, patches, steps=2, batch_size=2, checkpoint_dir=tmp_path, rng=1)
    resumed = build_denoiser(config)
    train_discrete_refiner(resumed, patches, steps=4, batch_size=2, checkpoint_dir=tmp_path, resume=True, rng=1)
    assert all(torch.equal(a, b) for a, b in zip(whole.state_dict().values(), resumed.state_dict().values()))
