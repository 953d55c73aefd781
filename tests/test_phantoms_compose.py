"""Composition of populations: the hard core between centres (`min_distance`), in 2D and 3D, and through `learned`."""

import numpy as np
import pytest
from scipy.spatial import cKDTree

from synthscope.errors import InputError
from synthscope.phantoms.compose import compose
from synthscope.phantoms.learned import LearnedRecipe, learned
from synthscope.phantoms.mask_crops import decode


def _disc(radius):
    r = int(np.ceil(radius))
    return np.hypot(*np.mgrid[-r : r + 1, -r : r + 1]) <= radius


def _nearest(records, scale=(1.0, 1.0)):
    """Nearest-neighbour distances between the centres of `records` (pixel sizes `scale`)."""
    centres = np.array([r["center"] for r in records], float) * np.asarray(scale)
    return cKDTree(centres).query(centres, k=2)[0][:, 1]


def test_min_distance_keeps_centres_apart_and_makes_the_packing_regular():
    masks = [_disc(r) for r in np.random.default_rng(0).uniform(2, 7, 50)]  # small and large objects
    free, free_records = compose((160, 160), masks, touching=0.3, rng=0)
    held, held_records = compose((160, 160), masks, touching=0.3, min_distance=16, rng=0)
    near_free, near_held = _nearest(free_records), _nearest(held_records)
    assert near_free.min() < 16 <= near_held.min()  # contact and small objects bring centres closer without it
    assert len(held_records) >= 40  # the hard core still leaves room for most objects
    assert near_held.std() / near_held.mean() < near_free.std() / near_free.mean()  # more regular
    assert held.max() == len(held_records) and not (np.bincount(held.ravel())[1:] == 0).any()


def test_min_distance_is_measured_in_pixels_of_the_last_axis_in_3d():
    ball = decode(np.pad(_disc(10).astype(np.float32), 5), 3.0, scale=(2, 1, 1), height=1.0)
    labels, records = compose((24, 64, 64), [ball] * 30, min_distance=12, scale=(2, 1, 1), rng=1)
    assert labels.max() == len(records) >= 15
    assert _nearest(records, scale=(2, 1, 1)).min() >= 12
    with pytest.raises(InputError, match="min_distance"):
        compose((24, 64, 64), [ball], min_distance=-1)


def test_the_learned_recipe_passes_min_distance_on():
    assert LearnedRecipe().min_distance == 0  # the default places as before: no hard core
    item = learned((128, 128), count=16, radius=(3, 8), touching=1.0, min_distance=20, distinct=2, rng=0)
    assert item.labels.max() == 16 and _nearest(item.metadata["objects"]).min() >= 20
    with pytest.raises(InputError, match="min_distance"):
        LearnedRecipe(min_distance=-2)
