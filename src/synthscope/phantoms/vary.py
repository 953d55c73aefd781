"""Per-item variation of a preset (domain randomisation): the ``vary:`` section.

``vary`` maps a dotted preset key to the interval its value is drawn from, anew for every
item::

    vary:
      nuclei.density: [0.1, 0.5]          # a number in [0.1, 0.5]
      nuclei.clusters: [0, 3]             # integer bounds: an integer in 0..3
      nuclei.radius: [[4, 8], [9, 16]]    # a range: its low end in [4, 8], its high end in [9, 16]
      render.blur: [0.5, 2.5]

The drawn values replace the preset's own for that item, so a preset spans many
microscopes and specimens instead of one.
"""

import numpy as np

from synthscope.errors import InputError


def check_variation(vary) -> dict:
    """Return `vary` as ``{key: bounds}`` after checking its form; raise InputError naming the key.

    Examples
    --------
    >>> check_variation({"render.blur": [0.5, 2]})
    {'render.blur': [0.5, 2]}
    >>> check_variation({"render.blur": [2, 0.5]})
    Traceback (most recent call last):
    ...
    synthscope.errors.InputError: vary.render.blur: expected [low, high] (low <= high) or two of them, got [2, 0.5]
    """
    if vary is None:
        return {}
    if not isinstance(vary, dict):
        raise InputError("vary must map preset keys to intervals, e.g. {render.blur: [0.5, 2.5]}")
    for key, bounds in vary.items():
        intervals = bounds if _is_pair_of_intervals(bounds) else [bounds]
        if not all(_is_interval(interval) for interval in intervals):
            raise InputError(f"vary.{key}: expected [low, high] (low <= high) or two of them, got {bounds!r}")
    return dict(vary)


def extremes(vary: dict) -> tuple[dict, dict]:
    """The settings with every key at its lowest and at its highest value (to check a preset)."""
    low = {key: _at(bounds, 0) for key, bounds in vary.items()}
    high = {key: _at(bounds, 1) for key, bounds in vary.items()}
    return low, high


def draw_variation(vary: dict, rng: np.random.Generator) -> dict:
    """Draw one value per key of `vary` (checked), in sorted key order.

    The two ends of a range are drawn from their own intervals and sorted, so that
    overlapping intervals still give a range.

    Examples
    --------
    >>> drawn = draw_variation({"nuclei.clusters": [0, 3], "nuclei.radius": [[4, 8], [9, 16]]},
    ...                        np.random.default_rng(0))
    >>> isinstance(drawn["nuclei.clusters"], int), 4 <= drawn["nuclei.radius"][0] <= 8
    (True, True)
    """
    return {
        key: sorted(_draw(b, rng) for b in vary[key]) if _is_pair_of_intervals(vary[key]) else _draw(vary[key], rng)
        for key in sorted(vary)
    }


def _draw(bounds, rng):
    low, high = bounds
    if isinstance(low, int) and isinstance(high, int):
        return int(rng.integers(low, high + 1))
    return round(float(rng.uniform(low, high)), 4)


def _at(bounds, end):
    return [b[end] for b in bounds] if _is_pair_of_intervals(bounds) else bounds[end]


def _is_interval(bounds):
    return (
        isinstance(bounds, list | tuple)
        and len(bounds) == 2
        and all(isinstance(b, int | float) and not isinstance(b, bool) for b in bounds)
        and bounds[0] <= bounds[1]
    )


def _is_pair_of_intervals(bounds):
    return isinstance(bounds, list | tuple) and len(bounds) == 2 and all(isinstance(b, list | tuple) for b in bounds)
