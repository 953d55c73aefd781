"""Recipes: one frozen dataclass per generator and for render, read from preset sections and round-tripped."""

import dataclasses
import json
import re

import numpy as np
import pytest

from synthscope.errors import InputError
from synthscope.phantoms.cilia import CiliaRecipe, cilia
from synthscope.phantoms.nuclei import NucleiRecipe, nuclei
from synthscope.phantoms.presets import GENERATORS, load_preset, preset_names
from synthscope.phantoms.render import RenderRecipe, render
from synthscope.phantoms.timelapse import TimelapseRecipe, timelapse
from synthscope.phantoms.tissue import NucleiMembraneRecipe, TissueRecipe, nuclei_membrane, tissue

# recipe -> (its preset section, a section with a bad value, the whole message)
BAD = {
    NucleiRecipe: ("nuclei", {"max_overlap": 0.9}, "nuclei.max_overlap must be in [0, 0.5], got 0.9"),
    TissueRecipe: ("tissue", {"relax": 2.5}, "tissue.relax must be an integer, got 2.5"),
    NucleiMembraneRecipe: (
        "nuclei_membrane",
        {"nucleus_size": [0.5, 1.5]},
        "nuclei_membrane.nucleus_size must be in (0, 1], got 1.5",
    ),
    TimelapseRecipe: (
        "timelapse",
        {"radius": [9, 6]},
        "timelapse.radius must be [low, high] with low <= high, got [9, 6]",
    ),
    CiliaRecipe: ("cilia", {"axoneme": {"central": 5}}, "cilia.axoneme.central must be in [0, 4], got 5"),
    RenderRecipe: ("render", {"psf": "confocal"}, "render.psf must be one of 'gaussian', 'airy'; got 'confocal'"),
}
# recipe -> a section that changes several fields
SECTIONS = {
    NucleiRecipe: {"count": 30, "radius": [6, 9], "out_of_plane": 0.2, "clusters": 2},
    TissueRecipe: {"radius": 10, "relax": 3, "region": "ellipsoid"},
    NucleiMembraneRecipe: {"nucleus_size": 0.7, "thickness": 3, "elongation": [1, 1.2]},
    TimelapseRecipe: {"frames": 4, "count": 5, "radius": 6, "speed": 2},
    CiliaRecipe: {"rule": "oda-absent", "axoneme": {"central": 1}, "neighbours": [0, 2], "scale": 0.5},
    RenderRecipe: {"modality": "multichannel", "channels": ["nuclei", "membrane"], "blur": 2, "read_noise": 0.02},
}


@pytest.mark.parametrize("cls", list(BAD), ids=lambda c: c.__name__)
def test_a_recipe_names_an_unknown_key_and_a_bad_value_in_one_line(cls):
    section, bad, message = BAD[cls]
    unknown = f"{section}.colour is not a parameter of {section}; use one of {', '.join(cls.names())}"
    with pytest.raises(InputError, match=f"^{re.escape(unknown)}$"):
        cls.from_mapping({"colour": 1}, section_name=section)
    with pytest.raises(InputError, match=f"^{re.escape(message)}$"):
        cls.from_mapping(bad, section_name=section)
    with pytest.raises(InputError, match=f"^{re.escape(message.split('.', 1)[1])}$"):  # unnamed when built directly
        cls(**bad)


