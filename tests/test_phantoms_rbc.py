"""The rbc-3d phantom: six classes with their defining geometry, the imbalanced draw, the preset."""

import numpy as np
import pytest
from scipy import ndimage
from skimage.morphology import ball

from synthscope.errors import InputError
from synthscope.phantoms import load_preset, sketch_item
from synthscope.phantoms.rbc import CLASSES, RbcRecipe, rbc
from synthscope.shape3d.features import shape_features

SHAPE = (48, 48, 48)


def features(cell_class, seed, **params):
    item = rbc(SHAPE, cell_class=cell_class, radius=13, rng=seed, **params)
    assert item.metadata["class"] == cell_class and item.labels.max() == 1
    return shape_features(item.labels > 0)


@pytest.mark.parametrize("cell_class", CLASSES)
def test_every_class_is_one_whole_object_inside_the_volume(cell_class):
    item = rbc(SHAPE, cell_class=cell_class, rng=3)
    mask = item.labels > 0
    assert mask.sum() > 500
    assert not any(np.take(mask, i, axis=a).any() for a in range(3) for i in (0, -1))
    assert set(np.unique(item.classes)) == {0, CLASSES.index(cell_class) + 1}


def test_discocytes_are_flat_and_echinocytes_rounder_and_spiculated():
    disc = [features("sde", seed, sde=0.0) for seed in range(3)]
    echino = [features("sde", seed, sde=1.0) for seed in range(3)]
    assert max(f["flatness"] for f in disc) < 0.45
    assert min(f["flatness"] for f in echino) > max(f["flatness"] for f in disc)
    # spicules: what an opening by a small ball removes falls apart into many small pieces
    for seed in range(2):
        mask = rbc(SHAPE, cell_class="sde", sde=1.0, radius=13, rng=seed).labels > 0
        spikes = mask & ~ndimage.binary_opening(mask, structure=ball(2))
        assert ndimage.label(spikes)[1] >= 10


def test_bites_and_spicules_lower_solidity_below_a_discocyte_s():
    disc = np.mean([features("sde", seed, sde=0.0)["solidity"] for seed in range(3)])
    for cell_class in ("keratocyte", "acanthocyte"):
        assert np.mean([features(cell_class, seed)["solidity"] for seed in range(3)]) < disc, cell_class
    # lobes: less solid than one ellipsoid (about 0.97 at this size)
    assert max(features("multilobate", seed)["solidity"] for seed in range(3)) < 0.95


def test_classes_are_drawn_with_the_recipe_weights():
    drawn = [rbc(SHAPE, radius=10, rng=seed, weights=(0.5, 0.5, 0, 0, 0, 0)).metadata["class"] for seed in range(40)]
    assert set(drawn) == {"sde", "cluster"} and 10 < drawn.count("sde") < 30


def test_the_same_seed_draws_the_same_cell():
    assert np.array_equal(rbc(SHAPE, rng=5).labels, rbc(SHAPE, rng=5).labels)
    assert not np.array_equal(rbc(SHAPE, rng=5).labels, rbc(SHAPE, rng=6).labels)


def test_bad_recipes_are_refused():
    with pytest.raises(InputError, match="weights"):
        RbcRecipe(weights=(1, 1, 1, 1, 1, -1))
    with pytest.raises(InputError, match="cell_class"):
        RbcRecipe(cell_class="platelet")
    with pytest.raises(InputError, match="radius"):
        rbc((16, 16, 16), radius=14)
    with pytest.raises(InputError, match="shape"):
        rbc((32, 32), radius=5)


def test_the_preset_makes_a_sketch_with_its_class():
    preset = load_preset("rbc-3d", settings={"rbc.cell_class": "knizocyte"})
    item = sketch_item(preset, rng=0)
    assert item.sketch.shape == (64, 64, 64) and item.metadata["class"] == "knizocyte"
    assert item.sketch[item.labels > 0].mean() > item.sketch[item.labels == 0].mean() + 0.2
