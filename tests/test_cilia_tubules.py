"""Tubule masks fitted to an image whose tubules lie a known distance from their masks, alone and in a refinement."""

import dataclasses

import numpy as np
import pytest
from scipy import ndimage as ndi

from synthscope.annotate.tubules import METHODS, OFF_TUBULES, fit_tubules, update_tubules
from synthscope.diffusion import PatchSampler, build_denoiser, train_denoiser
from synthscope.errors import InputError
from synthscope.item import Item
from synthscope.phantoms import cilia, render
from synthscope.refine import RefineSpec, refine_item

PLAIN = {"scale": 1.0, "ellipticity": 1.0, "neighbours": 0}


def _centres(labels):
    return np.array(ndi.center_of_mass(labels > 0, labels, np.arange(1, int(labels.max()) + 1)))


def _ious(fitted, truth):
    ids = np.arange(1, int(truth.max()) + 1)
    both = ndi.sum(fitted == truth, truth, ids)
    return both / (ndi.sum(fitted > 0, fitted, ids) + ndi.sum(truth > 0, truth, ids) - both)


@pytest.fixture(scope="module")
def drawn():
    """A cilium as drawn, and its sketch with every tubule drawn 2 px right of its mask."""
    item = cilia((256, 256), rng=3, **PLAIN)
    moved = np.roll(item.labels, 2, axis=1)
    masks = {k: v & (moved == 0) if k in OFF_TUBULES else v | (moved > 0) for k, v in item.masks.items()}
    truth = dataclasses.replace(item, labels=moved, classes=np.roll(item.classes, 2, axis=1), masks=masks)
    return dataclasses.replace(item, sketch=render(truth, modality="tem", rng=0))


@pytest.fixture(scope="module")
def shifted(drawn):
    """The sketch of `drawn`, its masks, and where its tubules really are."""
    return drawn.sketch, drawn.labels, np.roll(drawn.labels, 2, axis=1)


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


def test_update_tubules_reports_what_fit_tubules_fits(shifted):
    image, drawn, _ = shifted
    updated, report = update_tubules(image, drawn, band=3)
    assert np.array_equal(updated, fit_tubules(image, drawn, band=3))
    assert sorted(report["iou"]) == list(range(1, int(drawn.max()) + 1)) and not report["refused"]
    assert np.allclose(sorted(report["iou"].values()), np.sort(_ious(updated, drawn)))


def test_a_refinement_with_the_tubules_update_fits_displaced_tubules_and_the_masks_follow(drawn, shifted):
    model = build_denoiser(channels=(8, 8, 8), attention_levels=(False, False, False), patch_size=(32, 32))
    stats = train_denoiser(model, PatchSampler([drawn.sketch], patch_size=(32, 32)), steps=30, batch_size=4, rng=0)
    assert stats["final_loss"] < stats["first_loss"]
    options = dict(t_start=100, hold="tubules", steps=2, mismatch="keep")
    fitted = {
        update: refine_item(drawn, model, RefineSpec(**options, update=update), rng=0, polarity="dark")
        for update in ("edges", "tubules")
    }
    item, truth = fitted["tubules"], shifted[2]
    assert np.array_equal(item.image, fitted["edges"].image)  # the update changes the masks, not the image
    assert set(np.unique(item.labels)) == set(np.unique(drawn.labels))
    scores = {update: np.median(_ious(refined.labels, truth)) for update, refined in fitted.items()}
    assert scores["tubules"] > max(scores["edges"], np.median(_ious(drawn.labels, truth)))
    # Every tubule keeps its drawn class; arms and spokes stay off the tubules, the axoneme holds them.
    ids = np.arange(1, int(drawn.labels.max()) + 1)
    assert np.array_equal((item.classes > 0), item.labels > 0)
    assert np.array_equal(ndi.maximum(item.classes, item.labels, ids), ndi.maximum(drawn.classes, drawn.labels, ids))
    assert np.array_equal(ndi.minimum(item.classes, item.labels, ids), ndi.maximum(item.classes, item.labels, ids))
    assert not any((item.masks[name] & (item.labels > 0)).any() for name in ("outer_arms", "inner_arms", "spokes"))
    assert not (item.labels > 0)[~item.masks["axoneme"]].any()
    assert fitted["edges"].masks is drawn.masks  # the generic update leaves them as drawn


@pytest.mark.parametrize(
    ("labels", "polarity", "axes"),
    [(np.zeros((2, 8, 8), np.uint16), "dark", "ZYX"), (np.zeros((8, 8), np.uint16), "bright", "YX")],
)
def test_the_tubules_update_is_refused_before_any_work_off_2d_tem(labels, polarity, axes):
    item = Item(labels=labels, axes=axes, sketch=np.zeros(labels.shape, np.float32))
    with pytest.raises(InputError, match="refine.update: tubules fits dark tubules in 2D items"):
        refine_item(item, None, RefineSpec(update="tubules"), rng=0, polarity=polarity)


def test_an_unknown_update_is_refused_by_the_spec():
    with pytest.raises(InputError, match="refine.update must be one of 'edges', 'tubules'"):
        RefineSpec.from_mapping({"update": "grabcut"})
