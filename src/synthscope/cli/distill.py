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
    channels: str = typer.Option(
        None, "--channels", help="Student widths per level, e.g. 16,32,32; default the teacher's (a copy of it)."
    ),
    attention: str = typer.Option(
        None, "--attention", help="Self-attention per level as 0/1, e.g. 0,0,0; default the teacher's."
    ),
    lr: float = typer.Option(1e-4, "--lr", min=0, help="Student learning rate (1e-3 suits a new, narrower one)."),
    seed: int = typer.Option(0, "--seed", min=0),
    set_: list[str] = typer.Option(None, "--set", help="Override a preset key (repeatable)."),
):
    """Distil a preset's model into a few-step student; then `generate OUT/preset.yaml`."""
    from synthscope.refine.distill import distill_preset

    widths = None if channels is None else _integers("--channels", channels)
    levels = None if attention is None else tuple(bool(a) for a in _integers("--attention", attention))
    with progress_bar("distill") as callback:
        path = distill_preset(
            preset,
            out,
            settings=parse_settings(set_),
            items=items,
            steps=steps,
            channels=widths,
            attention_levels=levels,
            pairs=pairs,
            train_steps=train_steps,
            lr=lr,
            rng=seed,
            callback=callback,
        )
    console.print(f"wrote {path}; make data with: synthscope generate {path} -n N -o DIR")


def _integers(option, text):
    """``"16,32,32"`` -> ``(16, 32, 32)``, or one InputError line."""
    from synthscope.errors import InputError

    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise InputError(f"{option}: expected comma-separated integers like 16,32,32, got {text!r}") from None
