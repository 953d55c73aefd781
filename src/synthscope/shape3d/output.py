"""Writing a `ShapePrediction`: volumes, feature tables and a picture, each file written atomically."""

import csv
import io
import os
from pathlib import Path

import numpy as np

from synthscope.intensity import percentile_normalize
from synthscope.io import atomic_path, write_image, write_text
from synthscope.shape3d.predict import ShapePrediction

FILES = ("labels.tif", "probability.tif", "uncertainty.tif", "features.csv", "members.csv", "picture.png")


def write_prediction(out: str | os.PathLike, result: ShapePrediction, *, image: np.ndarray) -> list[Path]:
    """Write `result` into the folder `out` (the `FILES`) and return their paths.

    ``picture.png`` shows the 2D input image beside three orthogonal sections of the
    mean shape (XY at the section, XZ and YZ through the largest object's centre), z
    drawn at its physical length.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    spacing = result.spacing
    write_image(out / "labels.tif", result.labels, axes="ZYX", spacing=spacing)
    write_image(out / "probability.tif", result.probability, axes="ZYX", spacing=spacing)
    write_image(out / "uncertainty.tif", result.uncertainty, axes="ZYX", spacing=spacing)
    write_text(out / "features.csv", _csv(result.features))
    write_text(out / "members.csv", _csv(result.members))
    _picture(out / "picture.png", result, image)
    return [out / name for name in FILES]


def _csv(rows):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()} for row in rows)
    return buffer.getvalue()


def _picture(path, result, image):
    from PIL import Image

    volume = result.probability
    largest = max(result.features, key=lambda row: row["volume"])["label"]
    y, x = np.mean(np.nonzero(result.labels[volume.shape[0] // 2] == largest), axis=1).round().astype(int)
    stretch = result.spacing["Z"] / result.spacing["X"]
    panels = [percentile_normalize(image, 1, 99.8), volume[volume.shape[0] // 2]]
    for section in (volume[:, y, :], volume[:, :, x]):
        height = max(1, int(round(section.shape[0] * stretch)))
        resized = Image.fromarray((section * 255).astype(np.uint8)).resize((section.shape[1], height))
        panels.append(np.asarray(resized, np.float32) / 255)
    height = max(p.shape[0] for p in panels)
    row = np.concatenate([np.pad(p, ((0, height - p.shape[0]), (0, 2)), constant_values=1) for p in panels], axis=1)
    with atomic_path(path) as tmp:
        Image.fromarray((np.clip(row, 0, 1) * 255).astype(np.uint8)).save(tmp, format="PNG")
