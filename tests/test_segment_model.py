"""Segmentation models end to end: both stages trained on tiny data, 2D and 3D, saved and
loaded, resumed step for step; pre/postprocessing and the instance step; bad input."""

import numpy as np
import pytest
import torch
from scipy import ndimage

import synthscope
from synthscope.diffusion import DenoiserConfig
from synthscope.errors import InputError
from synthscope.evaluate import dice, match_instances
from synthscope.segment import (
    CoarseConfig,
    Postprocessing,
    Preprocessing,
    Segmenter,
    SegmenterConfig,
    Training,
    postprocess,
    preprocess,
    segment,
    segment_batch,
    train_segmenter,
    visualize,
)
from synthscope.segment.coarse import train_coarse
from synthscope.segment.instances import split_instances

TINY = DenoiserConfig(channels=(8, 8, 8), attention_levels=(False,) * 3, patch_size=(32, 32))


def blobs(rng, count, shape=(64, 64), radius=(5, 9)):
    """Raw uint16 images of 2-4 separate bright balls, and their instance labels (2D or 3D)."""
    rng = np.random.default_rng(rng)
    grid = np.indices(shape)
    images, labels = [], []
    for _ in range(count):
        label = np.zeros(shape, np.uint16)
        for index in range(1, rng.integers(3, 6)):
            centre = rng.uniform(radius[1], np.array(shape) - radius[1])
            ball = np.linalg.norm(grid - centre.reshape(-1, *(1,) * len(shape)), axis=0) < rng.uniform(*radius)
            label[ball & (label == 0) & ~ndimage.binary_dilation(label > 0, iterations=2)] = index
        image = 200 + 800 * ndimage.gaussian_filter((label > 0) * 1.0, 1) + rng.normal(0, 40, shape)
        images.append(np.clip(image, 0, 4000).astype(np.uint16))
        labels.append(label)
    return images, labels


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    images, labels = blobs(0, 6)
    config = SegmenterConfig(coarse=CoarseConfig(channels=(8, 16, 16), patch_size=(32, 32)))
    training = Training(coarse_steps=150, refiner_steps=20, batch_size=8, refiner_lr=2e-3)
    out = tmp_path_factory.mktemp("model")
    return out, train_segmenter(images, labels, out, config=config, refiner=TINY, training=training, rng=0)


def test_a_trained_model_finds_the_objects_and_loads_from_its_folder(trained):
    out, model = trained
    images, labels = blobs(1, 3)
    results = segment_batch(images, model=out, refine=False)
    assert np.mean([dice(label, result.mask) for label, result in zip(labels, results)]) > 0.8
    assert match_instances(labels, [r.labels for r in results])["f1"][0] >= 0.6
    assert np.array_equal(synthscope.segment(images[0], model=out, refine=False).labels, results[0].labels)
    refined = segment(images[0], model=model, ensemble=2, rng=1, return_intermediate=True)
    again = Segmenter.load(out)(images[0], ensemble=2, rng=1)
    assert np.array_equal(refined.labels, again.labels) and np.array_equal(refined.uncertainty, again.uncertainty)
    assert refined.record["refinement"]["ensemble"] == 2 and refined.record["model"]["sha256"]
    assert refined.intermediate["classes"].shape == (3, 64, 64) and refined.labels.dtype == np.uint16
    assert visualize(images[0], refined).shape == (64, 3 * 64 + 8, 3)


def test_bad_input_is_refused_before_any_work(trained):
    out, model = trained
    with pytest.raises(InputError, match="axes 'ZYX' do not fit a 2D model"):
        model(np.zeros((4, 16, 16)), axes="ZYX")
    with pytest.raises(InputError, match="refinement.ensemble"):
        model(np.zeros((16, 16)), ensemble=0)
    with pytest.raises(InputError, match="has no refiner"):
        Segmenter(model.config, model.coarse)(np.zeros((16, 16)))
    with pytest.raises(InputError, match="no segmentation model folder"):
        Segmenter.load(out / "nothing")
    with pytest.raises(InputError, match="holds a checkpoint"):
        train_segmenter(*blobs(0, 1), out, config=model.config, refiner=TINY)
    with pytest.raises(InputError, match="labels must be integers"):
        train_segmenter([np.zeros((8, 8))], [np.zeros((8, 8))], out / "new")
    rgb = np.repeat(blobs(1, 1)[0][0][..., None], 3, axis=-1)
    assert model(rgb, refine=False).record["axes"] == "YXC"  # a colour picture is averaged to grey


