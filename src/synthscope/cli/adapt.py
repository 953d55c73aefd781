"""``synthscope adapt``: a preset and a fine-tuned model for the user's own specimen."""

from pathlib import Path

import typer

from synthscope.cli._app import AXES, app, console, one_line_warnings, parse_percentiles, progress_bar


@app.command()
def adapt(
    images: Path = typer.Argument(..., help="An image file (YX, or TYX frames) or a folder of 2D images."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder to write: preset.yaml, model/, report.md, report.png."),
    labels: Path = typer.Option(
        None,
        "--labels",
        help="Instance labels: one file matching an IMAGES file, or a folder with NAME or NAME_masks per image.",
    ),
    minutes: float = typer.Option(20.0, "--minutes", min=1, help="Time budget of the whole run."),
    steps: int = typer.Option(None, "--steps", min=1, help="Fixed fine-tuning steps instead of the budget's."),
    percentiles: str = typer.Option("1,99.8", "--percentiles", help="LOW,HIGH: each image's percentiles -> [0, 1]."),
    base: str = typer.Option(
        None,
        "--base-model",
        help="2D model to fine-tune, unconditional or mask-conditioned [default: nuclei-fluo-2d-masked].",
    ),
    seed: int = typer.Option(0, "--seed", min=0),
    axes: str = AXES,
):
    """Fit a nuclei preset and fine-tune the 2D model to your images; then `generate OUT/preset.yaml`."""
    from synthscope.adapt import BASE
    from synthscope.adapt import adapt as adapt_specimen
    from synthscope.errors import InputError
    from synthscope.intensity import percentile_normalize
    from synthscope.io import read_images
    from synthscope.phantoms import FitWarning

    low, high = parse_percentiles(percentiles)
    named = _frames(read_images(images, axes=axes), images)
    pictures = [percentile_normalize(data, low, high) for _, data, _ in named]
    annotation = None
    if labels is not None:
        given = _frames(read_images(labels, axes=axes), labels)
        if labels.is_file():  # one file of labels for one file of images: frame by frame
            if len(given) != len(named):
                raise InputError(f"--labels {labels}: {len(given)} label image(s) for {len(named)} image(s)")
            by_name = {name: data for (name, _, _), (_, data, _) in zip(named, given)}
        else:
            by_name = {name.removesuffix("_masks"): data for name, data, _ in given}
        missing = [name for name, _, _ in named if name not in by_name]
        if missing:
            raise InputError(f"--labels {labels}: no labels for {', '.join(missing[:3])}")
        annotation = [by_name[name] for name, _, _ in named]
    with (
        one_line_warnings(FitWarning),  # statistics the images cannot give, after the bar
        progress_bar("adapt") as callback,  # the stage (fit, training, report) and the loss beside the bar
    ):
        preset = adapt_specimen(
            pictures,
            out,
            labels=annotation,
            spacing=named[0][2],
            minutes=minutes,
            steps=steps,
            normalisation={"method": "percentile", "low": low, "high": high, "of": "each image"},
            base=base or BASE,
            rng=seed,
            callback=callback,
        )
    console.print(
        f"wrote {out}: preset.yaml, model/, report.md, report.png\nnext: synthscope generate {preset} -n 32 -o DATA"
    )


def _frames(pairs, source):
    """``(name, 2D array, spacing)`` for each image; a TYX file gives one per frame (``NAME_t003``)."""
    from synthscope.errors import InputError

    frames = []
    for name, image in pairs:
        if image.axes not in ("YX", "TYX"):
            raise InputError(f"{source}: {name} has axes {image.axes!r}; adapt takes 2D images (YX) or frames (TYX)")
        spacing = [image.spacing[a] for a in "YX"] if {"Y", "X"} <= set(image.spacing) else None
        if image.axes == "YX":
            frames.append((name, image.data, spacing))
        else:
            frames += [(f"{name}_t{t:03d}", frame, spacing) for t, frame in enumerate(image.data)]
    return frames
