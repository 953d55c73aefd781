"""Phantoms: annotated nuclei, tissue, time-lapse, cilia, red blood cells and learned masks, and their sketches.

Every generator takes a shape, its recipe (a frozen dataclass such as `NucleiRecipe`, or
the recipe's fields as keyword arguments) and an `rng`, and returns an `Item` with exact
masks; `render` draws its sketch (float32 in [0, 1]) by a `RenderRecipe`; presets (YAML)
name whole recipes, and `sketch_item` turns one into an item with its sketch.

Examples
--------
>>> from synthscope.phantoms import load_preset, sketch_item
>>> item = sketch_item(load_preset("cilia-oda-absent"), rng=0)
>>> item.metadata["diagnostic_class"], item.sketch.shape
('oda-absent', (512, 512))
"""

from synthscope.phantoms.cilia import CiliaRecipe, cilia
from synthscope.phantoms.fit_fallback import FitWarning
from synthscope.phantoms.learned import LearnedRecipe, learned
from synthscope.phantoms.nuclei import NucleiRecipe, nuclei
from synthscope.phantoms.presets import load_preset, preset_names, sketch_item
from synthscope.phantoms.rbc import RbcRecipe, rbc
from synthscope.phantoms.render import RenderRecipe, render
from synthscope.phantoms.timelapse import TimelapseRecipe, timelapse
from synthscope.phantoms.tissue import NucleiMembraneRecipe, TissueRecipe, nuclei_membrane, tissue

__all__ = [
    "CiliaRecipe",
    "FitWarning",
    "LearnedRecipe",
    "NucleiMembraneRecipe",
    "NucleiRecipe",
    "RbcRecipe",
    "RenderRecipe",
    "TimelapseRecipe",
    "TissueRecipe",
    "cilia",
    "learned",
    "load_preset",
    "nuclei",
    "nuclei_membrane",
    "preset_names",
    "rbc",
    "render",
    "sketch_item",
    "timelapse",
    "tissue",
]
