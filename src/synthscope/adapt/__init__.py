"""Synthetic data for a user's own specimen: a fitted preset and a fine-tuned model in one folder.

`adapt` takes a user's images (and, if they have them, instance labels) and writes

- ``DIR/model/``: the bundled mask-conditioned 2D denoiser (`BASE`) fine-tuned on the
  images with the masks of their labels, or, without labels, of the nuclei found by a
  classical segmentation (`label_nuclei`); with its config, weights and ``card.md``;
- ``DIR/preset.yaml``: a nuclei preset fitted to the same labels or found nuclei
  (`synthscope.phantoms.fit`), refined by that model on each sketch's mask with the
  background held;
- ``DIR/report.md`` and ``DIR/report.png``: the fitted values, and sketches and refined
  items of the preset beside the user's images.

``synthscope generate DIR/preset.yaml -n N -o OUT`` then makes the data set. The choices
inside (what is fitted, how long to fine-tune, how the preset refines) are those the
multi-specimen benchmark (``benchmarks/specimens.py``) scored best; see
docs/benchmarks.md.
"""

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import yaml

from synthscope.adapt.finetune import LEARNING_RATE, finetune
from synthscope.adapt.pseudo_labels import label_nuclei
from synthscope.adapt.report import loss_text, write_report
from synthscope.errors import InputError
from synthscope.io import write_text

__all__ = ["adapt", "label_nuclei", "finetune", "BASE", "LABELLED_OUT_OF_PLANE_BRIGHTNESS", "REFINE"]

#: The bundled model that adapt fine-tunes unless told otherwise: conditioned on the nuclei
#: mask, so that refinement keeps every labelled nucleus, dim ones too. On the three
#: specimens of benchmarks/specimens.py it gave AP@0.5 of 85 / 91 / 87 % of real with labels
#: and 100 / 89 / 92 % from images only, against 79 / 86 / 93 % and 78 / 77 / 94 % for the
#: plain `nuclei-fluo-2d` (docs/benchmarks.md).
BASE = "nuclei-fluo-2d-masked"

#: How an adapted preset refines: its own model (``condition`` set by the base model), SDEdit
#: from t=200, the empty background held. With the plain model, t=200 gave a mean AP@0.5 of
#: 86 % of real with labels against 77 % at t=400 (docs/benchmarks.md).
REFINE = {"model": "model", "condition": None, "sampler": "dpm", "steps": 10, "t_start": 200, "hold": "background"}
#: How bright an adapted preset draws the out-of-plane nuclei it fits to unlabelled objects of
#: the given labels (a fraction of the in-plane nuclei's brightness): almost dark. Drawn as
#: bright as the fit measures them (unlabelled nuclei the annotation left out, or missed),
#: they teach a segmenter to leave dim labelled nuclei alone: AP@0.5 of 85 and 87 % of real
#: on cells3d and CHO, against 94 and 93 % drawn almost dark (docs/benchmarks.md). Their
#: places stay, so the layout the fit measured is kept.
LABELLED_OUT_OF_PLANE_BRIGHTNESS = [0.001, 0.002]
#: The largest image side of an adapted preset; larger images are drawn at this size.
LARGEST_SIDE = 256
#: Share of the time budget left to the fit and the report when the model trains.
FIT_SHARE = 0.25


