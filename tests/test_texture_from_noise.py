"""Texture from noise: a mask-conditioned image drawn from pure noise over tiles, without seams."""

import dataclasses

import numpy as np
import pytest
import torch

from synthscope.diffusion import PatchSampler, Stage, build_denoiser, refine, sample, train_denoiser
from synthscope.errors import InputError
from synthscope.evaluate.seams import block_spread, seam_step
from synthscope.item import Item
from synthscope.refine import RefineSpec, refine_item

torch.set_num_threads(1)

BACKGROUND, NUCLEI = 0.1, 0.8
#: How each tiny model predicts: the old noise prediction on the linear schedule, and the
#: velocity on the cosine schedule, whose last step keeps (almost) nothing of the image.
PARAMETERISATIONS = {
    "epsilon, linear": {},
    "v, cosine": {"prediction_type": "v_prediction", "beta_schedule": "squaredcos_cap_v2"},
}


def _discs(shape, count, rng):
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    mask = np.zeros(shape, bool)
    for _ in range(count):
        cy, cx, r = rng.uniform(0, shape[0]), rng.uniform(0, shape[1]), rng.uniform(3, 6)
        mask |= (yy - cy) ** 2 + (xx - cx) ** 2 < r * r
    return mask


@pytest.fixture(scope="module")
def models():
    """Two tiny mask-conditioned models trained alike on dark images with bright discs where the mask is."""
    rng = np.random.default_rng(0)
    masks = [_discs((48, 48), 6, rng) for _ in range(8)]
    images = [np.clip(np.where(m, NUCLEI, BACKGROUND) + rng.normal(0, 0.02, m.shape), 0, 1) for m in masks]
    patches = PatchSampler(images, conditions=[m.astype(np.float32) for m in masks], patch_size=(16, 16))
    trained = {}
    for name, options in PARAMETERISATIONS.items():
        torch.manual_seed(0)
        model = build_denoiser(channels=(8, 8, 8), patch_size=(16, 16), condition_channels=1, **options)
        train_denoiser(model, patches, steps=150, batch_size=16, lr=3e-3, rng=0)
        trained[name] = model
    return trained


def _from_noise(model, mask, *, overlap, seeds=range(3)):
    blank = np.zeros(mask.shape, np.float32)
    options = dict(condition=mask.astype(np.float32), steps=10, tile_overlap=overlap, bf16=False)
    return [refine(model, blank, stages=[Stage(model.config.num_train_timesteps)], rng=k, **options) for k in seeds]


def test_tiles_drawn_from_noise_agree_on_the_background_only_with_v_on_the_cosine_schedule(models):
    mask = _discs((64, 96), 8, np.random.default_rng(5))
    background = [~mask] * 3
    seams, spreads, levels = {}, {}, {}
    for name, model in models.items():
        # Unblended tiles show any disagreement of their levels as a step at their borders.
        unblended = _from_noise(model, mask, overlap=0.0)
        seams[name] = seam_step(unblended, tile_size=(16, 16), overlap=0.0, masks=background)
        blended = _from_noise(model, mask, overlap=0.25)
        spreads[name] = block_spread(blended, block=(16, 16), masks=background)
        levels[name] = np.mean([image[~mask].mean() for image in blended])
    # The check sees the blocks of the old parameterisation (each tile at its own level, far too bright) ...
    assert seams["epsilon, linear"] > 5 and spreads["epsilon, linear"] > 0.1
    assert abs(levels["epsilon, linear"] - BACKGROUND) > 0.15
    # ... and none with v on the cosine schedule: one background, at the training images' level.
    assert seams["v, cosine"] < 3.5 and spreads["v, cosine"] < 0.05
    assert abs(levels["v, cosine"] - BACKGROUND) < 0.05


def test_a_stage_from_the_end_of_the_schedule_keeps_nothing_of_the_input(models):
    model = models["v, cosine"]
    mask = _discs((32, 40), 3, np.random.default_rng(1)).astype(np.float32)
    options = dict(condition=mask, steps=4, rng=2, bf16=False)
    rng = np.random.default_rng(0)
    one, other = (refine(model, rng.random((32, 40), np.float32), stages=[Stage(1000)], **options) for _ in "ab")
    np.testing.assert_array_equal(one, other)
    np.testing.assert_allclose(one, sample(model, (32, 40), **options), atol=1e-6)
    near_end = refine(model, rng.random((32, 40), np.float32), stages=[Stage(999)], **options)
    assert not np.array_equal(near_end, one)  # t = 999 is SDEdit, with a trace of the input


def test_refine_t_start_noise_draws_the_item_from_the_mask_alone(models):
    mask = _discs((48, 48), 5, np.random.default_rng(3))
    labels = mask.astype(np.uint16)
    item = Item(labels=labels, axes="YX", sketch=np.where(mask, 0.6, 0.2).astype(np.float32))
    other = dataclasses.replace(item, sketch=np.full((48, 48), 0.5, np.float32))
    spec = RefineSpec.from_mapping({"t_start": "noise", "condition": "mask", "steps": 6, "mismatch": "keep"})
    refined = refine_item(item, models["v, cosine"], spec, rng=0)
    np.testing.assert_array_equal(refined.image, refine_item(other, models["v, cosine"], spec, rng=0).image)
    assert refined.metadata["refinement"]["stages"] == [{"t_start": "noise", "hold": None}]
    assert refined.image[mask].mean() > refined.image[~mask].mean() + 0.3  # the nuclei are where the mask is


@pytest.mark.parametrize(
    "mapping", [{"t_start": "pure"}, {"stages": [{"t": "sketch"}]}, {"t_start": 1000}, {"tile": 4}]
)
def test_a_start_neither_a_time_nor_noise_or_a_tiny_tile_is_refused(mapping):
    with pytest.raises(InputError, match=r"refine\.(t_start|stages\.t|tile) must be"):
        RefineSpec.from_mapping(mapping)


def test_refine_tile_sets_the_tiles_of_the_model(models):
    model = models["v, cosine"]
    mask = _discs((48, 48), 4, np.random.default_rng(4))
    item = Item(labels=mask.astype(np.uint16), axes="YX", sketch=np.where(mask, 0.6, 0.2).astype(np.float32))
    section = {"t_start": "noise", "condition": "mask", "steps": 3, "mismatch": "keep"}
    whole = refine_item(item, model, RefineSpec.from_mapping(section | {"tile": 48}), rng=0).image
    options = dict(stages=[Stage(1000)], condition=mask.astype(np.float32), steps=3, rng=0, tile_size=(48, 48))
    expected = refine(model, item.sketch, **options)
    np.testing.assert_allclose(whole, expected, atol=1e-6)
    tiled = refine_item(item, model, RefineSpec.from_mapping(section), rng=0).image  # the model's 16x16 patch
    assert np.abs(whole - tiled).max() > 0.01
