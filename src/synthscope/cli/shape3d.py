"""``synthscope shape3d`` (2D image + instance mask -> 3D shapes) and ``synthscope train-shape3d``."""

from pathlib import Path

import typer

from synthscope.cli._app import AXES, app, console, progress_bar


@app.command("shape3d")
def shape3d(
    image: Path = typer.Argument(..., help="2D image (TIFF, PNG, OME-Zarr, ...)."),
    mask: Path = typer.Argument(..., help="2D instance labels of the image (0 = background)."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the 3D labels, uncertainty, features and picture."),
    ensemble: int = typer.Option(5, "--ensemble", min=1, max=64, help="Shapes drawn per object (mean + variance)."),
    model: str = typer.Option("shape3d-nuclei", "--model", help="A bundled shape model name or a model folder."),
    steps: int = typer.Option(20, "--steps", min=1, help="Network evaluations per shape (DPM-Solver++)."),
    z_spacing: float = typer.Option(
        None, "--z-spacing", min=0, help="Plane spacing of the output (um); default the pixel size."
    ),
    diameter: float = typer.Option(
        None,
        "--diameter",
        min=0,
        help="Equivalent diameter (pixels) of a whole object, to complete those cut by the edge;"
        " default: the median of the objects away from the edge.",
    ),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the sampling noise."),
    axes: str = AXES,
):
    """Predict the 3D shape of every object of a 2D image: labels, uncertainty, features (CSV), picture."""
    from synthscope.errors import InputError
    from synthscope.io import read_image
    from synthscope.shape3d import predict
    from synthscope.shape3d.model import load_shape_model
    from synthscope.shape3d.output import write_prediction

    picture, labels = read_image(image, axes=axes), read_image(mask, axes=axes)
    if picture.axes != "YX" or labels.axes != "YX":
        raise InputError(f"{image}, {mask}: expected 2D images (axes YX), got {picture.axes} and {labels.axes}")
    pixel = picture.spacing.get("X", 1.0)
    if picture.spacing.get("Y", pixel) != pixel:
        raise InputError(f"{image}: pixels must be square, got spacing {picture.spacing}")
    network = load_shape_model(model)
    with progress_bar("predicting shapes") as callback:
        result = predict(
            picture.data,
            labels.data,
            model=network,
            ensemble=ensemble,
            steps=steps,
            spacing=(z_spacing or pixel, pixel, pixel),
            diameter=diameter,
            rng=seed,
            callback=callback,
        )
    write_prediction(out, result, image=picture.data)
    console.print(f"wrote the 3D shapes of {len(result.features)} objects to {out}")


@app.command("train-shape3d")
def train_shape3d(
    config: Path = typer.Argument(..., help="Training YAML (the keys of synthscope.shape3d.ShapeTraining)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run checkpointed in OUT."),
):
    """Train a 2D -> 3D shape model on phantom cells (nuclei or rbc), checkpointed as it goes."""
    from synthscope.shape3d import ShapeTraining
    from synthscope.shape3d import train_shape3d as train

    settings = ShapeTraining.from_yaml(config)
    with progress_bar("training") as callback:
        _, stats = train(settings, resume=resume, callback=callback)
    console.print(f"trained {stats['steps']} steps; final loss {stats['final_loss']:.4f}; model in {settings.out}")