def adapt(
    images: Sequence[np.ndarray],
    out: str | Path,
    *,
    labels: Sequence[np.ndarray] | None = None,
    spacing: Sequence[float] | None = None,
    minutes: float = 20.0,
    steps: int | None = None,
    normalisation: dict | None = None,
    base: str | Path = BASE,
    rng: int = 0,
    callback: Callable[..., None] | None = None,
) -> Path:
    """Fit a preset and fine-tune a model to a specimen; return the path of ``out/preset.yaml``.

    Parameters
    ----------
    images : sequence of ndarray
        2D single-channel images in [0, 1], each at least 64 pixels on a side.
    out : str or Path
        The folder written (see the module notes); an interrupted run resumes the training.
    labels : sequence of ndarray, optional
        Instance labels of `images` (0 = background). Without them the nuclei are found
        by `label_nuclei`.
    spacing : (float, float), optional
        Pixel size in micrometres, recorded in the preset.
    minutes : float, optional
        The time budget of the whole run (fit, training, report); the training takes
        what the fit leaves. Ignored for the training when `steps` is given.
    steps : int, optional
        A fixed number of fine-tuning steps (reproducible across machines).
    normalisation : dict, optional
        How the images were mapped to [0, 1], recorded in the model config.
    base : str or Path, optional
        The 2D model fine-tuned: a bundled name or a model folder, unconditional or
        conditioned on the nuclei mask (then fine-tuned on the labels' or the found
        nuclei's mask, and the preset refines with ``refine.condition: mask``).
    rng : int, optional
        Seed of the fit's calibration, the training and the report's items.
    callback : callable, optional
        ``callback(done, total, stage=..., **fields)`` as the stages go.

    Returns
    -------
    Path
        ``out/preset.yaml``.

    Raises
    ------
    InputError
        Before any work, for images that are not 2D in [0, 1], labels that do not match
        them, or an `out` folder that holds something else.
    """
    from synthscope.phantoms.fit_report import fit_report

    began, cpu_began = time.perf_counter(), time.process_time()
    images = _check(images, labels, out)
    condition = _condition_of(base)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _progress(callback, 0, 3, stage="fitting the preset")
    examples = list(labels) if labels is not None else [label_nuclei(image) for image in images]
    preset, report = fit_report(images, examples, spacing=spacing, check_count=4, rng=rng)
    preset["shape"] = [min(int(s), LARGEST_SIDE) for s in preset["shape"]]
    if labels is not None:
        preset["nuclei"]["out_of_plane_brightness"] = list(LABELLED_OUT_OF_PLANE_BRIGHTNESS)
    preset["refine"] = dict(REFINE, condition=condition)
    preset["description"] = (
        f"Adapted by synthscope adapt to {len(images)} image(s) "
        f"({'labelled' if labels is not None else 'nuclei found without labels'}); refined by model/."
    )
    fitted_seconds = time.perf_counter() - began
    budget = max(minutes * 60 * (1 - FIT_SHARE) - fitted_seconds, 0)
    _progress(callback, 1, 3, stage="fine-tuning the model")
    training = finetune(
        images,
        out / "model",
        masks=examples if condition else None,
        base=base,
        seconds=budget,
        steps=steps,
        normalisation=normalisation,
        rng=rng,
        callback=None if callback is None else lambda done, total, **f: callback(done, total, stage="training", **f),
    )
    preset_path = out / "preset.yaml"
    write_text(preset_path, yaml.safe_dump(preset, sort_keys=False))
    _progress(callback, 2, 3, stage="writing the report")
    record = {
        "images": len(images),
        "labels": "given" if labels is not None else "found by label_nuclei",
        "objects": report["objects"],
        "training": training,
        "seconds": time.perf_counter() - began,
        "cpu_seconds": time.process_time() - cpu_began,
        "fit": report,
    }
    write_report(out, images, examples, preset_path, record, rng=rng)
    _write_card(out / "model", record, normalisation)
    record["seconds"], record["cpu_seconds"] = time.perf_counter() - began, time.process_time() - cpu_began
    write_text(out / "adapt.json", json.dumps(record, indent=2, default=float) + "\n")
    _progress(callback, 3, 3, stage="done")
    return preset_path


def _condition_of(base):
    """The ``refine.condition`` of a model fine-tuned from `base`: None or ``"mask"``."""
    from synthscope.diffusion import load_denoiser

    channels = load_denoiser(base).config.condition_channels
    if channels > 1:
        raise InputError(f"base model {base}: {channels} condition channels; adapt conditions on the mask only")
    return "mask" if channels else None


def _check(images, labels, out):
    images = [np.asarray(image) for image in images]
    if not images:
        raise InputError("adapt: no images")
    for i, image in enumerate(images):
        if image.ndim != 2:
            raise InputError(f"image {i}: shape {image.shape}; adapt takes 2D single-channel images")
        if min(image.shape) < 64:
            raise InputError(f"image {i}: shape {image.shape}; adapt needs images of at least 64x64 pixels")
        if not np.issubdtype(image.dtype, np.floating) or image.min() < 0 or image.max() > 1:
            raise InputError(f"image {i}: intensities must be float in [0, 1] (map them by percentiles first)")
    if labels is not None:
        if len(labels) != len(images):
            raise InputError(f"labels: {len(labels)} label images for {len(images)} images")
        for i, (image, label) in enumerate(zip(images, labels)):
            if np.shape(label) != image.shape or not np.issubdtype(np.asarray(label).dtype, np.integer):
                raise InputError(f"labels {i}: need integer labels of shape {image.shape}")
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not (out / "model" / "finetune.json").is_file():
        raise InputError(f"{out}: the folder holds other files; adapt writes into an empty or its own folder")
    return [image.astype(np.float32) for image in images]


def _write_card(folder, record, normalisation):
    training = record["training"]
    lines = [
        "# Adapted model",
        "",
        f"- Made by `synthscope adapt` from `{training['base']}`, fine-tuned for {training['steps']} "
        f"steps at learning rate {LEARNING_RATE:g} on {record['images']} image(s) of the user's specimen.",
        f"- Intensities: {json.dumps(normalisation or {'method': 'as given, in [0, 1]'})}.",
        f"- Training: {training['seconds'] / 60:.1f} minutes ({training['cpu_seconds'] / 60:.1f} CPU minutes); "
        f"loss {loss_text(training['first_loss'])} -> {loss_text(training['final_loss'])}.",
        "- Not scored here: how much its data helps a segmenter on this specimen is what "
        "`benchmarks/specimens.py` measures for the specimens it knows.",
        "",
    ]
    write_text(folder / "card.md", "\n".join(lines))


def _progress(callback, done, total, **fields):
    if callback is not None:
        callback(done, total, **fields)
