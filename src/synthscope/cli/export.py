"""``synthscope export``: a data set into the layout a segmentation tool trains on."""

from pathlib import Path

import typer

from synthscope.cli._app import app, console

FORMATS = ("cellpose", "stardist", "ctc", "celldiffusion")


@app.command()
def export(
    dataset: Path = typer.Argument(..., help="A data set folder written by `synthscope generate`."),
    out: Path = typer.Argument(..., help="A new or empty folder for the exported files."),
    to: str = typer.Option(..., "--to", help=f"Target layout: {', '.join(FORMATS)}."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the train/val/test split (celldiffusion)."),
):
    """Export DATASET to Cellpose, StarDist, Cell Tracking Challenge or CellDiffusion files in OUT."""
    from synthscope.errors import InputError
    from synthscope.io.export import EXPORTERS

    if to not in EXPORTERS:
        raise InputError(f"--to {to!r}: choose one of {', '.join(FORMATS)}")
    options = {"rng": seed} if to == "celldiffusion" else {}
    EXPORTERS[to](dataset, out, **options)
    console.print(f"exported {dataset} to {to} in {out}")
