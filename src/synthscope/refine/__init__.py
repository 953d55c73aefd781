"""Refinement of items: a sketch through a diffusion model's stages, masks kept faithful.

`RefineSpec` owns the ``refine:`` section of a preset; `refine_item` refines one item
(held regions, conditions, the mismatch policy, re-tracking of time-lapses); `load_model`
loads the model a spec names. The sampling itself is `synthscope.diffusion.refine`.

Examples
--------
>>> from synthscope.refine import RefineSpec
>>> RefineSpec.from_mapping({"stages": [{"t": 650, "hold": "axoneme"}, {"t": 250}]}).plan[0].hold
'axoneme'
"""

from synthscope.refine.conditions import check_condition, condition
from synthscope.refine.item import load_model, refine_item
from synthscope.refine.regions import held_region, soft_held_region
from synthscope.refine.spec import CONDITION_CHANNELS, HELD_REGIONS, MISMATCH_POLICIES, RefineSpec, StageSpec
from synthscope.refine.tracks import retrack

__all__ = [
    "CONDITION_CHANNELS",
    "HELD_REGIONS",
    "MISMATCH_POLICIES",
    "RefineSpec",
    "StageSpec",
    "check_condition",
    "condition",
    "held_region",
    "load_model",
    "refine_item",
    "retrack",
    "soft_held_region",
]
