"""Views of volumes for realism: z resampling, section strips, texture continuity in z."""

import numpy as np
import pytest

from synthscope.errors import InputError
from synthscope.evaluate import resample_z, section_strips, texture_z_correlation


def test_resample_z_interpolates_linearly_and_stays_within_the_volume():
    volume = np.broadcast_to(np.linspace(0, 1, 10)[:, None, None], (10, 3, 4)).astype(np.float32)
    out = resample_z(volume, spacing=0.58, target=0.52)
    assert out.shape == (11, 3, 4) and out.dtype == np.float32
    np.testing.assert_allclose(out[:, 0, 0], np.arange(11) * 0.52 / (9 * 0.58), atol=1e-6)
    np.testing.assert_array_equal(resample_z(volume, spacing=1.0, target=1.0), volume)


def test_section_strips_cut_xz_then_yz_sections_of_disjoint_windows():
    volume = np.arange(23 * 8 * 16, dtype=np.float64).reshape(23, 8, 16)
    strips = section_strips(volume, depth=11, width=8, stride=4)
    assert strips.shape == (16, 11, 8)
    np.testing.assert_array_equal(strips[0], volume[:11, 0, :8])  # first window, XZ section y=0
    np.testing.assert_array_equal(strips[4], volume[:11, :, 0])  # then YZ sections, x=0
    np.testing.assert_array_equal(strips[8], volume[11:22, 0, :8])  # second window
    with pytest.raises(InputError, match="no 30 x 8 section strip"):
        section_strips(volume, depth=30, width=8)


def test_texture_z_correlation_tells_repeated_from_independent_texture():
    rng = np.random.default_rng(0)
    assert texture_z_correlation(rng.random((6, 48, 48))) < 0.05
    assert texture_z_correlation(np.repeat(rng.random((1, 48, 48)), 6, axis=0)) == pytest.approx(1.0)


@pytest.mark.parametrize(
    "call",
    [
        lambda: resample_z(np.zeros((1, 4, 4)), spacing=1, target=1),
        lambda: resample_z(np.zeros((3, 4, 4)), spacing=0, target=1),
        lambda: section_strips(np.zeros((4, 4)), depth=2),
        lambda: texture_z_correlation(np.zeros((4, 4))),
    ],
)
def test_bad_input(call):
    with pytest.raises(InputError):
        call()