@pytest.mark.parametrize("cls", list(SECTIONS), ids=lambda c: c.__name__)
def test_a_recipe_round_trips_through_a_dict_and_json(cls):
    recipe = cls.from_mapping(SECTIONS[cls], section_name="section")
    assert recipe == cls(**SECTIONS[cls])
    assert cls.from_mapping(recipe.to_dict(), section_name="section") == recipe
    assert cls.from_mapping(json.loads(json.dumps(recipe.to_dict())), section_name="section") == recipe
    assert cls.from_mapping({}, section_name="section") == cls()
    assert set(recipe.to_dict()) == set(cls.names())
    name = cls.names()[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(recipe, name, getattr(recipe, name))
    assert recipe.replace(**SECTIONS[cls]) == recipe


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_section_is_a_recipe_that_round_trips(name):
    preset = load_preset(name)
    for cls, section in ((GENERATORS[preset["generator"]][1], preset["generator"]), (RenderRecipe, "render")):
        recipe = cls.from_mapping(preset[section], section_name=section)
        assert cls.from_mapping(recipe.to_dict(), section_name=section) == recipe
        assert {k: recipe.to_dict()[k] for k in preset[section]} == {  # normalised, not changed
            k: tuple(v) if isinstance(v, list) and k != "axoneme" else v for k, v in preset[section].items()
        }


def test_values_are_normalised_and_checked_again_on_replace():
    recipe = NucleiRecipe(radius=7, brightness=[0.4, 0.6], clusters=2)
    assert recipe.radius == (7.0, 7.0) and recipe.brightness == (0.4, 0.6) and type(recipe.clusters) is int
    assert recipe == NucleiRecipe(radius=(7.0, 7.0), brightness=(0.4, 0.6), clusters=2)
    assert RenderRecipe(channels=["a", "b"]).channels == ("a", "b")
    with pytest.raises(InputError, match=r"^roughness must be in \[0, 0.3\], got 1$"):
        recipe.replace(roughness=1)
    with pytest.raises(InputError, match="count and density are alternatives"):
        NucleiRecipe(count=5).replace(density=0.3)
    assert NucleiRecipe(count=5).replace(count=None, density=0.3).density == 0.3


def test_resolve_checks_what_depends_on_the_image():
    assert NucleiRecipe().resolve((128, 128))["count"] == NucleiRecipe(density=0.35).resolve((128, 128))["count"]
    cases = [
        (lambda: NucleiRecipe(count=500, radius=10).resolve((64, 64)), r"^cannot place 500 nuclei: at most about \d+"),
        (lambda: NucleiRecipe(radius=300).resolve((64, 64)), r"^radius must be in \[1, 256\], got 300.0$"),
        (lambda: NucleiRecipe(out_of_plane=0.1).resolve((16, 32, 32)), "^out_of_plane applies to 2D images"),
        (lambda: NucleiRecipe(region="cube").resolve((64, 64)), "^region must be None, 'ellipsoid'"),
        (lambda: NucleiRecipe().resolve((64, 64), (1, 1, 1)), r"^spacing must have 2 values"),
        (lambda: TissueRecipe(count=10**6).resolve((64, 64)), r"^count must be in \[1, 512\]"),
        (lambda: TimelapseRecipe(speed=100).resolve((64, 64)), r"^speed must be in \[0, 64\], got 100.0$"),
        (lambda: CiliaRecipe(scale=3).resolve(), "^scale: a cilium up to 750 pixels across does not fit"),
        (lambda: CiliaRecipe().resolve((64, 64, 64)), "^shape must have 2 axes"),
    ]
    for resolve, message in cases:
        with pytest.raises(InputError, match=message):
            resolve()


def _assert_same_item(a, b):
    assert np.array_equal(a.labels, b.labels) and a.axes == b.axes and a.spacing == b.spacing
    assert a.masks.keys() == b.masks.keys() and all(np.array_equal(a.masks[k], b.masks[k]) for k in a.masks)
    assert a.metadata == b.metadata
    assert (a.tracks is None) == (b.tracks is None) and (a.tracks is None or np.array_equal(a.tracks, b.tracks))
    assert (a.classes is None) == (b.classes is None) and (a.classes is None or np.array_equal(a.classes, b.classes))


@pytest.mark.parametrize(
    ("function", "cls", "shape", "params"),
    [
        (
            nuclei,
            NucleiRecipe,
            (96, 96),
            {"count": 12, "radius": (5, 7), "out_of_plane": 0.3, "dividing_fraction": 0.2},
        ),
        (nuclei, NucleiRecipe, (12, 48, 48), {"count": 4, "radius": 6, "mitotic_fraction": 0.5}),
        (tissue, TissueRecipe, (64, 64), {"radius": 9, "thickness": 3, "relax": 1}),
        (nuclei_membrane, NucleiMembraneRecipe, (64, 64), {"radius": 12, "nucleus_size": 0.7, "roughness": 0.1}),
        (timelapse, TimelapseRecipe, (64, 64), {"frames": 3, "count": 4, "radius": 6, "division_rate": 0.3}),
        (cilia, CiliaRecipe, (256, 256), {"rule": "oda-absent", "scale": 0.5, "neighbours": 1}),
    ],
    ids=lambda v: v.__name__ if callable(v) else None,
)
def test_a_generator_called_with_a_recipe_equals_it_called_with_keywords(function, cls, shape, params):
    spacing = (2.0,) + (1.0,) * (len(shape) - 1)
    by_keywords = function(shape, spacing=spacing, rng=3, **params)
    _assert_same_item(function(shape, cls(**params), spacing=spacing, rng=3), by_keywords)
    first, *rest = params  # a recipe and keywords combine: the keywords replace its fields
    combined = function(shape, cls(**{first: params[first]}), spacing=spacing, rng=3, **{k: params[k] for k in rest})
    _assert_same_item(combined, by_keywords)
    with pytest.raises(TypeError, match=f"recipe must be a {cls.__name__}, got RenderRecipe"):
        function(shape, RenderRecipe(), rng=0)


def test_render_called_with_a_recipe_equals_it_called_with_keywords():
    item = nuclei((64, 64), count=6, radius=7, out_of_focus_fraction=0.5, rng=0)
    options = {"blur": 1.5, "haze": 0.1, "illumination": 0.2, "texture_scale": 6.0, "psf": "airy"}
    by_keywords = render(item, **options, rng=1)
    assert np.array_equal(render(item, RenderRecipe(**options), rng=1), by_keywords)
    assert np.array_equal(
        render(item, RenderRecipe(blur=9, psf="airy"), blur=1.5, haze=0.1, illumination=0.2, texture_scale=6.0, rng=1),
        by_keywords,
    )
    with pytest.raises(TypeError, match="recipe must be a RenderRecipe"):
        render(item, NucleiRecipe())
