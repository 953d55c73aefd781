"""Tubule masks fitted to an image whose tubules lie a known distance from their masks."""

import dataclasses

import numpy as np
import pytest
from scipy import ndimage as ndi

from synthscope.annotate.tubules import METHODS, fit_tubules
from synthscope.errors import InputError
from synthscope.phantoms import cilia, render

PLAIN = {"scale": 1.0, "ellipticity": 1.0, "neighbours": 0}


def _centres(labels):
    return np.array(ndi.center_of_mass(labels > 0, labels, np.arange(1, int(labels.max()) + 1)))


@pytest.fixture(scope="module")
def shifted():
    """A cilium whose every tubule was drawn 2 px right of its mask, and that mask."""
    item = cilia((256, 256), rng=3, **PLAIN)
    moved = np.roll(item.labels, 2, axis=1)
    masks = {k: v & (moved == 0) for k, v in item.masks.items()}
    truth = dataclasses.replace(item, labels=moved, classes=np.roll(item.classes, 2, axis=1), masks=masks)
    return render(truth, modality="tem", rng=0), item.labels, moved


@pytest.mark.parametrize("method", METHODS)
def test_fitted_masks_move_to_the_tubules_and_keep_their_ids(shifted, method):
    image, drawn, truth = shifted
    fitted = fit_tubules(image, drawn, method=method, band=3)
    assert fitted.dtype == drawn.dtype and set(np.unique(fitted)) == set(np.unique(drawn))
    error = np.hypot(*(_centres(fitted) - _centres(truth)).T)
    assert np.median(error) < 0.8 * 2  # closer than the 2 px the masks were drawn off
    assert np.hypot(*(_centres(fitted) - _centres(drawn)).T).max() < 4


def test_an_edge_moves_at_most_band_pixels(shifted):
    image, drawn, _ = shifted
    fitted = fit_tubules(image, drawn, method="grabcut", band=1)
    reach = ndi.binary_dilation(drawn > 0, iterations=1)
    assert not (fitted[~reach]).any() and (fitted > 0).sum() > 0.8 * (drawn > 0).sum()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"method": "snake"}, "method must be one of 'watershed', 'grabcut'"),
        ({"band": 0}, "band must be"),
        ({"labels": np.zeros((3, 3), np.uint16)}, "image and labels must be 2D of one shape"),
        ({"labels": -np.ones((64, 64), np.int32)}, "labels must be non-negative integers"),
    ],
)
def test_bad_input_is_refused(options, message):
    options = {"labels": np.zeros((64, 64), np.uint16), **options}
    with pytest.raises(InputError, match=message):
        fit_tubules(np.zeros((64, 64), np.float32), **options)
