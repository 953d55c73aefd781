"""Segmentation with diffusion refinement: a coarse attention U-Net, then a diffusion model that
refines its mask, conditioned on the image and the coarse mask; 2D and 3D.

``image -> preprocess -> coarse classes -> refine (K draws: mean + uncertainty) ->
postprocess -> seeded watershed -> labels``. Each step is optional and recorded in the
result. Train both stages with `train_segmenter` (``synthscope train-segmenter``);
segment with `segment` or a loaded `Segmenter` (``synthscope segment``). The package
itself is callable: ``synthscope.segment(image, model=...)`` is `segment`.
"""

import os
import sys
import types
from collections.abc import Iterable

import numpy as np

from synthscope.segment.coarse import CoarseConfig
from synthscope.segment.config import SegmenterConfig
from synthscope.segment.postprocess import Postprocessing, postprocess
from synthscope.segment.preprocess import Preprocessing, preprocess
from synthscope.segment.refiner import Refinement, degrade_mask, refine_mask
from synthscope.segment.segmenter import Segmentation, Segmenter
from synthscope.segment.train import Training, train_segmenter
from synthscope.segment.visualize import overlay, visualize

#: The model `segment` uses unless told otherwise (trained on synthscope data only).
DEFAULT_MODEL = "nuclei-seg-2d"

__all__ = [
    "DEFAULT_MODEL",
    "CoarseConfig",
    "Postprocessing",
    "Preprocessing",
    "Refinement",
    "Segmentation",
    "Segmenter",
    "SegmenterConfig",
    "Training",
    "degrade_mask",
    "overlay",
    "postprocess",
    "preprocess",
    "refine_mask",
    "segment",
    "segment_batch",
    "train_segmenter",
    "visualize",
]


def segment(
    image: np.ndarray,
    *,
    model: "str | os.PathLike | Segmenter" = DEFAULT_MODEL,
    refine: bool = True,
    ensemble: int | None = None,
    axes: str | None = None,
    rng: int = 0,
    return_intermediate: bool = False,
) -> Segmentation:
    """Segment one image with a model folder, a bundled model's name, or a loaded `Segmenter`.

    The keywords are those of `Segmenter.__call__`; to segment many images, load the
    model once (`Segmenter.load`) or use `segment_batch`.

    Returns
    -------
    Segmentation
        ``labels``, ``mask``, ``probability``, ``uncertainty``, ``coarse``, ``record``
        (and ``intermediate`` when asked).
    """
    segmenter = model if isinstance(model, Segmenter) else Segmenter.load(model)
    options = dict(refine=refine, ensemble=ensemble, axes=axes, rng=rng, return_intermediate=return_intermediate)
    return segmenter(image, **options)


def segment_batch(
    images: Iterable[np.ndarray],
    *,
    model: "str | os.PathLike | Segmenter" = DEFAULT_MODEL,
    **options,
) -> list[Segmentation]:
    """Segment several images with one model, loaded once; `options` as for `segment`."""
    segmenter = model if isinstance(model, Segmenter) else Segmenter.load(model)
    return [segment(image, model=segmenter, **options) for image in images]


class _CallablePackage(types.ModuleType):
    """``synthscope.segment(image, ...)`` is `segment`: the package and its main function share a name."""

    def __call__(self, image: np.ndarray, **options) -> Segmentation:
        return segment(image, **options)


sys.modules[__name__].__class__ = _CallablePackage
