"""synthscope: fully annotated synthetic microscopy data with diffusion models.

Rule-based phantoms draw cells, nuclei, tissue or cilia cross-sections as sketches with
exact masks; a small diffusion model turns each sketch into a realistic image; the masks
are brought into agreement with the image; the result is a data set a segmenter can
train on.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("synthscope")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

from synthscope.errors import InputError
from synthscope.item import Item

__all__ = ["InputError", "Item", "__version__", "generate"]


def __getattr__(name):
    # `synthscope.generate` is imported on first use so that `synthscope --help`, which
    # imports this package, does not pay for SciPy and scikit-image.
    if name == "generate":
        from synthscope.pipeline import generate

        return generate
    raise AttributeError(f"module 'synthscope' has no attribute {name!r}")
