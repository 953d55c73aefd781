"""Training really trains: the loss falls in 2D and 3D; checkpoints resume exactly."""

import numpy as np
import pytest
import torch

from synthscope.diffusion import PatchSampler, build_denoiser, load_denoiser, refine, sample, train_denoiser
from synthscope.errors import InputError

# Tiny networks gain nothing from a second thread, and on shared cores a busy neighbour
# makes two OpenMP threads 10x slower (measured); one thread keeps the suite fast.
torch.set_num_threads(1)


@pytest.mark.parametrize("dims, prediction_type", [(2, "epsilon"), (2, "v_prediction"), (3, "epsilon")])
def test_loss_falls_on_a_learnable_toy_task(tmp_path, dims, prediction_type):
    torch.manual_seed(0)
    model = build_denoiser(
        channels=(8, 8, 8),
        spatial_dims=dims,
        patch_size=(8, 8, 8) if dims == 3 else (16, 16),
        axes="ZYX" if dims == 3 else "YX",
        prediction_type=prediction_type,
    )
    seen = []
    stats = train_denoiser(
        model,
        [np.full((24,) * dims, 0.2, np.float32)],
        steps=30,
        lr=3e-3,
        checkpoint_dir=tmp_path,
        callback=lambda done, total, loss: seen.append(done),
    )
    assert stats["final_loss"] < 0.5 * stats["first_loss"]
    assert seen == list(range(1, 31)) and not model.training
    assert (tmp_path / "samples_000030.png").is_file()


def test_conditional_training_learns_to_use_the_condition():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    masks = [(rng.random((32, 32)) > 0.5).astype(np.float32) for _ in range(4)]
    images = [0.1 + 0.8 * m for m in masks]  # the image is its condition: learnable only through it
    model = build_denoiser(channels=(8, 8, 8), condition_channels=1, patch_size=(16, 16))
    stats = train_denoiser(model, PatchSampler(images, conditions=masks, patch_size=(16, 16)), steps=40, lr=3e-3)
    assert stats["final_loss"] < 0.5 * stats["first_loss"]


def test_class_conditional_training_learns_to_tell_the_classes_apart():
    # Two classes of constant images, told apart by the class label alone. Velocity
    # prediction: its target at high noise is the clean image, so the class pays off fast.
    torch.manual_seed(0)
    images = [np.full((16, 16), value, np.float32) for value in (0.2, 0.8)]
    model = build_denoiser(channels=(8, 16, 16), patch_size=(16, 16), num_classes=2, prediction_type="v_prediction")
    stats = train_denoiser(model, PatchSampler(images, patch_size=(16, 16), classes=[0, 1]), steps=100, lr=3e-3)
    assert stats["final_loss"] < 0.5 * stats["first_loss"]
    means = sample(model, (4, 16, 16), class_labels=[0, 1, 0, 1], steps=10, rng=0).mean(axis=(1, 2))
    np.testing.assert_allclose(means, [0.2, 0.8, 0.2, 0.8], atol=0.15)


def test_classes_are_drawn_with_their_patches_and_must_fit_the_model():
    images = [np.full((2, 24, 24), value, np.float32) for value in (0.0, 0.5, 1.0)]
    sampler = PatchSampler(images, patch_size=(8, 8), classes=[2, 0, 1], jitter=0)
    drawn, conditions, classes = sampler.draw_with_classes(16, rng=1)
    np.testing.assert_array_equal(drawn, sampler.draw(16, rng=1)[0])  # the same patches as without classes
    np.testing.assert_array_equal(classes, np.array([2, 0, 1])[(2 * drawn[:, 0, 0, 0]).astype(int)])
    assert conditions is None and classes.dtype == np.int64
    for bad in ([0, 1], [0, 1, -1], [0.0, 1.0, 2.0]):
        with pytest.raises(InputError, match="classes: expected one non-negative integer per image"):
            PatchSampler(images, patch_size=(8, 8), classes=bad)
    for classes, message in ((0, "has 0 classes, the data class labels up to 2"), (2, "has 2 classes, the data class")):
        with pytest.raises(InputError, match=message):
            train_denoiser(build_denoiser(channels=(8, 8, 8), patch_size=(8, 8), num_classes=classes), sampler, steps=1)
    with pytest.raises(InputError, match="has 3 classes, the data none"):
        train_denoiser(build_denoiser(channels=(8, 8, 8), patch_size=(8, 8), num_classes=3), images, steps=1)