def test_coarse_training_resumes_step_for_step(tmp_path):
    images, labels = blobs(2, 2, shape=(32, 32), radius=(4, 7))
    images = [preprocess(image) for image in images]
    config = CoarseConfig(channels=(8, 8), patch_size=(16, 16))
    whole = config.build(rng=0)
    train_coarse(whole, config, images, labels, steps=4, batch_size=2, rng=1)
    parts = config.build(rng=0)

    def interrupt(done, total, **fields):
        if done == 3:  # after the checkpoint of step 2
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        options = dict(checkpoint_dir=tmp_path, checkpoint_every=2, callback=interrupt)
        train_coarse(parts, config, images, labels, steps=4, batch_size=2, rng=1, **options)
    resumed = config.build(rng=5)
    train_coarse(resumed, config, images, labels, steps=4, batch_size=2, checkpoint_dir=tmp_path, resume=True, rng=1)
    assert all(torch.equal(a, b) for a, b in zip(whole.state_dict().values(), resumed.state_dict().values()))


def test_volumes_take_the_same_path(tmp_path):
    images, labels = blobs(3, 2, shape=(16, 32, 32), radius=(4, 6))
    config = SegmenterConfig(coarse=CoarseConfig(spatial_dims=3, channels=(8, 8), patch_size=(16, 16, 16)))
    refiner = DenoiserConfig(
        channels=(8, 8), attention_levels=(False,) * 2, spatial_dims=3, patch_size=(16,) * 3, axes="ZYX"
    )
    training = Training(coarse_steps=2, refiner_steps=2, batch_size=2, coarse_masks="degrade", degraded_copies=1)
    model = train_segmenter(images, labels, tmp_path, config=config, refiner=refiner, training=training)
    result = model(images[0], steps=1)
    assert result.axes == "ZYX" and result.labels.shape == result.uncertainty.shape == (16, 32, 32)
    assert model.refiner.config.axes == "ZYX" and model.refiner.config.patch_size == (16, 16, 16)


def test_pre_and_postprocessing_do_what_they_say():
    image = np.linspace(0, 4000, 400).reshape(20, 20)
    assert preprocess(image, Preprocessing(percentiles=(0, 100)))[-1, -1] == 1
    assert np.ptp(preprocess(image, Preprocessing(denoise=2.0))) <= 1
    mask = np.zeros((30, 30), bool)
    mask[5:25, 5:25] = True
    mask[12, 12] = mask[0, 0] = False
    mask[0, 29] = True
    spur = mask.copy()
    spur[14, 25:28] = True
    assert not postprocess(spur, Postprocessing(opening=1))[14, 27]
    cleaned = postprocess(mask, Postprocessing(fill_holes=4, min_size=4))
    assert cleaned[12, 12] and not cleaned[0, 29]
    assert postprocess(mask, Postprocessing(smooth=2.0, fill_holes=0, min_size=0))[5:25, 5:25].mean() > 0.9
    with pytest.raises(InputError, match="postprocessing.opening"):
        Postprocessing(opening=-1)


def test_touching_objects_are_split_by_the_interior_seeds():
    labels = np.zeros((20, 40), np.uint16)
    labels[4:16, 4:20], labels[4:16, 20:36] = 1, 2
    interior = ndimage.binary_erosion(labels == 1, iterations=2) | ndimage.binary_erosion(labels == 2, iterations=2)
    found = split_instances(labels > 0, interior.astype(np.float32), min_size=8)
    assert match_instances(labels, found)["f1"][-1] == 1.0
    volume = np.stack([labels] * 6)
    assert split_instances(volume > 0, np.stack([interior] * 6) * 0.9).max() == 2
