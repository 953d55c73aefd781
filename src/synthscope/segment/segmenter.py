"""`Segmenter`: a model folder loaded once (coarse network, refiner, settings) that segments images.

A model folder is ``config.json`` (`SegmenterConfig` + provenance), ``coarse.safetensors``,
``refiner/`` (a `synthscope.diffusion` model folder; absent for a coarse-only model) and
``card.md``. Only JSON and safetensors are read, so a model can never run code.
"""

import dataclasses
import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import safetensors
import safetensors.torch
import torch

from synthscope.axes import check_axes, spatial_axes
from synthscope.diffusion import Denoiser, load_denoiser, save_denoiser
from synthscope.diffusion.checkpoint import _sha256
from synthscope.errors import InputError
from synthscope.io import atomic_path, write_text
from synthscope.segment.coarse import CLASSES, predict_coarse
from synthscope.segment.config import SegmenterConfig
from synthscope.segment.instances import split_instances
from synthscope.segment.postprocess import postprocess
from synthscope.segment.preprocess import preprocess
from synthscope.segment.refiner import CONDITIONS, binary_entropy, refine_mask


@dataclasses.dataclass
class Segmentation:
    """What `Segmenter` returns for one image; arrays have the image's spatial shape.

    Attributes
    ----------
    labels : numpy.ndarray
        Instance labels, uint16 (uint32 above 65,535 objects), 0 = background.
    mask : numpy.ndarray
        The semantic mask (uint8, 1 = foreground) after postprocessing.
    probability : numpy.ndarray
        Foreground probability (float32): the mean of the refined draws, or the coarse
        probability when not refined.
    uncertainty : numpy.ndarray
        Binary entropy (bits, float32 in [0, 1]) of `probability`, or of the continuous
        refiner's vote over several draws (`refine_mask`).
    coarse : numpy.ndarray
        The coarse model's foreground probability (float32).
    axes : str
        Spatial axes of the arrays, ``"YX"`` or ``"ZYX"``.
    record : dict
        What made it: model, preprocessing, refinement (or None), postprocessing, seed.
    intermediate : dict or None
        With ``return_intermediate=True``: ``prepared`` (the preprocessed image) and
        ``classes`` (the coarse class probabilities, ``(3, *spatial)``).
    """

    labels: np.ndarray
    mask: np.ndarray
    probability: np.ndarray
    uncertainty: np.ndarray
    coarse: np.ndarray
    axes: str
    record: dict
    intermediate: dict | None = None


