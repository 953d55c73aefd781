"""Diagnostic rules of cilia cross-sections: named changes to the normal 9+2 axoneme.

The rules live in ``presets/_cilia_rules.yaml``; each maps a diagnostic class to values
of the keys of `AXONEME`. A value may be a pair ``[low, high]``, drawn anew per cilium.
"""

import functools
from importlib.resources import files

import yaml

from synthscope import checks as check
from synthscope.errors import InputError

#: The normal axoneme, and what each key means.
AXONEME = {
    "doublets": 9,  # peripheral doublets on the ring, 1..9
    "gap": False,  # with fewer than 9 doublets: leave their places empty (True) or space the rest evenly
    "transposed": 0,  # doublets moved into the centre (transposition), 0..1
    "singlets": 0,  # peripheral doublets that lost their B tubule
    "central": 2,  # central tubules, 0..4 (2 = the central pair)
    "central_offset": 0.0,  # shift of the central tubules towards the periphery, fraction of the ring radius
    "disarray": 0.0,  # 0 = regular ring; 1 = doublets displaced and turned strongly
    "outer_arms": 1.0,  # fraction of doublets with an outer dynein arm
    "inner_arms": 1.0,  # fraction of doublets with an inner dynein arm
    "spokes": 1.0,  # fraction of doublets with a radial spoke
}
_LIMITS = {  # key: (low, high, integer)
    "doublets": (1, 9, True),
    "transposed": (0, 1, True),
    "singlets": (0, 9, True),
    "central": (0, 4, True),
    "central_offset": (0, 0.4, False),
    "disarray": (0, 1, False),
    "outer_arms": (0, 1, False),
    "inner_arms": (0, 1, False),
    "spokes": (0, 1, False),
}


@functools.cache
def _rules():
    return yaml.safe_load(files("synthscope.phantoms").joinpath("presets", "_cilia_rules.yaml").read_text())


def rule_names():
    """Names of the diagnostic classes.

    Examples
    --------
    >>> rule_names()[:3]
    ['normal', 'no-central-pair', 'single-central-tubule']
    """
    return list(_rules())


def axoneme_ranges(rule, overrides=None):
    """Return the checked ranges of every `AXONEME` key for `rule`, changed by `overrides`.

    Returns a dict of key to ``(low, high)`` (``gap``: a bool).

    Examples
    --------
    >>> axoneme_ranges("transposition-gap")["doublets"]
    (8, 8)
    >>> axoneme_ranges("normal", {"central": 5})
    Traceback (most recent call last):
    ...
    synthscope.errors.InputError: axoneme.central must be in [0, 4], got 5
    """
    if rule not in _rules():
        raise InputError(f"rule must be one of {', '.join(rule_names())}; got {rule!r}")
    overrides = overrides or {}
    unknown = sorted(set(overrides) - set(AXONEME))
    if unknown:
        raise InputError(f"axoneme.{unknown[0]} is not a key of the axoneme; use {', '.join(AXONEME)}")
    values = {**AXONEME, **_rules()[rule], **overrides}
    if not isinstance(values["gap"], bool):
        raise InputError(f"axoneme.gap must be true or false, got {values['gap']!r}")
    ranges = {"gap": values["gap"]}
    for key, (low, high, integer) in _LIMITS.items():
        ranges[key] = check.check_range(values[key], f"axoneme.{key}", low=low, high=high, integer=integer)
    if ranges["transposed"][1] and ranges["central"][1]:
        raise InputError("axoneme.transposed needs axoneme.central = 0: the moved doublet takes the centre")
    if ranges["singlets"][1] > ranges["doublets"][0]:
        raise InputError(f"axoneme.singlets must be at most axoneme.doublets ({ranges['doublets'][0]})")
    return ranges


def draw_axoneme(ranges, rng):
    """Draw one cilium's axoneme from `ranges` (see `axoneme_ranges`): a dict like `AXONEME`."""
    drawn = {"gap": ranges["gap"]}
    for key, (_, _, integer) in _LIMITS.items():
        lo, hi = ranges[key]
        drawn[key] = int(rng.integers(lo, hi + 1)) if integer else float(rng.uniform(lo, hi))
    return drawn