def test_augmentations_are_identical_for_image_and_condition():
    image = np.random.default_rng(0).random((2, 24, 24)).astype(np.float32)
    sampler = PatchSampler([image], conditions=[image.copy()], patch_size=(8, 8), jitter=0)
    images, conditions = sampler.draw(16, rng=1)
    np.testing.assert_array_equal(images, conditions)
    assert images.shape == (16, 1, 8, 8)


def test_a_condition_may_have_channels_of_its_own():
    image = np.zeros((24, 24), np.float32)
    condition = np.stack([np.zeros_like(image), np.ones_like(image)])
    sampler = PatchSampler([image], conditions=[condition], patch_size=(8, 8))
    assert sampler.condition_channels == 2
    conditions = sampler.draw(3, rng=0)[1]
    assert conditions.shape == (3, 2, 8, 8) and conditions[:, 0].max() == 0 and conditions[:, 1].min() == 1


def test_patches_normalise_by_recorded_percentiles_and_refuse_bad_input():
    raw = np.random.default_rng(0).integers(0, 4000, (3, 20, 20)).astype(np.uint16)
    sampler = PatchSampler([raw], patch_size=(16, 16), percentiles=(1, 99))
    assert sampler.normalisation == {"method": "percentile", "low": 1, "high": 99}
    assert 0 <= sampler.draw(2, rng=0)[0].min() and sampler.draw(2, rng=0)[0].max() <= 1
    with pytest.raises(InputError, match="in \\[0, 1\\]"):
        PatchSampler([raw], patch_size=(16, 16))
    with pytest.raises(InputError, match="smaller than the patch"):
        PatchSampler([np.zeros((8, 8))], patch_size=(16, 16))
    with pytest.raises(InputError, match="condition channels"):
        train_denoiser(
            build_denoiser(channels=(8, 8, 8), patch_size=(16, 16)),
            PatchSampler([np.zeros((16, 16))], conditions=[np.zeros((16, 16))], patch_size=(16, 16)),
            steps=1,
        )


@pytest.mark.parametrize("classes", [0, 2])
def test_resumed_training_equals_an_uninterrupted_run(tmp_path, classes):
    data = [np.random.default_rng(i).random((24, 24)).astype(np.float32) for i in range(max(classes, 1))]
    patches = PatchSampler(data, patch_size=(16, 16), classes=list(range(classes)) if classes else None)

    def run(steps, folder, resume=False):
        torch.manual_seed(0)
        model = build_denoiser(channels=(8, 8, 8), patch_size=(16, 16), num_classes=classes)
        train_denoiser(
            model,
            patches,
            steps=steps,
            batch_size=2,
            checkpoint_dir=folder,
            checkpoint_every=2,
            resume=resume,
            bf16=False,
        )
        return model

    whole = run(4, tmp_path / "a")
    run(2, tmp_path / "b")
    resumed = run(4, tmp_path / "b", resume=True)
    for p, q in zip(whole.parameters(), resumed.parameters()):
        torch.testing.assert_close(p, q)
    assert (tmp_path / "b" / "samples_000004.png").is_file()
    ema = load_denoiser(tmp_path / "b")
    assert ema.extra["steps"] == 4 and ema.source["weights"] == "ema.safetensors"
    assert refine(ema, data[0], class_labels=0 if classes else None, steps=2, rng=0).shape == (24, 24)


def test_rng_seeds_training_by_an_int_or_one_draw_of_a_generator():
    data = [np.random.default_rng(0).random((24, 24)).astype(np.float32)]

    def weights(**seeding):
        torch.manual_seed(0)
        model = build_denoiser(channels=(8, 8, 8), patch_size=(16, 16))
        train_denoiser(model, data, steps=2, batch_size=2, bf16=False, **seeding)
        return torch.cat([p.flatten() for p in model.parameters()])

    torch.testing.assert_close(weights(rng=3), weights(rng=3))
    assert not torch.equal(weights(rng=3), weights(rng=4))
    seed = int(np.random.default_rng(4).integers(2**63))
    torch.testing.assert_close(weights(rng=np.random.default_rng(4)), weights(rng=seed))


def test_resume_refuses_a_different_model(tmp_path):
    data = [np.zeros((16, 16), np.float32)]
    train_denoiser(build_denoiser(channels=(8, 8, 8), patch_size=(16, 16)), data, steps=1, checkpoint_dir=tmp_path)
    with pytest.raises(InputError, match="differs"):
        train_denoiser(
            build_denoiser(channels=(8, 16, 16), patch_size=(16, 16)),
            data,
            steps=2,
            checkpoint_dir=tmp_path,
            resume=True,
        )
