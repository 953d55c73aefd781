"""``synthscope segment`` and ``synthscope train-segmenter``: segmentation with diffusion refinement.

The training file has these sections; paths are relative to the file::

    data:                    # images/ + masks/ (or labels/), NAME + NAME_masks, or a synthscope data set
      path: my-annotated/
    coarse:                  # CoarseConfig: spatial_dims, channels, patch_size
      channels: [16, 32, 64, 128]
    refiner:                 # DenoiserConfig keys of the refiner's network
      channels: [16, 32, 64]
    training:                # Training: coarse_steps, refiner_steps, batch_size, coarse_lr, refiner_lr,
      coarse_steps: 2000     # coarse_masks (model | degrade), degraded_copies; and seed
    preprocessing: {percentiles: [1, 99.8], denoise: null, clahe: null}
    postprocessing: {opening: 0, closing: 0, smooth: 0, fill_holes: 64, min_size: 16}
    refinement: {formulation: discrete, steps: 3, ensemble: 1, reach: 8}   # the model's defaults
                             # (discrete: pixels flipped back from the coarse mask; continuous: SDEdit)
    out: runs/my-segmenter   # the model folder
"""

from pathlib import Path

import typer

from synthscope.cli._app import AXES, app, console, progress_bar, read_yaml_file

# Sections of the training file that are `SegmenterConfig` parts; the others are data, refiner, training, out.
MODEL_SECTIONS = ("coarse", "preprocessing", "postprocessing", "refinement")
SECTIONS = {*MODEL_SECTIONS, "data", "refiner", "training", "out"}


@app.command()
def segment(
    images: list[Path] = typer.Argument(..., help="Image files or folders (TIFF, PNG, JPEG, BMP, NIfTI, DICOM, ...)."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for labels, masks, uncertainty and pictures."),
    model: str = typer.Option("nuclei-seg-2d", "--model", help="A bundled model name or a model folder."),
    ensemble: int = typer.Option(None, "--ensemble", min=1, help="Refinement draws (mean mask + uncertainty)."),
    no_refine: bool = typer.Option(False, "--no-refine", help="The coarse model only, no diffusion refinement."),
    t_start: int = typer.Option(
        None, "--t-start", help="Strength in (0, 1000]: noise level (continuous) or coarse-mask level (discrete)."
    ),
    steps: int = typer.Option(None, "--steps", min=1, help="Refiner evaluations per draw."),
    image_format: str = typer.Option("ome-tiff", "--format", help="ome-tiff, ome-zarr or nifti."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the refinement noise."),
    axes: str = AXES,
):
    """Segment images: coarse attention U-Net, diffusion refinement, instances; resumable."""
    from synthscope.segment import Segmenter
    from synthscope.segment.inputs import read_inputs
    from synthscope.segment.output import segmentation_files, write_segmentation

    segmentation_files(out, "check", format=image_format)
    pictures = read_inputs(images, axes=axes)
    segmenter = Segmenter.load(model)
    todo = [(n, p) for n, p in pictures if not segmentation_files(out, n, format=image_format)["record"].is_file()]
    if len(todo) < len(pictures):
        console.print(f"{len(pictures) - len(todo)} of {len(pictures)} images done already; skipped")
    with progress_bar("segmenting") as callback:
        for index, (name, picture) in enumerate(todo):
            result = segmenter(
                picture.data,
                axes=picture.axes,
                refine=not no_refine,
                ensemble=ensemble,
                t_start=t_start,
                steps=steps,
                rng=seed,
            )
            write_segmentation(out, name, result, image=picture.data, spacing=picture.spacing, format=image_format)
            callback(index + 1, len(todo), objects=int(result.labels.max()))
    console.print(f"wrote {len(todo)} segmentations to {out}")


@app.command("train-segmenter")
def train_segmenter(
    config: Path = typer.Argument(..., help="Training YAML (data, coarse, refiner, training, ..., out)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run checkpointed in OUT."),
):
    """Train a segmentation model (coarse attention U-Net + diffusion refiner) on annotated images."""
    import dataclasses

    from synthscope.diffusion import DenoiserConfig
    from synthscope.errors import InputError
    from synthscope.io import read_annotated
    from synthscope.segment import SegmenterConfig, Training
    from synthscope.segment import train_segmenter as train
    from synthscope.segment.train import REFINER

    spec = _read(config)
    model_config = SegmenterConfig.from_dict({k: spec[k] for k in MODEL_SECTIONS if spec.get(k)})
    refiner = DenoiserConfig.from_dict({**REFINER.to_dict(), **(spec.get("refiner") or {})})
    training = dict(spec.get("training") or {})
    seed = training.pop("seed", 0)
    unknown = sorted(set(training) - {f.name for f in dataclasses.fields(Training)})
    if unknown:
        raise InputError(f"{config}: unknown keys in training: {unknown}")
    training = Training(**training)
    if set(spec["data"]) != {"path"}:
        raise InputError(f"{config}: data takes only path, got {sorted(spec['data'])}")
    pairs = read_annotated(config.parent / spec["data"]["path"])
    images = [image.data for _, image, _ in pairs]
    labels = [label for _, _, label in pairs]
    out = config.parent / spec["out"]
    with progress_bar("training") as callback:
        train(
            images,
            labels,
            out,
            config=model_config,
            refiner=refiner,
            training=training,
            resume=resume,
            rng=seed,
            callback=callback,
        )
    console.print(f"wrote {out}")


def _read(path):
    from synthscope.errors import InputError

    spec = read_yaml_file(path, what="training file")
    if "out" not in spec or "path" not in (spec.get("data") or {}):
        raise InputError(f"{path}: needs data.path and out")
    unknown = sorted(set(spec) - SECTIONS)
    if unknown:
        raise InputError(f"{path}: unknown sections {unknown}; expected {sorted(SECTIONS)}")
    return spec
