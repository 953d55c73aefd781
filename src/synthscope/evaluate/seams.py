"""Seams of tiled sampling: how much more an image steps at tile borders than elsewhere.

A network applied tile by tile (`synthscope.diffusion.tiling.predict_tiled`) can leave
each tile at its own level, so the image steps where tiles meet. `seam_step` measures
it on mean profiles: along each spatial axis the image is averaged over the other axes
(over the `masks` pixels only, e.g. the background, so that objects do not drown a
step), and the mean jump between neighbouring positions at the tiles' borders is divided
by the mean jump elsewhere. About 1 means no seam; a tile grid of levels gives much more.
"""

import math
from collections.abc import Sequence

import numpy as np

from synthscope.errors import InputError


def tile_starts(size: int, tile: int, overlap: float) -> list[int]:
    """Return where tiles start along an axis of `size` pixels, as MONAI's sliding window places them.

    Examples
    --------
    >>> tile_starts(256, 64, 0.25)
    [0, 48, 96, 144, 192]
    >>> tile_starts(256, 128, 0.25)
    [0, 96, 128]
    """
    if tile >= size:
        return [0]
    interval = max(int(tile * (1 - overlap)), 1)
    count = next(d for d in range(math.ceil(size / interval)) if d * interval + tile >= size) + 1
    return [min(index * interval, size - tile) for index in range(count)]


def tile_borders(size: int, tile: int, overlap: float) -> list[int]:
    """Return the positions ``i`` where a tile starts or ends between pixels ``i`` and ``i + 1``.

    Examples
    --------
    >>> tile_borders(64, 32, 0.5)
    [15, 31, 47]
    """
    starts = tile_starts(size, tile, overlap)
    return sorted({s - 1 for s in starts if s > 0} | {s + tile - 1 for s in starts if s + tile < size})


def seam_step(
    images: Sequence[np.ndarray],
    *,
    tile_size: Sequence[int],
    overlap: float = 0.25,
    masks: Sequence[np.ndarray] | None = None,
) -> float:
    """Return the mean jump of the images' mean profiles at tile borders over the mean jump elsewhere.

    Parameters
    ----------
    images : sequence of numpy.ndarray
        Images of one shape; their last ``len(tile_size)`` axes are the tiled ones (any
        axes before them, such as the slices of a 2D model's volume, are averaged over).
    tile_size : sequence of int
        The tile shape of the sampling to check.
    overlap : float
        Overlap of neighbouring tiles as a fraction of the tile, as the sampler was given it.
    masks : sequence of numpy.ndarray, optional
        Boolean, one per image: only these pixels are averaged (e.g. the background).

    Returns
    -------
    float
        Border step over interior step, pooled over images and axes; about 1 without seams.

    Examples
    --------
    >>> image = np.random.default_rng(0).normal(size=(64, 64))
    >>> round(seam_step([image], tile_size=(16, 16)), 1) < 2
    True
    >>> image[:, 32:] += 5  # a level step where a tile ends
    >>> seam_step([image], tile_size=(32, 32), overlap=0.0) > 10
    True
    """
    images = [np.asarray(image, dtype=np.float64) for image in images]
    dims = len(tile_size)
    if not images or any(image.shape != images[0].shape or image.ndim < dims for image in images):
        raise InputError(f"images: expected a non-empty list of images of one shape with {dims} tiled axes")
    if masks is not None and [np.shape(m) for m in masks] != [image.shape for image in images]:
        raise InputError("masks: expected one boolean mask of each image's shape")
    if not 0 <= overlap < 1:
        raise InputError(f"overlap: expected a fraction in [0, 1), got {overlap}")
    shape = images[0].shape[-dims:]
    border, interior = [], []
    for index, image in enumerate(images):
        weight = np.ones(image.shape) if masks is None else np.asarray(masks[index], dtype=np.float64)
        for axis, (size, tile) in enumerate(zip(shape, tile_size)):
            others = tuple(a for a in range(image.ndim) if a != image.ndim - dims + axis)
            with np.errstate(invalid="ignore"):
                profile = (image * weight).sum(axis=others) / weight.sum(axis=others)
            jumps = np.abs(np.diff(profile))
            at = np.zeros(len(jumps), bool)
            at[tile_borders(size, int(tile), overlap)] = True
            border.append(jumps[at])
            interior.append(jumps[~at])
    border, interior = np.concatenate(border), np.concatenate(interior)
    if not border.size:
        raise InputError(f"tile_size: {tuple(tile_size)} leaves no tile border in images of shape {shape}")
    return float(np.nanmean(border) / np.nanmean(interior))


def block_spread(
    images: Sequence[np.ndarray], *, block: Sequence[int], masks: Sequence[np.ndarray] | None = None
) -> float:
    """Return the spread (standard deviation) of the images' mean level over a grid of blocks.

    Blended tiles that each settle at their own level show no step at their borders (the
    blend spreads it over the overlap), but their levels still differ: cut each image into
    blocks of `block` (the rest at the far edges dropped), average each block over its
    `masks` pixels (blocks with fewer than a quarter of their pixels in the mask are left
    out) and take the standard deviation over the blocks, averaged over the images.

    Examples
    --------
    >>> image = np.zeros((64, 64)); image[:, 32:] = 1
    >>> block_spread([image], block=(32, 32))
    0.5
    """
    images = [np.asarray(image, dtype=np.float64) for image in images]
    dims = len(block)
    if not images or any(image.ndim != dims or min(image.shape) < min(block) for image in images):
        raise InputError(f"images: expected {dims}D images at least {tuple(block)} in size")
    spreads = []
    for index, image in enumerate(images):
        weight = np.ones(image.shape) if masks is None else np.asarray(masks[index], dtype=np.float64)
        if weight.shape != image.shape:
            raise InputError("masks: expected one boolean mask of each image's shape")
        cells = tuple(s // b for s, b in zip(image.shape, block))
        crop = tuple(slice(0, c * b) for c, b in zip(cells, block))
        split = [n for c, b in zip(cells, block) for n in (c, b)]
        sums = (image * weight)[crop].reshape(split).sum(axis=tuple(range(1, 2 * dims, 2)))
        counts = weight[crop].reshape(split).sum(axis=tuple(range(1, 2 * dims, 2)))
        kept = counts >= np.prod(block) / 4
        if kept.sum() > 1:
            spreads.append(np.std(sums[kept] / counts[kept]))
    if not spreads:
        raise InputError("masks: no image has two blocks with enough masked pixels")
    return float(np.mean(spreads))
