"""Sampling: reference loops, SDEdit, held stages, tiling, slice noise, bad input."""

import numpy as np
import pytest
import torch
from diffusers import DDIMScheduler, DDPMScheduler

from synthscope.diffusion import Stage, build_denoiser, refine, sample, train_denoiser
from synthscope.diffusion.schedulers import schedule_options
from synthscope.diffusion.slice_noise import slice_noise
from synthscope.errors import InputError

# Tiny networks gain nothing from a second thread, and on shared cores a busy neighbour
# makes two OpenMP threads 10x slower (measured); one thread keeps the suite fast.
torch.set_num_threads(1)


@pytest.fixture(scope="module")
def model():
    """A tiny 2D model trained briefly on smooth images, so that its output is not trivial."""
    torch.manual_seed(0)
    model = build_denoiser(channels=(8, 8, 8), patch_size=(16, 16))
    yy, xx = np.mgrid[:48, :48] / 48
    train_denoiser(model, [(0.5 + 0.4 * np.sin(6 * xx) * np.cos(4 * yy)).astype(np.float32)], steps=30, lr=3e-3)
    return model


def _reference_loop(model, scheduler, shape, seed, ancestral):
    """The diffusers loop as written in its pipelines, with untiled network calls."""
    generator = torch.Generator().manual_seed(seed)
    scheduler.set_timesteps(10)
    x = torch.randn(shape, generator=generator)
    with torch.no_grad():
        for t in scheduler.timesteps:
            eps = model(x, t.expand(len(x)))
            x = scheduler.step(
                eps, t, x, **({"generator": generator} if ancestral else {"use_clipped_model_output": True})
            ).prev_sample
    return ((x[0, 0] + 1) / 2).clamp(0, 1).numpy()


@pytest.mark.parametrize("sampler, scheduler_class", [("ddim", DDIMScheduler), ("ddpm", DDPMScheduler)])
def test_our_loop_reproduces_the_library_reference_loop(model, sampler, scheduler_class):
    scheduler = scheduler_class(**schedule_options(model.config), timestep_spacing="trailing", clip_sample=True)
    expected = _reference_loop(model, scheduler, (1, 1, 32, 32), 3, ancestral=sampler == "ddpm")
    ours = sample(model, (32, 32), sampler=sampler, steps=10, rng=3, tile_size=(32, 32), bf16=False)
    np.testing.assert_allclose(ours, expected, atol=2e-4)


def test_sdedit_from_t_near_zero_returns_the_input(model):
    image = np.random.default_rng(0).random((16, 16), dtype=np.float32)
    out = refine(model, image, stages=[Stage(t_start=1)], steps=1, rng=0)
    assert np.abs(out - image).max() < 0.05


@pytest.mark.parametrize("sampler", ["dpm", "ddim", "ddpm"])
def test_held_region_equals_the_input_at_the_end_of_a_held_stage(model, sampler):
    image = np.random.default_rng(1).random((16, 32), dtype=np.float32)
    hold = np.zeros_like(image)
    hold[:, :12] = 1
    out = refine(model, image, stages=[Stage(t_start=600, hold=hold)], sampler=sampler, steps=5, rng=0)
    np.testing.assert_allclose(out[:, :12], image[:, :12], atol=1e-5)
    assert np.abs(out[:, 16:] - image[:, 16:]).mean() > 0.05  # the free region did change


def test_stages_run_in_order_and_the_last_held_stage_keeps_its_region(model):
    image = np.random.default_rng(2).random((16, 16), dtype=np.float32)
    core = np.zeros_like(image)
    core[4:12, 4:12] = 1
    stages = [Stage(650, hold=core), Stage(250), Stage(350, hold=core)]
    done = []
    out = refine(
        model, image, stages=stages, steps=3, rng=0, callback=lambda d, n, **f: done.append((d, n, f["stage"]))
    )
    assert done[0] == (1, 9, 0) and done[-1] == (9, 9, 2)
    np.testing.assert_allclose(out[4:12, 4:12], image[4:12, 4:12], atol=1e-5)


