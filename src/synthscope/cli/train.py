"""``synthscope train``: train a denoiser from a YAML file.

The file has four sections; paths are relative to the file::

    model:      # DenoiserConfig keys
      spatial_dims: 2
      channels: [32, 64, 64]
      patch_size: [64, 64]
    data:
      path: images/          # a folder of TIFFs, a synthscope data set, or one image (TIFF, OME-Zarr, HDF5, ...)
      pattern: "*.tif*"      # folder only
      percentiles: [1, 99.8] # map each image to [0, 1]; omit for images already in [0, 1]
      condition: null        # data set only: sketch or mask, for a conditional model
    training:   # train_denoiser keywords: steps, batch_size, lr, ema_decay, bf16, checkpoint_every; seed (its rng)
      steps: 4000
    out: runs/my-model       # the model folder, checkpointed as training goes
"""

from pathlib import Path

import typer

from synthscope.cli._app import AXES, app, console, progress_bar, read_yaml_file

SECTIONS = {"model", "data", "training", "out"}
DATA_KEYS = {"path", "pattern", "percentiles", "condition", "channels", "jitter", "augment"}
TRAINING_KEYS = {"steps", "batch_size", "lr", "ema_decay", "bf16", "checkpoint_every", "seed"}


@app.command()
def train(
    config: Path = typer.Argument(..., help="Training YAML (model, data, training, out)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run checkpointed in OUT."),
    axes: str = AXES,
):
    """Train a 2D or 3D denoiser on random patches (bfloat16, EMA, checkpoints, sample grids)."""
    from synthscope.diffusion import DenoiserConfig, build_denoiser, train_denoiser
    from synthscope.errors import InputError

    spec = _read(config)
    out = config.parent / spec["out"]
    if resume != (out / "training.json").is_file():
        raise InputError(f"{out}: no checkpoint to resume" if resume else f"{out}: holds a checkpoint; pass --resume")
    model_config = DenoiserConfig.from_dict(spec.get("model") or {})
    patches = _patches(config.parent, spec.get("data") or {}, model_config, axes=axes)
    model = build_denoiser(model_config, condition_channels=patches.condition_channels)
    # The file says seed, train_denoiser rng.
    training = {("rng" if key == "seed" else key): value for key, value in spec["training"].items()}
    with progress_bar("training") as callback:
        stats = train_denoiser(model, patches, checkpoint_dir=out, resume=resume, callback=callback, **training)
    minutes = stats["seconds"] / 60
    console.print(f"wrote {out}: loss {stats['final_loss']:.4g} after {stats['steps']} steps, {minutes:.1f} min")


def _read(path):
    from synthscope.errors import InputError

    spec = read_yaml_file(path, what="training file")
    if "out" not in spec or "training" not in spec or "data" not in spec:
        raise InputError(f"{path}: needs the sections data, training and out (and optionally model)")
    sections = (
        (path, spec, SECTIONS),
        ("data", spec["data"] or {}, DATA_KEYS),
        ("training", spec["training"] or {}, TRAINING_KEYS),
    )
    for where, keys, allowed in sections:
        unknown = sorted(set(keys) - allowed)
        if unknown:
            raise InputError(f"{path}: unknown keys in {where}: {unknown}")
    if "steps" not in (spec["training"] or {}):
        raise InputError(f"{path}: training.steps is required")
    return spec


def _patches(root, data, config, *, axes):
    from synthscope.diffusion import PatchSampler
    from synthscope.errors import InputError
    from synthscope.io import read_image

    if "path" not in data:
        raise InputError("data.path is required")
    path, options = root / data["path"], {k: v for k, v in data.items() if k not in ("path", "pattern", "condition")}
    options.setdefault("channels", config.in_channels)
    if not path.exists():
        raise InputError(f"data.path {path}: no such file or folder")
    if (path / "dataset.json").is_file():
        return PatchSampler.from_dataset(path, patch_size=config.patch_size, condition=data.get("condition"), **options)
    if data.get("condition") is not None:
        raise InputError("data.condition needs a synthscope data set as data.path")
    if path.is_dir() and path.suffix != ".zarr":  # an OME-Zarr image is a folder too
        return PatchSampler.from_folder(
            path, patch_size=config.patch_size, pattern=data.get("pattern", "*.tif*"), axes=axes, **options
        )
    return PatchSampler([read_image(path, axes=axes).data], patch_size=config.patch_size, **options)
