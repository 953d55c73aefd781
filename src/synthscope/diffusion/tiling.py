"""Apply a network to images larger than it was trained on: overlapping tiles, blended.

MONAI's ``sliding_window_inference`` cuts the tiles, batches them (across the images of
the batch too) and blends the outputs with a Gaussian weight, so no seam shows where
tiles meet. Tiles whose sides are not a multiple of what the network accepts are padded
by edge replication and cropped back.
"""

import torch.nn.functional as F
from monai.inferers import sliding_window_inference

from synthscope.errors import InputError


def predict_tiled(predictor, inputs, *, tile_size, overlap=0.25, batch=8, multiple=1):
    """Return ``predictor`` applied to `inputs` tile by tile, blended.

    Parameters
    ----------
    predictor : callable
        Maps a batch of tiles ``(N, C, *tile)`` to outputs ``(N, C_out, *tile)``.
    inputs : torch.Tensor
        ``(B, C, *spatial)``, 2D or 3D.
    tile_size : sequence of int
        Tile shape; sides larger than the image shrink to the image, so an image no
        larger than a tile is one tile.
    overlap : float
        Overlap between neighbouring tiles as a fraction of the tile, in [0, 1).
    batch : int
        Tiles per network call; memory is bounded by it, not by the image.
    multiple : int
        The predictor needs sides that are multiples of this.

    Returns
    -------
    torch.Tensor
        ``(B, C_out, *spatial)``, float32.

    Examples
    --------
    >>> import torch
    >>> x = torch.rand(2, 1, 40, 50)
    >>> out = predict_tiled(lambda t: 2 * t, x, tile_size=(16, 16), multiple=8)
    >>> torch.allclose(out, 2 * x, atol=1e-6)
    True
    """
    spatial = inputs.shape[2:]
    check_tiling(tile_size, overlap, batch, ndim=len(spatial))
    roi = [min(int(t), s) for t, s in zip(tile_size, spatial)]
    return sliding_window_inference(
        inputs,
        roi,
        batch,
        lambda tiles: _padded(predictor, tiles, multiple),
        overlap=overlap,
        mode="gaussian",
    )


def check_tiling(tile_size, overlap, batch, *, ndim):
    """Raise `InputError` unless the tiling options fit an image with `ndim` spatial axes."""
    if len(tile_size) != ndim or any(int(t) < 1 for t in tile_size):
        raise InputError(f"tile_size: expected {ndim} positive sides, got {tuple(tile_size)}")
    if not 0 <= overlap < 1:
        raise InputError(f"tile_overlap: expected a fraction in [0, 1), got {overlap}")
    if not isinstance(batch, int) or batch < 1:
        raise InputError(f"tile_batch: expected a positive integer, got {batch!r}")


def _padded(predictor, tiles, multiple):
    spatial = tiles.shape[2:]
    pad = [(-s) % multiple for s in spatial]
    if not any(pad):
        return predictor(tiles)
    # F.pad lists the last axis first: (left, right) pairs.
    widths = [w for p in reversed(pad) for w in (0, p)]
    out = predictor(F.pad(tiles, widths, mode="replicate"))
    return out[(..., *(slice(0, s) for s in spatial))]
