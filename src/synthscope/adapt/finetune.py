"""Fine-tuning a bundled denoiser on a user's images, within a time budget."""

import copy
import dataclasses
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from synthscope.errors import InputError
from synthscope.io import write_text

# The budget sets how many steps run, at most the 1000 that benchmarks/specimens.py measured.
FEWEST_STEPS, MOST_STEPS = 100, 1000
LEARNING_RATE = 2e-4  # below the 5e-4 of training from scratch: the start is already a nuclei model
PROBE_STEPS = 4


def finetune(
    images: Sequence[np.ndarray],
    out: str | Path,
    *,
    masks: Sequence[np.ndarray] | None = None,
    base: str = "nuclei-fluo-2d",
    seconds: float | None = None,
    steps: int | None = None,
    normalisation: dict | None = None,
    rng: int = 0,
    callback: Callable[..., None] | None = None,
) -> dict:
    """Train the bundled model `base` further on `images` and save it in `out`.

    The number of steps is `steps`, or as many as fit in `seconds` at the speed of a
    short probe (between `FEWEST_STEPS` and `MOST_STEPS`); it is recorded in
    ``out/finetune.json`` first, so that a run resumed after an interruption trains the
    same steps and ends with the same weights.

    Parameters
    ----------
    images : sequence of ndarray
        2D images in [0, 1], at least the model's patch size.
    masks : sequence of ndarray, optional
        The objects' foreground (or instance labels) of each image: the condition of a
        mask-conditioned `base`, which needs them; an unconditional `base` takes none.
    out : str or Path
        The model folder (checkpointed as training goes; resumed if it holds a run).
    base : str, optional
        A bundled 2D model (or a model folder) to start from, unconditional or conditioned
        on the nuclei mask.
    seconds, steps : optional
        The time budget of the training, or a fixed step count (one of them).
    normalisation : dict, optional
        How `images` were mapped to [0, 1], recorded in the model config.
    rng : int
    callback : callable, optional
        ``callback(done, total, loss=...)`` after each step.

    Returns
    -------
    dict
        ``steps``, ``seconds``, ``cpu_seconds``, ``first_loss``, ``final_loss``, ``base``.
    """
    from synthscope.diffusion import PatchSampler, load_denoiser, train_denoiser

    out = Path(out)
    model = load_denoiser(base)
    config = dataclasses.replace(model.config, normalisation=normalisation or {"method": "as given, in [0, 1]"})
    model.config = config
    if (masks is not None) != (config.condition_channels == 1) or config.condition_channels > 1:
        wants = "a nuclei mask per image" if config.condition_channels == 1 else "no masks"
        raise InputError(f"base model {base}: takes {config.condition_channels} condition channels, so {wants}")
    conditions = None if masks is None else [(np.asarray(mask) > 0).astype(np.float32) for mask in masks]
    patches = PatchSampler(list(images), patch_size=config.patch_size, conditions=conditions)
    plan_file = out / "finetune.json"
    if plan_file.is_file():
        steps = json.loads(plan_file.read_text())["steps"]
    elif steps is None:
        steps = _steps_within(model, patches, seconds)
    out.mkdir(parents=True, exist_ok=True)
    write_text(plan_file, json.dumps({"base": str(base), "steps": steps, "lr": LEARNING_RATE, "seed": rng}) + "\n")
    began = time.process_time()
    stats = train_denoiser(
        model,
        patches,
        steps=steps,
        lr=LEARNING_RATE,
        checkpoint_dir=out,
        checkpoint_every=max(steps // 4, 1),
        resume=(out / "training.json").is_file(),
        rng=rng,
        callback=callback,
    )
    return {**stats, "cpu_seconds": time.process_time() - began, "base": str(base)}


def _steps_within(model, patches, seconds):
    """As many steps as `seconds` allow, at the speed of a few probe steps on a copy of `model`."""
    from synthscope.diffusion import train_denoiser

    if seconds is None:
        return MOST_STEPS
    probe = train_denoiser(copy.deepcopy(model), patches, steps=PROBE_STEPS, rng=0)
    per_step = probe["seconds"] / PROBE_STEPS
    return int(np.clip(seconds / per_step, FEWEST_STEPS, MOST_STEPS))
