"""Held regions: the parts of an item a refinement stage keeps as the sketch drew them.

A stage names its region (``refine.hold`` or ``refine.stages[].hold``): a mask of the item or
one derived from its masks:

- ``"objects"``, ``"tubules"``: the labelled objects (labels > 0);
- ``"background"``: everything else (labels == 0);
- ``"empty"``: the background without the out-of-plane nuclei (``masks["out_of_plane"]``),
  whose light the model then draws itself;
- ``"axoneme_minus_tubules"``: the axoneme without its tubules;
- the name of any mask of the item (``"axoneme"``, ``"membrane"``, ...).
"""

import numpy as np
from scipy import ndimage as ndi

from synthscope.errors import InputError
from synthscope.item import Item
from synthscope.refine.spec import HELD_REGIONS


def held_region(item: Item, name: str) -> np.ndarray:
    """Return the boolean region `name` of `item` (see the module notes), laid out like its labels.

    Examples
    --------
    >>> from synthscope.phantoms import cilia
    >>> item = cilia(rng=0)
    >>> region = held_region(item, "axoneme_minus_tubules")
    >>> bool(region.any() and not (region & (item.labels > 0)).any())
    True
    """
    if name in ("objects", "tubules"):
        return item.labels > 0
    if name == "background":
        return item.labels == 0
    if name == "empty":
        return (item.labels == 0) & ~(np.asarray(item.masks.get("out_of_plane", 0)) > 0)
    if name == "axoneme_minus_tubules" and "axoneme" in item.masks:
        return item.masks["axoneme"] & (item.labels == 0)
    if name in item.masks:
        return np.asarray(item.masks[name]) > 0
    raise InputError(f"hold: {name!r} is not a region of this item; use {', '.join(HELD_REGIONS)}")


def soft_held_region(item: Item, name: str, *, margin: int = 3, softness: float = 1.0) -> np.ndarray:
    """Return the held region `name` of `item` as a soft mask (float32 in [0, 1]).

    The background (and the empty background) is first kept `margin` pixels away from what
    it leaves out, so that the model may shape the edges there, and the mask is then blurred
    by `softness` (Gaussian sigma).

    Examples
    --------
    >>> labels = np.zeros((20, 20), np.uint16); labels[5:10, 5:10] = 1
    >>> held = soft_held_region(Item(labels=labels, axes="YX"), "background", softness=0)
    >>> float(held[7, 7]), float(held[11, 7]), float(held[0, 0])
    (0.0, 0.0, 1.0)
    """
    region = held_region(item, name)
    if name in ("background", "empty") and margin > 0:
        region = ~ndi.binary_dilation(~region, iterations=margin)
    mask = region.astype(np.float32)
    return ndi.gaussian_filter(mask, softness) if softness > 0 else mask
