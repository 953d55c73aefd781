"""The one percentile normalisation: its options reproduce every variant exactly."""

import numpy as np
import pytest

from synthscope.errors import InputError
from synthscope.intensity import percentile_normalize


@pytest.mark.parametrize("dtype", [np.uint16, np.float32, np.float64])
def test_low_and_high_percentiles_become_0_and_1(dtype):
    image = (np.random.default_rng(0).random((30, 40)) * 1000).astype(dtype)
    lo, hi = np.percentile(image, (2, 98))
    out = percentile_normalize(image, 2, 98)
    assert out.dtype == np.float32 and out.min() == 0 and out.max() == 1
    np.testing.assert_array_equal(out, np.clip((image.astype(np.float32) - lo) / (hi - lo), 0, 1).astype(np.float32))
    np.testing.assert_array_equal(out, percentile_normalize(image, 2, 98, dtype=None).astype(np.float32))


def test_dtype_none_keeps_the_precision_of_the_arithmetic():
    image = np.linspace(0, 1, 101, dtype=np.float32)
    lo, hi = np.percentile(image, (1, 99))
    expected = np.clip((image - lo) / (hi - lo), 0, 1)
    out = percentile_normalize(image, 1, 99, dtype=None)
    assert out.dtype == expected.dtype
    np.testing.assert_array_equal(out, expected)


def test_a_flat_range_is_a_step_or_the_flat_value():
    image = np.zeros((20, 20))
    image[0, 0] = 5.0  # above the 99th percentile, which is still 0
    np.testing.assert_array_equal(percentile_normalize(image, 1, 99), image > 0)
    flat = percentile_normalize(image, 1, 99, flat=0.25)
    assert flat.dtype == np.float32 and np.all(flat == 0.25)


@pytest.mark.parametrize("low, high", [(99, 1), (5, 5), (-1, 50), (1, 101)])
def test_bad_percentiles_are_refused(low, high):
    with pytest.raises(InputError, match="0 <= low < high <= 100"):
        percentile_normalize(np.zeros(4), low, high)