def test_same_seed_same_output_whatever_the_tile_batch(model):
    image = np.full((40, 56), 0.5, np.float32)
    runs = [refine(model, image, steps=3, rng=7, tile_batch=b, bf16=False) for b in (1, 3, 8)]
    np.testing.assert_allclose(runs[0], runs[1], atol=1e-5)
    np.testing.assert_allclose(runs[0], runs[2], atol=1e-5)
    assert not np.allclose(runs[0], refine(model, image, steps=3, rng=8, bf16=False))


def test_rng_is_an_int_a_numpy_or_a_torch_generator(model):
    image = np.full((16, 16), 0.5, np.float32)
    by_int = refine(model, image, steps=2, rng=5, bf16=False)
    by_torch = refine(model, image, steps=2, rng=torch.Generator().manual_seed(5), bf16=False)
    np.testing.assert_array_equal(by_int, by_torch)
    seed = int(np.random.default_rng(1).integers(2**63))  # one draw of the Generator seeds the noise
    np.testing.assert_array_equal(
        refine(model, image, steps=2, rng=np.random.default_rng(1), bf16=False),
        refine(model, image, steps=2, rng=seed, bf16=False),
    )


def test_an_image_of_one_tile_is_sampled_as_untiled(model):
    tiled = sample(model, (16, 16), steps=4, rng=1, tile_size=(16, 16), bf16=False)
    untiled = sample(model, (16, 16), steps=4, rng=1, tile_size=(64, 64), bf16=False)
    np.testing.assert_allclose(tiled, untiled, atol=1e-6)


def _border_step(model, overlap):
    """Mean jump of the column-mean profile at tile borders, over the mean jump elsewhere."""
    image = np.full((160, 64), 0.5, np.float32)
    out = refine(model, image, stages=[Stage(300)], steps=3, rng=0, tile_overlap=overlap, bf16=False)
    jumps = np.abs(np.diff(out.mean(axis=0)))
    stride = max(1, round(16 * (1 - overlap)))
    starts = sorted({*range(0, 64 - 16 + 1, stride), 64 - 16})
    borders = sorted({s - 1 for s in starts if s} | {s + 15 for s in starts if s + 16 < 64})
    return jumps[borders].mean() / np.delete(jumps, borders).mean()


def test_no_seams_along_tile_borders(model):
    assert _border_step(model, 0.0) > 2.5  # the check does see seams where tiles are not blended
    assert _border_step(model, 0.25) < 1.6


def test_a_2d_model_refines_a_volume_slice_by_slice_with_correlated_noise(model):
    volume = np.full((6, 16, 16), 0.5, np.float32)
    independent = refine(model, volume, stages=[Stage(800)], steps=3, rng=0)
    correlated = refine(model, volume, stages=[Stage(800)], steps=3, rng=0, slice_rho=3.0)
    assert correlated.shape == volume.shape

    def neighbour_correlation(v):
        return np.mean([np.corrcoef(v[i].ravel(), v[i + 1].ravel())[0, 1] for i in range(len(v) - 1)])

    assert neighbour_correlation(correlated) > neighbour_correlation(independent) + 0.3


@pytest.mark.parametrize("rho", [0.5, 1.0, 2.0])
def test_slice_noise_has_the_stated_correlation(rho):
    noise = slice_noise((4, 1, 256, 256), rho=rho, generator=torch.Generator().manual_seed(0)).flatten(1)
    correlation = torch.corrcoef(noise)[np.triu_indices(4, 1)]
    assert torch.allclose(correlation, torch.tensor(rho**2 / (1 + rho**2)), atol=0.01)
    assert abs(noise.std().item() - 1) < 0.01


def test_a_conditional_3d_model_samples_with_its_condition():
    model = build_denoiser(
        channels=(8, 8, 8), spatial_dims=3, condition_channels=1, patch_size=(8, 16, 16), axes="ZYX"
    ).eval()
    out = sample(model, (8, 24, 16), condition=np.zeros((8, 24, 16), np.float32), steps=2, rng=0)
    assert out.shape == (8, 24, 16) and out.dtype == np.float32 and 0 <= out.min() <= out.max() <= 1


