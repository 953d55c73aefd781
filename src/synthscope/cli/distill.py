"""``synthscope distill``: a preset whose refinement takes one network evaluation."""

from pathlib import Path

import typer

from synthscope.cli._app import app, console, parse_settings, progress_bar


@app.command()
def distill(
    preset: str = typer.Argument(..., help="Preset name or a preset YAML file whose refine.model is set."),
    out: Path = typer.Option(..., "--out", "-o", help="New folder to write: preset.yaml and model/."),
    steps: int = typer.Option(1, "--steps", min=1, max=3, help="Network evaluations of the student per stage."),
    items: int = typer.Option(48, "--items", min=1, help="Sketches of the preset to train on."),
    pairs: int = typer.Option(1024, "--pairs", min=1, help="Patches the teacher refines for training."),
    train_steps: int = typer.Option(400, "--train-steps", min=1, help="Student optimisation steps."),
    seed: int = typer.Option(0, "--seed", min=0),
    set_: list[str] = typer.Option(None, "--set", help="Override a preset key (repeatable)."),
):
    """Distil a preset's model into a few-step student; then `generate OUT/preset.yaml`."""
    from synthscope.refine.distill import distill_preset

    with progress_bar("distill") as callback:
        path = distill_preset(
            preset,
            out,
            settings=parse_settings(set_),
            items=items,
            steps=steps,
            pairs=pairs,
            train_steps=train_steps,
            rng=seed,
            callback=callback,
        )
    console.print(f"wrote {path}; make data with: synthscope generate {path} -n N -o DIR")
