"""``synthscope fit``: a nuclei preset estimated from a user's annotated images."""

from pathlib import Path

import typer

from synthscope.cli._app import AXES, app, console, one_line_warnings, output, parse_percentiles


@app.command()
def fit(
    annotated: Path = typer.Argument(
        ..., help="Annotated images: images/ + labels/ (or masks/), NAME + NAME_masks files, or a synthscope data set."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Preset YAML to write; the fit report goes beside it."),
    base: str = typer.Option(
        None,
        "--base",
        help="Preset giving everything not fitted (default nuclei-2d or nuclei-3d by the images' dimensions).",
    ),
    percentiles: str = typer.Option(
        None, "--percentiles", help="LOW,HIGH: map each image's percentiles to [0, 1] (needed for integer images)."
    ),
    check: int = typer.Option(8, "--check", min=1, help="Sketches of the fitted preset to compare with yours."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the calibration and check sketches."),
    axes: str = AXES,
):
    """Estimate a nuclei preset (sizes, shapes, density, intensities, noise) from annotated images.

    A statistic your images cannot give (no mitoses, no out-of-focus sections, no
    unlabelled light, no background) takes a stated value instead: one warning line
    each, also listed under "warnings" in the fit report.
    """
    import json

    import numpy as np
    import yaml

    from synthscope.errors import InputError
    from synthscope.io import read_annotated, write_text
    from synthscope.phantoms.fit import FitWarning
    from synthscope.phantoms.fit_report import fit_report, fit_table

    if out.suffix not in (".yaml", ".yml"):
        raise InputError(f"--out {out}: the preset is written as YAML; name it e.g. preset.yaml")
    pairs = read_annotated(annotated, axes=axes)
    images, spacings = [], []
    for name, image, _ in pairs:
        if set(image.axes) - set("ZYX"):
            raise InputError(f"{annotated}/{name}: axes {image.axes!r}; fit takes single-channel 2D or 3D images")
        images.append(_normalised(image.data, percentiles, f"{annotated}/{name}"))
        spacings.append(tuple(image.spacing.get(a) for a in image.axes))
    labels = [labels for _, _, labels in pairs]
    spacing = spacings[0] if all(s == spacings[0] and None not in s for s in spacings) else None
    base = base or ("nuclei-2d" if np.ndim(images[0]) == 2 else "nuclei-3d")
    with one_line_warnings(FitWarning) as notes:
        preset, report = fit_report(images, labels, base=base, spacing=spacing, check_count=check, rng=seed)
    report.update(annotated=str(annotated), base=base, percentiles=percentiles, spacing=spacing, warnings=notes)
    header = (
        f"# Fitted by `synthscope fit {annotated}` from {report['images']} image(s), {report['objects']} "
        f"nuclei.\n# Generate with: synthscope generate {out} --count N --out DIR\n"
    )
    write_text(out, header + yaml.safe_dump(preset, sort_keys=False))
    report_path = out.with_suffix(".fit.json")
    write_text(report_path, json.dumps(report, indent=2) + "\n")
    output.print(fit_table(report))
    console.print(f"wrote {out} and {report_path}")


def _normalised(data, percentiles, name):
    import numpy as np

    from synthscope.checks import check_finite
    from synthscope.errors import InputError
    from synthscope.intensity import percentile_normalize

    check_finite(data, name)  # an image file is checked when read, a data set's item here
    if percentiles is None:
        if not np.issubdtype(data.dtype, np.floating) or data.min() < 0 or data.max() > 1:
            raise InputError(f"{name}: intensities are {data.dtype} outside [0, 1]; pass --percentiles 1,99.8")
        return data
    return percentile_normalize(data, *parse_percentiles(percentiles))
