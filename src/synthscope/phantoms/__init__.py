"""Rule-based phantoms: annotated nuclei, tissue, time-lapse and cilia, and their sketches.

Every generator takes a shape and keyword-only parameters with an `rng` and returns an
`Item` with exact masks; `render` draws its sketch (float32 in [0, 1]); presets (YAML)
name whole recipes, and `make_item` turns one into an item with its sketch.

Examples
--------
>>> from synthscope.phantoms import load_preset, make_item
>>> item = make_item(load_preset("cilia-oda-absent"), rng=0)
>>> item.metadata["diagnostic_class"], item.sketch.shape
('oda-absent', (512, 512))
"""

from synthscope.phantoms.cilia import cilia
from synthscope.phantoms.nuclei import nuclei
from synthscope.phantoms.presets import held_region, load_preset, make_item, preset_names
from synthscope.phantoms.render import render
from synthscope.phantoms.timelapse import timelapse
from synthscope.phantoms.tissue import nuclei_membrane, tissue

__all__ = ["cilia", "held_region", "load_preset", "make_item", "nuclei", "nuclei_membrane", "preset_names", "render",
           "timelapse", "tissue"]