def test_every_tile_of_an_image_has_the_class_of_its_image():
    torch.manual_seed(0)
    model = build_denoiser(channels=(8, 16, 16), patch_size=(16, 16), num_classes=2)
    for parameter in model.parameters():  # untrained weights off their start: outputs that depend on the class
        parameter.data.add_(0.05 * torch.randn_like(parameter))
    model.eval()

    def run(class_labels, tile_batch):  # 2 images of 3 x 4 tiles: a batch of tiles mixes both images
        options = {"steps": 3, "rng": 0, "bf16": False, "tile_batch": tile_batch}
        return sample(model, (2, 40, 52), class_labels=class_labels, sampler="ddpm", **options)

    mixed, same = run([0, 1], 5), run([1, 1], 5)
    np.testing.assert_allclose(mixed[1], same[1], atol=1e-5)  # image 1 is drawn alike whatever image 0's class
    assert np.abs(mixed[0] - same[0]).mean() > 0.01
    np.testing.assert_allclose(run([0, 1], 1), mixed, atol=1e-5)
    np.testing.assert_array_equal(run(1, 5), same)  # one int: the class of every image
    image = np.full((16, 16), 0.5, np.float32)
    assert refine(model, image, class_labels=1, stages=[Stage(t_start=100)], steps=2, rng=0).shape == (16, 16)


@pytest.mark.parametrize(
    "num_classes, class_labels, message",
    [
        (0, 1, "the model has 0 classes, got labels"),
        (2, None, "the model has 2 classes, got none"),
        (2, [0, 1], r"one per image \(1\)"),
        (2, 2, r"an integer in \[0, 2\)"),
        (2, 0.0, r"an integer in \[0, 2\)"),
    ],
)
def test_class_labels_must_fit_the_model_and_the_images(num_classes, class_labels, message):
    model = build_denoiser(channels=(8, 8, 8), patch_size=(16, 16), num_classes=num_classes).eval()
    calls = []
    with pytest.raises(InputError, match=message):
        sample(model, (16, 16), class_labels=class_labels, steps=2, callback=lambda *a, **k: calls.append(a))
    assert not calls


@pytest.mark.parametrize(
    "options, message",
    [
        ({"image": np.zeros((2, 3, 16, 16))}, "does not fit"),
        ({"image": np.full((16, 16), 2.0)}, "values must be in"),
        ({"condition": np.zeros((16, 16))}, "condition"),
        ({"stages": [Stage(0)]}, "t_start"),
        ({"stages": [Stage(1001)]}, "t_start"),
        ({"stages": [Stage(400, hold=np.full((16, 16), 1.5))]}, "hold"),
        ({"stages": [Stage(400, hold=np.ones((8, 16)))]}, "hold"),
        ({"stages": []}, "stages"),
        ({"stages": [400]}, "stages"),
        ({"sampler": "euler"}, "sampler"),
        ({"steps": 0}, "steps"),
        ({"tile_overlap": 1.0}, "tile_overlap"),
    ],
)
def test_bad_input_is_refused_before_any_work(model, options, message):
    calls = []
    options = {"image": np.zeros((16, 16), np.float32), **options}
    with pytest.raises(InputError, match=message):
        refine(model, options.pop("image"), callback=lambda *a, **k: calls.append(a), **options)
    assert not calls


def test_a_conditional_model_needs_a_condition_of_the_image_shape():
    model = build_denoiser(channels=(8, 8, 8), condition_channels=2, patch_size=(16, 16)).eval()
    with pytest.raises(InputError, match="condition"):
        refine(model, np.zeros((16, 16), np.float32))
    with pytest.raises(InputError, match="condition"):
        refine(model, np.zeros((16, 16), np.float32), condition=np.zeros((2, 16, 8)))
    with pytest.raises(InputError, match="does not fit"):
        refine(build_denoiser(channels=(8, 8, 8), spatial_dims=3, patch_size=(8, 8, 8), axes="ZYX"), np.zeros((16, 16)))
