"""The report of an adaptation: fitted values and a picture of the user's images beside the preset's items."""

from pathlib import Path

import numpy as np

from synthscope.io import atomic_path, write_text

SHOWN = 3  # images per row of the picture


def write_report(out: Path, images, labels, preset_path: Path, record: dict, *, rng: int = 0) -> None:
    """Write ``out/report.md`` (fitted values, training) and ``out/report.png``.

    The picture has three rows: crops of the user's images with the outlines of their
    labels, sketches of the preset, and the same sketches refined by the adapted model,
    both with the items' final labels.
    """
    from synthscope.maker import ItemMaker
    from synthscope.phantoms.fit_report import fit_table

    maker = ItemMaker(preset_path, rng=rng)
    items = [maker(i) for i in range(SHOWN)]
    shape = items[0].sketch.shape
    rows = [
        [_outlined(_crop(image, shape), _crop(label, shape)) for image, label in zip(images[:SHOWN], labels[:SHOWN])],
        [_outlined(item.sketch, item.labels) for item in items],
        [_outlined(item.image, item.labels) for item in items],
    ]
    _save_grid(out / "report.png", rows)
    training = record["training"]
    lines = [
        "# synthscope adapt report",
        "",
        f"{record['images']} image(s), {record['objects']} nuclei ({record['labels']}).",
        f"Model: fine-tuned from `{training['base']}` for {training['steps']} steps "
        f"({training['seconds'] / 60:.1f} min), "
        f"loss {loss_text(training['first_loss'])} -> {loss_text(training['final_loss'])}.",
        f"Whole run so far: {record['seconds'] / 60:.1f} min ({record['cpu_seconds'] / 60:.1f} CPU min).",
        "",
        "![rows: your images, sketches of the preset, the sketches refined](report.png)",
        "",
        "Rows: your images (with the outlines of the labels the fit used), sketches of",
        "`preset.yaml`, and the same sketches refined by `model/`.",
        "",
        "## Fitted values against your images",
        "",
        "```",
        fit_table(record["fit"]).rstrip(),
        "```",
        "",
    ]
    write_text(out / "report.md", "\n".join(lines))


def loss_text(value):
    return "n/a" if value is None else f"{value:.4f}"


def _crop(image, shape):
    return np.asarray(image)[tuple(slice(0, s) for s in shape)]


def _outlined(image, labels):
    from skimage.segmentation import find_boundaries

    rgb = np.repeat(np.clip(np.asarray(image, np.float32), 0, 1)[..., None], 3, axis=-1)
    rgb[find_boundaries(np.asarray(labels), mode="inner")] = (1.0, 0.3, 0.0)
    return rgb


def _save_grid(path, rows):
    from PIL import Image

    height = max(tile.shape[0] for row in rows for tile in row)
    width = max(tile.shape[1] for row in rows for tile in row)
    grid = np.ones((len(rows) * (height + 4), SHOWN * (width + 4), 3), np.float32)
    for r, row in enumerate(rows):
        for c, tile in enumerate(row):
            y, x = r * (height + 4), c * (width + 4)
            grid[y : y + tile.shape[0], x : x + tile.shape[1]] = tile
    with atomic_path(path) as tmp:
        Image.fromarray((grid * 255).round().astype(np.uint8)).save(tmp, format="PNG")
