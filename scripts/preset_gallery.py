"""Write a picture grid of every phantom preset and every cilia class to docs/images/presets.png.

    python scripts/preset_gallery.py [--out docs/images/presets.png] [--seed 0]

Each tile is the sketch of one item (seed + tile index) with the outlines of its labels
(cilia: A tubules red, B yellow, central cyan; none where the membrane is drawn); 3D items
show their middle slice, time-lapse items their last frame, multi-channel items nuclei
in green and membranes in magenta.
"""

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from skimage.segmentation import find_boundaries
from skimage.transform import resize

from synthscope.phantoms import load_preset, preset_names, sketch_item

TILE, CAPTION, COLUMNS = 192, 18, 6
CLASS_COLOURS = {1: (255, 60, 60), 2: (255, 220, 0), 3: (0, 220, 255)}


def tile(item):
    """An RGB uint8 tile of the item's sketch with label outlines."""
    labels, sketch = item.labels, item.sketch
    if item.axes.startswith("T"):
        labels, sketch = labels[-1], sketch[..., -1, :, :] if sketch.ndim > labels.ndim else sketch[-1]
    if labels.ndim == 3:
        middle = labels.shape[0] // 2
        labels, sketch = labels[middle], sketch[..., middle, :, :]
    rgb = np.stack([sketch[1], sketch[0], sketch[1]], -1) if sketch.ndim == 3 else np.repeat(sketch[..., None], 3, -1)
    rgb = resize(rgb, (TILE, TILE, 3), order=1, anti_aliasing=True)
    small = resize(labels, (TILE, TILE), order=0, preserve_range=True, anti_aliasing=False).astype(labels.dtype)
    edges = find_boundaries(small, mode="inner")
    if item.classes is not None:
        classes = resize(item.classes, (TILE, TILE), order=0, preserve_range=True, anti_aliasing=False)
        for kind, colour in CLASS_COLOURS.items():
            rgb[edges & (classes == kind)] = np.array(colour) / 255
    elif "membrane" not in item.masks:
        rgb[edges] = 0.5 * rgb[edges] + 0.5 * np.array([1.0, 0.3, 0.3])
    return (np.clip(rgb, 0, 1) * 255).astype(np.uint8)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "docs/images/presets.png")
    parser.add_argument("--seed", type=int, default=0)
    options = parser.parse_args()
    names = preset_names()
    rows = -(-len(names) // COLUMNS)
    sheet = Image.new("RGB", (COLUMNS * TILE, rows * (TILE + CAPTION)), "white")
    draw = ImageDraw.Draw(sheet)
    for index, name in enumerate(names):
        x, y = (index % COLUMNS) * TILE, (index // COLUMNS) * (TILE + CAPTION)
        sheet.paste(Image.fromarray(tile(sketch_item(load_preset(name), rng=options.seed + index))), (x, y + CAPTION))
        draw.text((x + 4, y + 3), name, fill="black")
    options.out.parent.mkdir(parents=True, exist_ok=True)
    sheet.quantize(colors=256, dither=Image.Dither.NONE).save(options.out, optimize=True)
    print(f"{options.out}: {len(names)} presets, {options.out.stat().st_size / 1e3:.0f} kB")


if __name__ == "__main__":
    main()
