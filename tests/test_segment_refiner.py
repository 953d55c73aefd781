"""The continuous diffusion refiner, really trained a little on a toy shape task: it repairs
degraded masks, and its uncertainty sits on the boundaries."""

import numpy as np
import pytest
import torch
from scipy import ndimage

from synthscope.diffusion import DenoiserConfig, PatchSampler, build_denoiser, train_denoiser
from synthscope.evaluate import boundary_f1, dice
from synthscope.segment import Refinement, degrade_mask, refine_mask

SIZE = 64


def continuous(**settings):
    """Return refinement settings of the continuous formulation (the default is discrete)."""
    return Refinement(formulation="continuous", **settings)


def toy_shapes(rng, count):
    """Images of 1-3 bright ellipses on a dim, noisy background, with their masks."""
    rng = np.random.default_rng(rng)
    yy, xx = np.mgrid[:SIZE, :SIZE]
    images, masks = [], []
    for _ in range(count):
        mask = np.zeros((SIZE, SIZE), bool)
        for _ in range(rng.integers(1, 4)):
            (cy, cx), (ry, rx) = rng.uniform(10, SIZE - 10, 2), rng.uniform(4, 9, 2)
            mask |= ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
        image = ndimage.gaussian_filter(mask * 0.7 + 0.1, 1) + rng.normal(0, 0.05, mask.shape)
        images.append(np.clip(image, 0, 1).astype(np.float32))
        masks.append(mask)
    return images, masks


def untrained_refiner():
    """A tiny refiner network, seeded, and patches of toy masks with their images and degraded masks."""
    images, masks = toy_shapes(0, 8)
    targets, conditions = [], []
    for index, (image, mask) in enumerate(zip(images, masks)):
        for copy in range(4):
            targets.append(mask.astype(np.float32))
            conditions.append(np.stack([image, degrade_mask(mask, rng=10 * index + copy)]))
    config = DenoiserConfig(
        channels=(8, 8, 8), attention_levels=(False,) * 3, patch_size=(SIZE, SIZE), condition_channels=2
    )
    with torch.random.fork_rng():  # the initial weights, whatever ran before in this process
        torch.manual_seed(0)
        model = build_denoiser(config)
    return model, PatchSampler(targets, patch_size=(SIZE, SIZE), conditions=conditions, jitter=0.0)


@pytest.fixture(scope="module")
def refiner():
    model, patches = untrained_refiner()
    train_denoiser(model, patches, steps=150, batch_size=8, lr=2e-3, rng=0)
    return model.eval()


def test_a_little_training_repairs_degraded_masks(refiner):
    images, masks = toy_shapes(1, 4)
    before, after, edges_before, edges_after = [], [], [], []
    for index, (image, mask) in enumerate(zip(images, masks)):
        coarse = degrade_mask(mask, rng=100 + index)
        probability, _ = refine_mask(refiner, image, coarse, continuous(t_start=400, steps=5), rng=index)
        before.append(dice(mask, coarse > 0.5))
        after.append(dice(mask, probability > 0.5))
        edges_before.append(boundary_f1(mask, coarse > 0.5, tolerance=1))
        edges_after.append(boundary_f1(mask, probability > 0.5, tolerance=1))
    assert np.mean(after) > np.mean(before) + 0.04, (before, after)
    assert np.mean(edges_after) > np.mean(edges_before) + 0.1, (edges_before, edges_after)


def test_the_ensemble_is_uncertain_at_boundaries_and_draws_do_not_depend_on_its_size(refiner):
    (image,), (mask,) = toy_shapes(2, 1)
    coarse = degrade_mask(mask, rng=7)
    probability, uncertainty = refine_mask(refiner, image, coarse, continuous(steps=4, ensemble=4), rng=3)
    edge = mask ^ ndimage.binary_erosion(mask, iterations=2) | (ndimage.binary_dilation(mask, iterations=2) & ~mask)
    assert uncertainty.min() >= 0 and uncertainty.max() <= 1
    assert uncertainty[edge].mean() > 3 * uncertainty[~edge].mean()
    first, _ = refine_mask(refiner, image, coarse, continuous(steps=4, ensemble=1), rng=3)
    again, _ = refine_mask(refiner, image, coarse, continuous(steps=4, ensemble=1), rng=3)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, probability)  # the mean of four draws differs from the first draw


def test_degraded_masks_are_wrong_in_plausible_ways():
    _, (mask, *_) = toy_shapes(3, 2)
    coarse = degrade_mask(mask, rng=0)
    assert coarse.dtype == np.float32 and coarse.shape == mask.shape
    assert 0.6 < dice(mask, coarse > 0.5) < 0.99
    assert np.array_equal(coarse, degrade_mask(mask, rng=0))
    volume = np.linalg.norm(np.indices((24, 32, 32)) - np.array([12, 16, 16])[:, None, None, None], axis=0) < 9
    assert 0.6 < dice(volume, degrade_mask(volume, rng=1) > 0.5) < 0.99


def test_only_blocks_near_the_coarse_edge_are_refined(refiner):
    (image,), (mask,) = toy_shapes(4, 1)
    coarse = np.zeros((3 * SIZE, 3 * SIZE), np.float32)
    coarse[:SIZE, :SIZE] = degrade_mask(mask, rng=5)  # objects in the top-left block only
    wide = np.zeros_like(coarse)
    wide[:SIZE, :SIZE] = image
    probability, uncertainty = refine_mask(refiner, wide, coarse, continuous(steps=2, ensemble=2), rng=0)
    assert np.array_equal(probability[SIZE:, :], coarse[SIZE:, :]) and not uncertainty[SIZE:, SIZE:].any()
    assert not np.array_equal(probability[:SIZE, :SIZE], coarse[:SIZE, :SIZE])
    everywhere, _ = refine_mask(refiner, wide, coarse, continuous(steps=2, reach=None), rng=0)
    assert not np.array_equal(everywhere[SIZE:, SIZE:], coarse[SIZE:, SIZE:])
    tiny = refine_mask(refiner, image[:5, :6], coarse[:5, :6], continuous(steps=1, reach=None))[0]
    assert tiny.shape == (5, 6)  # smaller than the margin of context
