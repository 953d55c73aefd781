"""``synthscope refine``: refine one image (a sketch) with a diffusion model."""

from pathlib import Path

import typer

from synthscope.cli._app import AXES, app, console, progress_bar


@app.command()
def refine(
    image: Path = typer.Argument(
        ..., help="Image to refine (TIFF, PNG, ...): floats in [0, 1], or integers (scaled by the dtype's maximum)."
    ),
    model: str = typer.Option(..., "--model", help="A bundled model name or a model folder."),
    out: Path = typer.Option(..., "--out", "-o", help="Output image (float32, same axes and spacing)."),
    sampler: str = typer.Option("dpm", "--sampler", help="dpm, ddim or ddpm."),
    steps: int = typer.Option(
        20, "--steps", help="Network evaluations (ddpm with 400 from --t-start 400: the published schedule)."
    ),
    t_start: int = typer.Option(400, "--t-start", help="Diffusion time the image is noised to, in (0, T]."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the noise."),
    slice_rho: float = typer.Option(
        None, "--slice-rho", help="2D model on a volume: noise correlation between slices."
    ),
    axes: str = AXES,
):
    """SDEdit: noise IMAGE to --t-start and denoise it with the model (tiled, bfloat16)."""
    import numpy as np

    from synthscope.diffusion import Stage, load_denoiser
    from synthscope.diffusion import refine as run_refine
    from synthscope.errors import InputError
    from synthscope.io import read_image, write_image
    from synthscope.io.formats import image_format

    image_format(out, write=True)
    picture = read_image(image, axes=axes)
    data = picture.data
    if np.issubdtype(data.dtype, np.integer):
        console.print(f"{image}: {data.dtype} values scaled by 1/{np.iinfo(data.dtype).max}")
        data = data / np.iinfo(data.dtype).max
    elif not np.issubdtype(data.dtype, np.floating):
        raise InputError(f"{image}: cannot refine {data.dtype} values")
    denoiser = load_denoiser(model)
    with progress_bar("refining") as callback:
        refined = run_refine(
            denoiser,
            data.astype(np.float32),
            stages=[Stage(t_start=t_start)],
            sampler=sampler,
            steps=steps,
            rng=seed,
            slice_rho=slice_rho,
            callback=callback,
        )
    write_image(out, refined, axes=picture.axes, spacing=picture.spacing)
    console.print(f"wrote {out}")
