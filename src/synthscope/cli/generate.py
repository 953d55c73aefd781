"""``synthscope generate`` and ``synthscope sketch``: write an annotated data set."""

from pathlib import Path

import typer

from synthscope.cli._app import app, console, output, parse_settings, print_warning, progress_bar

PRESET = typer.Argument(..., help="Preset name (synthscope sketch --list) or a preset YAML file.")
COUNT = typer.Option(8, "--count", "-n", min=1, help="Number of items.")
OUT = typer.Option(..., "--out", "-o", help="Data set folder (created, or resumed if it holds the same job).")
SEED = typer.Option(0, "--seed", min=0, help="Base seed; item i uses a seed derived from (seed, i).")


@app.command()
def generate(
    preset: str = PRESET,
    count: int = COUNT,
    out: Path = OUT,
    seed: int = SEED,
    set_: list[str] = typer.Option(
        None, "--set", help="Override a preset key, e.g. --set nuclei.count=30 (repeatable)."
    ),
    model: str = typer.Option(None, "--model", help="Refinement model: a bundled name or a model folder."),
    sampler: str = typer.Option(None, "--sampler", help="dpm, ddim or ddpm."),
    steps: int = typer.Option(None, "--steps", min=1, help="Network evaluations per item."),
    t_start: int = typer.Option(None, "--t-start", min=1, help="Diffusion time the sketch is noised to (of 1000)."),
    stages: str = typer.Option(
        None, "--stages", help="Region-held stages, e.g. 650:axoneme,350:axoneme_minus_tubules,250:"
    ),
    workers: int = typer.Option(
        None, "--workers", min=1, help="Make the items on a local Dask cluster of N processes (needs the dask extra)."
    ),
    scheduler: str = typer.Option(
        None, "--scheduler", help="Make the items on the running Dask cluster at ADDRESS, e.g. tcp://host:8786."
    ),
):
    """Phantom -> sketch -> diffusion refinement -> annotation update -> data set."""
    from synthscope.io import read_dataset

    settings = parse_settings(set_)
    overrides = {"model": model, "sampler": sampler, "steps": steps, "t_start": t_start}
    settings.update({f"refine.{k}": v for k, v in overrides.items() if v is not None})
    if stages is not None:
        settings["refine.stages"] = _parse_stages(stages)
    root = _run(
        preset,
        count=count,
        out=out,
        seed=seed,
        settings=settings,
        what="generating",
        workers=workers,
        scheduler=scheduler,
    )
    if not read_dataset(root).info["refined"]:
        print_warning(
            f"{preset} names no refinement model, so {root / 'images'} holds the unrefined sketches; "
            "pass --model NAME|PATH to refine them"
        )


@app.command()
def sketch(
    preset: str = typer.Argument(None, help="Preset name or a preset YAML file."),
    count: int = COUNT,
    out: Path = typer.Option(None, "--out", "-o", help="Data set folder."),
    seed: int = SEED,
    set_: list[str] = typer.Option(None, "--set", help="Override a preset key (repeatable)."),
    list_: bool = typer.Option(False, "--list", help="List the bundled presets and exit."),
):
    """Write phantoms and their sketches as a data set, without diffusion refinement."""
    from synthscope.errors import InputError
    from synthscope.phantoms import preset_names

    if list_:
        output.print("\n".join(preset_names()))
        return
    if preset is None or out is None:
        raise InputError("sketch needs a PRESET and --out DIR (or --list)")
    settings = {**parse_settings(set_), "refine.model": None}
    _run(preset, count=count, out=out, seed=seed, settings=settings, what="sketching")


def _run(preset, *, count, out, seed, settings, what, workers=None, scheduler=None):
    """Write the data set (on Dask with `workers` or `scheduler`); return its folder."""
    from synthscope.pipeline import generate as run_generate

    with progress_bar(what) as callback:
        root = run_generate(
            preset,
            count=count,
            out=out,
            rng=seed,
            settings=settings,
            callback=callback,
            workers=workers,
            scheduler=scheduler,
        )
    console.print(f"wrote {count} items to {root} (previews in {root / 'previews'})")
    return root


def _parse_stages(text):
    from synthscope.errors import InputError

    stages = []
    for part in text.split(","):
        t, _, hold = part.partition(":")
        if not t.strip().isdigit():
            raise InputError(f"--stages {text!r}: each stage is T:MASK (MASK may be empty), got {part!r}")
        stages.append({"t": int(t), "hold": hold.strip() or None})
    return stages
