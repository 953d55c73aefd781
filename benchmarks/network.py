"""What one network pass costs: widths, depth, attention and tilings of the 2D denoiser.

    python benchmarks/network.py [--threads 1] [--repeats 3]

Part 2 of the speed issue: for each architecture variant of the default 2D denoiser (random
weights, the two condition channels of ``nuclei-2d``'s model) it prints the parameters and
the CPU seconds of one bfloat16 pass over a 256x256 image in each tiling layout:

- 25 tiles of 64x64 with overlap 1/4, batch 8 (what ``refine`` does; the default);
- 16 tiles of 64x64 without overlap (a visible seam at every tile border: no blending);
- 9 tiles of 128x128 with overlap 1/4; 4 tiles of 128x128 without overlap;
- the whole image as one tile.

Overlaps between 0 and 1/4 give the same 25 tiles at 256x256 (the stride must be 64 to
need only 4 tiles a row), so they are not listed. The speed alone does not choose a
network: each candidate is distilled from the teacher (``synthscope distill --channels``)
and judged by downstream AP in ``benchmarks/specimens.py``; docs/benchmarks.md has both.
"""

import argparse
import time

import torch

from synthscope.diffusion import DenoiserConfig, build_denoiser
from synthscope.diffusion.denoiser import autocast

#: name -> DenoiserConfig changes from the default (32, 64, 64), attention at the coarsest level.
VARIANTS = {
    "default (32, 64, 64)": {},
    "no attention": {"attention_levels": (False, False, False)},
    "(24, 48, 48)": {"channels": (24, 48, 48), "num_head_channels": 24},
    "(16, 32, 64)": {"channels": (16, 32, 64)},
    "(16, 32, 32)": {"channels": (16, 32, 32)},
    "2 levels (32, 64)": {"channels": (32, 64), "attention_levels": (False, False)},
    "4 levels (32, 64, 64, 64)": {"channels": (32, 64, 64, 64), "attention_levels": (False, False, False, True)},
}
#: name -> (tile side, number of tiles over a 256x256 image, tiles per batch).
LAYOUTS = {
    "25 x 64, overlap 1/4": (64, 25, 8),
    "16 x 64, no overlap": (64, 16, 8),
    "9 x 128, overlap 1/4": (128, 9, 9),
    "4 x 128, no overlap": (128, 4, 4),
    "1 x 256": (256, 1, 1),
}


def pass_seconds(model, *, tile, tiles, batch, repeats):
    """Least CPU seconds of `repeats` bfloat16 passes of `model` over `tiles` tiles of `tile` pixels a side."""
    x = torch.randn(tiles, 1, tile, tile)
    condition = torch.randn(tiles, model.config.condition_channels, tile, tile)
    t = torch.full((tiles,), 400)

    def once():
        with torch.inference_mode(), autocast(True):
            for start in range(0, tiles, batch):
                window = slice(start, start + batch)
                model(x[window], t[window], condition[window])

    once()  # warm up the kernels
    best = float("inf")
    for _ in range(repeats):
        began = time.process_time()
        once()
        best = min(best, time.process_time() - began)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"CPU s of one bf16 pass over a 256x256 image; {args.threads} thread(s)\n")
    print("| network | parameters | " + " | ".join(LAYOUTS) + " |")
    print("| --- " * (len(LAYOUTS) + 2) + "|")
    baseline = None
    for name, changes in VARIANTS.items():
        torch.manual_seed(0)
        model = build_denoiser(DenoiserConfig(condition_channels=2, **changes)).eval()
        seconds = [
            pass_seconds(model, tile=tile, tiles=tiles, batch=batch, repeats=args.repeats)
            for tile, tiles, batch in LAYOUTS.values()
        ]
        baseline = baseline or seconds[0]
        cells = [f"{s:.3f} ({baseline / s:.2f}x)" for s in seconds]
        parameters = sum(p.numel() for p in model.parameters()) / 1e6
        print(f"| {name} | {parameters:.2f}M | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
