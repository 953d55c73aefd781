"""Any ``--set`` override of any preset key either loads or is refused with one InputError line."""

import dataclasses

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from synthscope.errors import InputError
from synthscope.phantoms import RenderRecipe, load_preset
from synthscope.phantoms.presets import GENERATORS
from synthscope.refine import RefineSpec

PRESETS = ("nuclei-2d", "nuclei-3d", "nuclei-2d-broad", "tissue-2d", "timelapse-2d", "nuclei-membrane-2d", "cilia")


def _keys(preset):
    """The keys `--set` may name for `preset`, by section: its recipes' fields, top-level and ``vary`` keys."""
    generator = load_preset(preset)["generator"]
    recipes = {generator: GENERATORS[generator][1], "render": RenderRecipe, "refine": RefineSpec}
    keys = {name: [f"{name}.{field.name}" for field in dataclasses.fields(cls)] for name, cls in recipes.items()}
    keys["top"] = ["shape", "spacing", "generator", "description"]
    keys["vary"] = [f"vary.{key}" for key in keys[generator] + keys["render"]]
    return list(keys.values())


KEYS = {preset: _keys(preset) for preset in PRESETS}
NUMBERS = st.one_of(
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, -1, 0.5, 2, 1e308, -1e308, 2**70]),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, st.text(max_size=8), st.sampled_from(["nan", "dpm", "mask"]))
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=2)),
    max_leaves=6,
)


@st.composite
def overrides(draw):
    """A preset and 1-3 changes, each of a key drawn from a section drawn first (so that few-key sections come up)."""
    preset = draw(st.sampled_from(PRESETS))
    keys = st.sampled_from(KEYS[preset]).flatmap(st.sampled_from)
    return preset, draw(st.dictionaries(keys, VALUES, min_size=1, max_size=3))


@settings(max_examples=100, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(overrides())
# each of these once raised TypeError
@example(("nuclei-2d", {"shape": None}))
@example(("tissue-2d", {"shape": 0.5}))
@example(("cilia", {"cilia.rule": []}))
@example(("cilia", {"cilia.axoneme": 3}))
@example(("nuclei-3d", {"generator": {"a": 1}, "nuclei.count": 1}))
def test_random_overrides_load_or_raise_one_input_error(case):
    preset, changes = case
    try:
        loaded = load_preset(preset, settings=changes)
    except InputError as error:
        assert str(error).startswith(f"{preset}: ") and "\n" not in str(error)
    else:
        assert loaded["name"] == preset


def test_a_shape_too_small_for_the_preset_is_named():
    with pytest.raises(InputError, match=r"^nuclei-2d: shape \[8, 8\] does not fit the other settings of the preset: "):
        load_preset("nuclei-2d", settings={"shape": [8, 8]})
    # a key the user set is named as before
    with pytest.raises(InputError, match=r"^nuclei-2d: nuclei.min_distance must be in \[0, 8\], got 50"):
        load_preset("nuclei-2d", settings={"shape": [8, 8], "nuclei.min_distance": 50})
