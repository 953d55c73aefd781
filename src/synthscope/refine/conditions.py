"""Conditions: what a mask-conditioned model is given beside the noisy image."""

import numpy as np

from synthscope.errors import InputError
from synthscope.item import Item
from synthscope.refine.spec import CONDITION_CHANNELS, RefineSpec


def condition(item: Item, kind: str | None) -> np.ndarray | None:
    """Return the condition channels `kind` of `item` (float32 in {0, 1}), or None for no condition.

    ``"mask"`` is the objects' foreground; ``"mask+out_of_plane"`` stacks it with the
    out-of-plane nuclei's (``masks["out_of_plane"]``, empty where the item has none).

    Examples
    --------
    >>> labels = np.zeros((4, 4), np.uint16); labels[1, 1] = 1
    >>> condition(Item(labels=labels, axes="YX"), "mask+out_of_plane").shape
    (2, 4, 4)
    """
    if kind is None:
        return None
    if kind == "mask":
        return (item.labels > 0).astype(np.float32)
    beyond = item.masks.get("out_of_plane", np.zeros_like(item.labels))
    return np.stack([item.labels > 0, beyond > 0]).astype(np.float32)


def check_condition(spec: RefineSpec, channels: int) -> None:
    """Refuse, before any work, a ``refine.condition`` that a model taking `channels` cannot use.

    Examples
    --------
    >>> check_condition(RefineSpec(model="m", condition="mask"), 2)
    Traceback (most recent call last):
    ...
    synthscope.errors.InputError: refine.model m: takes 2 condition channels; set refine.condition=mask+out_of_plane
    """
    if channels != CONDITION_CHANNELS[spec.condition]:
        fits = ["null" if k is None else k for k, v in CONDITION_CHANNELS.items() if v == channels]
        hint = f"set refine.condition={fits[0]}" if fits else "no condition setting fits it"
        raise InputError(f"refine.model {spec.model}: takes {channels} condition channels; {hint}")