class Segmenter:
    """A coarse attention U-Net and an optional diffusion refiner with their settings.

    Parameters
    ----------
    config : SegmenterConfig
    coarse : torch.nn.Module
        The coarse network (`CoarseConfig.build`), trained.
    refiner : Denoiser, optional
        Takes the `CONDITIONS` as condition channels.

    Examples
    --------
    >>> from synthscope.diffusion import build_denoiser
    >>> from synthscope.segment.coarse import CoarseConfig
    >>> config = SegmenterConfig(coarse=CoarseConfig(channels=(8, 8, 8), patch_size=(16, 16)))
    >>> refiner = build_denoiser(channels=(8, 8, 8), patch_size=(16, 16), condition_channels=2)
    >>> segmenter = Segmenter(config, config.coarse.build(rng=0), refiner)
    >>> result = segmenter(np.random.default_rng(0).random((24, 24)), steps=2)
    >>> result.labels.dtype, result.mask.shape, result.axes
    (dtype('uint16'), (24, 24), 'YX')
    """

    def __init__(self, config: SegmenterConfig, coarse: torch.nn.Module, refiner: Denoiser | None = None):
        if refiner is not None:
            dims, channels = refiner.config.spatial_dims, refiner.config.condition_channels
            if dims != config.coarse.spatial_dims or channels != len(CONDITIONS) or refiner.config.in_channels != 1:
                raise InputError(
                    f"refiner: needs a {config.coarse.spatial_dims}D denoiser with one channel and "
                    f"{len(CONDITIONS)} condition channels, got {dims}D with {channels}"
                )
        self.config, self.coarse, self.refiner = config, coarse.eval(), None if refiner is None else refiner.eval()
        self.source = {"path": None, "sha256": None}

    @classmethod
    def load(cls, name_or_path: "str | os.PathLike") -> "Segmenter":
        """Return the segmenter in a model folder, or the bundled model of that name."""
        folder = _resolve(name_or_path)
        try:
            record = json.loads((folder / "config.json").read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise InputError(f"{folder / 'config.json'}: cannot read the model config ({error})") from None
        record.pop("extra", None)
        config = SegmenterConfig.from_dict(record)
        coarse = config.coarse.build(rng=0)
        weights = folder / "coarse.safetensors"
        try:
            missing, unexpected = safetensors.torch.load_model(coarse, str(weights), strict=False)
        except (safetensors.SafetensorError, OSError, RuntimeError) as error:
            raise InputError(f"{weights}: cannot load the coarse weights ({str(error).splitlines()[0]})") from None
        if missing or unexpected:
            raise InputError(f"{weights}: weights do not match config.json")
        refiner = load_denoiser(folder / "refiner") if (folder / "refiner" / "config.json").is_file() else None
        segmenter = cls(config, coarse, refiner)
        segmenter.source = {"path": str(folder), "sha256": _sha256(weights)}
        return segmenter

    def save(self, folder: "str | os.PathLike", *, extra: dict | None = None) -> None:
        """Write the model folder (each file atomically); `extra` is JSON-ready provenance."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(folder / "coarse.safetensors") as tmp:
            safetensors.torch.save_model(self.coarse, str(tmp))
        if self.refiner is not None:
            save_denoiser(self.refiner, folder / "refiner")
        write_text(folder / "config.json", json.dumps({**self.config.to_dict(), "extra": extra or {}}, indent=2) + "\n")

    def __call__(
        self,
        image: np.ndarray,
        *,
        axes: str | None = None,
        refine: bool = True,
        ensemble: int | None = None,
        t_start: int | None = None,
        steps: int | None = None,
        rng: int = 0,
        return_intermediate: bool = False,
        callback: Callable[..., None] | None = None,
    ) -> Segmentation:
        """Segment one image: preprocess, coarse model, refinement, postprocessing, instances.

        Parameters
        ----------
        image : numpy.ndarray
            2D or 3D (the model's dimension), any real dtype; a ``C`` axis (e.g. RGB) is
            averaged into one channel.
        axes : str, optional
            Axes of `image`; by default ``"YX"`` / ``"ZYX"`` by the model, or ``"YXC"``
            for a 2D model given a 3D array with 3 or 4 values last (an RGB picture).
        refine : bool
            Run the diffusion refiner on the coarse mask (the model must have one).
        ensemble, t_start, steps : int, optional
            Draws, strength and network evaluations per draw; the model's
            `Refinement` defaults when omitted.
        rng : int
            Seed of the refinement noise.
        return_intermediate : bool
            Keep the prepared image and the coarse class probabilities.
        callback : callable, optional
            ``callback(done, total, draw=k)`` after each refiner evaluation.

        Returns
        -------
        Segmentation
        """
        image, axes = self._spatial(image, axes)
        settings = self.config.refinement
        changes = {"ensemble": ensemble, "t_start": t_start, "steps": steps}
        settings = dataclasses.replace(settings, **{k: v for k, v in changes.items() if v is not None})
        if refine and self.refiner is None:
            raise InputError(f"model {self.source['path']}: has no refiner; segment with refine=False")
        prepared = preprocess(image, self.config.preprocessing)
        classes = predict_coarse(self.coarse, self.config.coarse, prepared)
        coarse = 1 - classes[CLASSES.index("background")]
        if refine:
            probability, uncertainty = refine_mask(self.refiner, prepared, coarse, settings, rng=rng, callback=callback)
        else:
            probability, uncertainty = coarse, binary_entropy(coarse)
        mask = postprocess(probability > settings.threshold, self.config.postprocessing)
        interior = classes[CLASSES.index("interior")]
        labels = split_instances(mask, interior, min_size=self.config.postprocessing.min_size)
        record = {
            "model": self.source,
            "refiner": getattr(self.refiner, "source", None) if refine else None,
            "axes": axes,
            "preprocessing": self.config.preprocessing.to_dict(),
            "refinement": settings.to_dict() if refine else None,
            "postprocessing": self.config.postprocessing.to_dict(),
            "rng": int(rng),
        }
        return Segmentation(
            labels=labels,
            mask=mask.astype(np.uint8),
            probability=probability,
            uncertainty=uncertainty,
            coarse=coarse,
            axes=self.config.axes,
            record=record,
            intermediate={"prepared": prepared, "classes": classes} if return_intermediate else None,
        )

    def _spatial(self, image, axes):
        """Return `image` with only the model's spatial axes (channels averaged), and the axes it had."""
        image = np.asarray(image)
        if not np.issubdtype(image.dtype, np.number) or np.iscomplexobj(image):
            raise InputError(f"image: expected real numbers, got dtype {image.dtype}")
        wanted = self.config.axes
        if axes is None:
            rgb = wanted == "YX" and image.ndim == 3 and image.shape[-1] in (3, 4)
            axes = "YXC" if rgb else wanted
        check_axes(axes, image.ndim, name="image")
        if spatial_axes(axes) != wanted or set(axes) - set(wanted + "C"):
            raise InputError(f"image: axes {axes!r} do not fit a {len(wanted)}D model (axes {wanted!r}, plus C)")
        if "C" in axes:
            image = image.astype(np.float32).mean(axis=axes.index("C"))
        if min(image.shape) < 2 or not np.isfinite(image).all():
            raise InputError(f"image: shape {image.shape} is too small or has values that are not finite")
        return image, axes


def _resolve(name_or_path):
    from synthscope.models import bundled_model_path

    path = Path(name_or_path)
    if (path / "config.json").is_file() and (path / "coarse.safetensors").is_file():
        return path
    bundled = bundled_model_path(str(name_or_path))
    if bundled is not None and (Path(str(bundled)) / "coarse.safetensors").is_file():
        return Path(str(bundled))
    raise InputError(
        f"{name_or_path}: no segmentation model folder (config.json + coarse.safetensors) "
        "and no bundled segmentation model of that name"
    )
