"""``vary:``: preset keys drawn anew for every item (domain randomisation)."""

import numpy as np
import pytest

from synthscope.errors import InputError
from synthscope.phantoms import load_preset, sketch_item

PLAIN = {"shape": [96, 96], "refine.model": None, "nuclei.out_of_plane": 0, "nuclei.min_distance": 0}


def test_each_item_draws_its_own_values_within_the_bounds():
    preset = load_preset(
        "nuclei-2d",
        settings={**PLAIN, "vary.render.blur": [0.5, 2.5], "vary.nuclei.radius": [[4.0, 6.0], [8.0, 10.0]]},
    )
    drawn = [sketch_item(preset, rng=i).metadata["varied"] for i in range(6)]
    blurs = [d["render.blur"] for d in drawn]
    assert all(0.5 <= b <= 2.5 for b in blurs) and len(set(blurs)) == 6
    assert all(4 <= d["nuclei.radius"][0] <= 6 and 8 <= d["nuclei.radius"][1] <= 10 for d in drawn)
    assert sketch_item(preset, rng=3).metadata["varied"] == drawn[3]  # item i depends on its seed only


def test_a_drawn_value_changes_the_item_as_setting_it_would():
    preset = load_preset("nuclei-2d", settings={**PLAIN, "vary.nuclei.radius": [[3.0, 3.0], [4.0, 4.0]]})
    small = sketch_item(preset, rng=0)
    areas = np.bincount(small.labels.ravel())[1:]
    assert small.metadata["varied"]["nuclei.radius"] == [3.0, 4.0]
    assert areas.max() < np.pi * 5.5**2  # the preset's own radii (9.7-14.2) are gone


def test_a_preset_without_vary_draws_nothing_and_records_nothing():
    preset = load_preset("nuclei-2d", settings=PLAIN)
    item = sketch_item(preset, rng=0)
    assert "vary" not in preset and "varied" not in item.metadata


def test_the_broad_preset_varies_every_image():
    preset = load_preset("nuclei-2d-broad", settings={"shape": [96, 96], "refine.model": None})
    items = [sketch_item(preset, rng=i) for i in range(4)]
    assert len({item.metadata["varied"]["render.photons"] for item in items}) == 4
    assert all(item.labels.max() > 0 for item in items)


@pytest.mark.parametrize(
    "bounds, message",
    [
        ([2.0, 1.0], "low <= high"),
        ("wide", "low <= high"),
        ([0.2, 5.0], "vary: at .*render.blur|texture must be"),
    ],
)
def test_bad_bounds_are_refused_naming_the_key(bounds, message):
    key = "vary.render.texture" if bounds == [0.2, 5.0] else "vary.render.blur"
    with pytest.raises(InputError, match=message):
        load_preset("nuclei-2d", settings={**PLAIN, key: bounds})


def test_an_unknown_key_is_refused():
    with pytest.raises(InputError, match="colour is not a parameter"):
        load_preset("nuclei-2d", settings={**PLAIN, "vary.nuclei.colour": [0, 1]})
