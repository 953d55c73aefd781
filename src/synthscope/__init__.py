"""synthscope: fully annotated synthetic microscopy data with diffusion models.

Rule-based phantoms draw cells, nuclei, tissue or cilia cross-sections as sketches with
exact masks; a small diffusion model turns each sketch into a realistic image; the masks
are brought into agreement with the image; the result is a data set a segmenter can
train on.
"""

import os
from importlib.metadata import PackageNotFoundError, version

from synthscope.errors import InputError
from synthscope.item import Item

# Idle OpenMP threads sleep instead of spinning: spinning threads made network passes up
# to 20x slower on a machine shared with other processes (docs/benchmarks.md). OpenMP
# reads this when torch is first imported, which none of the imports above does; a value
# the user set is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

try:
    __version__ = version("synthscope")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = ["InputError", "Item", "ItemMaker", "__version__", "generate", "make_item"]

# Imported on first use so that `synthscope --help`, which imports this package, does not
# pay for SciPy and scikit-image.
_LAZY = {"generate": "synthscope.pipeline", "make_item": "synthscope.maker", "ItemMaker": "synthscope.maker"}


def __getattr__(name):
    if name == "segment":  # the package; called, it is `synthscope.segment.segment`
        from importlib import import_module

        return import_module("synthscope.segment")
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'synthscope' has no attribute {name!r}")
