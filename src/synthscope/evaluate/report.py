"""Evaluation reports: a JSON file with every number, a Markdown table and a PNG."""

import json
import math
import os
import pathlib

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from synthscope.io import atomic_path, write_text

COLOURS = ((31, 119, 180), (255, 127, 14))


def _plain(value):
    """Return `value` with NumPy types as Python ones and NaN as None, for strict JSON."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    return None if isinstance(value, float) and math.isnan(value) else value


def _markdown(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]) + "\n"


def realism_table(report):
    """Return a Markdown table of a `realism` report: each metric next to its floor.

    Examples
    --------
    >>> print(realism_table({"metrics": {"swd": {"score": 0.5, "floor": 0.25}}, "warnings": []}), end="")
    | metric | candidate vs reference | floor (reference halves) |
    | --- | --- | --- |
    | swd | 0.5 | 0.25 |
    """
    rows = [(name, f"{m['score']:.4g}", f"{m['floor']:.4g}") for name, m in report["metrics"].items()]
    notes = "".join(f"\nnote: {w}\n" for w in report["warnings"])
    return _markdown(("metric", "candidate vs reference", "floor (reference halves)"), rows) + notes


def segmentation_table(report):
    """Return a Markdown table of instance scores per IoU threshold, and the SEG score.

    `report` holds ``"matching"`` (from `match_instances`) and ``"seg"``.
    """
    m = report["matching"]
    keys = ("threshold", "tp", "fp", "fn", "precision", "recall", "f1", "ap", "mean_matched_iou")
    rows = [[f"{m[k][i]:.3g}" for k in keys] for i in range(len(m["threshold"]))]
    return _markdown(keys, rows) + f"\nSEG: {report['seg']:.4f}\n"


def downstream_table(report):
    """Return a Markdown table of a `downstream_benchmark` report: mean ± std over seeds.

    Examples
    --------
    >>> s = {"mean": 0.5, "std": 0.01, "min": 0.49, "max": 0.51}
    >>> run = {"train_seconds": 2.0}
    >>> print(downstream_table({"conditions": {"real": {"ap50": s, "seg": s, "runs": [run]}}}), end="")
    | training data | AP@0.5 | SEG | runs | train s/run |
    | --- | --- | --- | --- | --- |
    | real | 0.500 ± 0.010 | 0.500 ± 0.010 | 1 | 2.0 |
    """
    rows = [
        (
            name,
            f"{c['ap50']['mean']:.3f} ± {c['ap50']['std']:.3f}",
            f"{c['seg']['mean']:.3f} ± {c['seg']['std']:.3f}",
            len(c["runs"]),
            f"{np.mean([r['train_seconds'] for r in c['runs']]):.1f}",
        )
        for name, c in report["conditions"].items()
    ]
    return _markdown(("training data", "AP@0.5", "SEG", "runs", "train s/run"), rows)


def downstream_chart(report, *, size=(640, 400)):
    """Return a bar chart (PIL image) of AP@0.5 and SEG per condition, error bars ± std."""
    width, height = size
    image = Image.new("RGB", size, "white")
    draw, font = ImageDraw.Draw(image), ImageFont.load_default(size=14)
    left, top, bottom = 50, 40, height - 40
    y = lambda v: bottom - v * (bottom - top)  # noqa: E731
    for tick in np.linspace(0, 1, 6):
        draw.line((left, y(tick), width - 10, y(tick)), fill=(220, 220, 220))
        draw.text((left - 8, y(tick)), f"{tick:.1f}", fill="black", font=font, anchor="rm")
    names = list(report["conditions"])
    group = (width - 10 - left) / len(names)
    for g, name in enumerate(names):
        for b, key in enumerate(("ap50", "seg")):
            stats = report["conditions"][name][key]
            x0 = left + g * group + group * (0.15 + 0.35 * b)
            x1, mid = x0 + group * 0.3, x0 + group * 0.15
            draw.rectangle((x0, y(stats["mean"]), x1, bottom), fill=COLOURS[b])
            hi, lo = y(min(stats["mean"] + stats["std"], 1)), y(max(stats["mean"] - stats["std"], 0))
            draw.line((mid, hi, mid, lo), fill="black", width=2)
            draw.text((mid, hi - 4), f"{stats['mean']:.2f}", fill="black", font=font, anchor="md")
        draw.text((left + (g + 0.5) * group, bottom + 8), name, fill="black", font=font, anchor="mt")
    for b, label in enumerate(("AP@0.5", "SEG")):
        draw.rectangle((left + 10 + 90 * b, 12, left + 24 + 90 * b, 26), fill=COLOURS[b])
        draw.text((left + 30 + 90 * b, 19), label, fill="black", font=font, anchor="lm")
    return image


def image_grid(rows, *, titles, size=96):
    """Return a PIL image with one row of 2D images in [0, 1] per entry of `rows`.

    Examples
    --------
    >>> image_grid([np.zeros((3, 8, 8)), np.ones((2, 8, 8))], titles=["a", "b"], size=8).size
    (56, 16)
    """
    columns = max(len(r) for r in rows)
    label = 32
    grid = Image.new("L", (label + columns * size, len(rows) * size), 255)
    draw = ImageDraw.Draw(grid)
    for i, (row, title) in enumerate(zip(rows, titles)):
        draw.text((2, i * size + 2), title, fill=0)
        for j, patch in enumerate(row):
            tile = Image.fromarray((np.clip(patch, 0, 1) * 255).astype(np.uint8)).resize((size, size), Image.NEAREST)
            grid.paste(tile, (label + j * size, i * size))
    return grid


def write_report(
    report: dict, folder: str | os.PathLike, *, name: str, table: str, figure: Image.Image | None = None
) -> list[pathlib.Path]:
    """Write ``{name}.json``, ``{name}.md`` and, given `figure`, ``{name}.png`` into `folder`.

    Each file is written to a temporary name first and then renamed (`synthscope.io.atomic_path`).

    Returns
    -------
    paths : list of pathlib.Path
    """
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    contents = {".json": json.dumps(_plain(report), indent=2, allow_nan=False) + "\n", ".md": table}
    paths = []
    for suffix, text in contents.items():
        paths.append(folder / f"{name}{suffix}")
        write_text(paths[-1], text)
    if figure is not None:
        paths.append(folder / f"{name}.png")
        with atomic_path(paths[-1]) as tmp:
            figure.save(tmp, format="PNG")
    return paths
