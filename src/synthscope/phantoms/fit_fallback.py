"""What `synthscope.phantoms.fit` does when the examples cannot give a statistic.

A statistic with nothing to measure it on (no background, no sections, ...) takes a
stated value instead, announced by one `FitWarning` line that names both; `finite`
returns None for such a statistic, so that the caller can fall back.
"""

import warnings

import numpy as np


class FitWarning(UserWarning):
    """A statistic the examples cannot give; the message names it and the value used instead."""


def fallback(key, value, reason, *, base=False):
    """Warn, in one line, that `key` takes `value` (`base`: the base preset's) because of `reason`; return `value`."""
    source = "the base preset's " if base else ""
    warnings.warn(f"{key}: {reason}; using {source}{value}", FitWarning, stacklevel=3)
    return value


def finite(function, values, *args):
    """``function(values, *args)`` of the finite `values` as a float; None when there are none."""
    values = np.asarray(values, float)
    values = values[np.isfinite(values)]
    return float(function(values, *args)) if values.size else None
