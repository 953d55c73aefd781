"""Populations: masks placed one by one where they collide with nothing, in 2D and 3D.

The free positions of a mask are found exactly, all at once, by cross-correlating it with
what is already occupied (`scipy.signal.fftconvolve`), as the cascaded-diffusion
approach composes its cells. Each mask is placed either in contact with an earlier one
(with probability `touching`) or apart from all, leaving at least `gap` pixels of
background, at a position drawn with weights from a distance map of the objects placed
so far: with `clustering` near 1 new objects settle close to old ones, forming clusters;
at 0 anywhere. Centres may also be held at least `min_distance` apart, whatever the
objects' sizes (a hard core, as in `synthscope.phantoms.placement`: the sections of a
tissue's nuclei keep the spacing of the whole nuclei, small sections included). The
search runs in a window of a few object sizes around a random point, so its cost does
not grow with the image. Objects never overlap; they may be cut by the image border
(their centre lies inside).
"""

from collections.abc import Sequence

import numpy as np
from scipy import ndimage as ndi
from scipy.signal import fftconvolve

from synthscope import checks as check
from synthscope.errors import InputError
from synthscope.phantoms.placement import label_dtype, region_mask

WINDOW = 96  # least side of the search window (pixels)
WINDOW_SIZES = 4  # ... and at least this many mask sizes
ATTEMPTS = 12  # windows tried per mask before it is left out
GAP = 2  # default least background (pixels) between an object placed apart and every other


def compose(
    shape: Sequence[int],
    masks: Sequence[np.ndarray],
    *,
    touching: float = 0.0,
    gap: int = GAP,
    clustering: float = 0.0,
    cluster_distance: float | None = None,
    min_distance: float = 0.0,
    region=None,
    scale: Sequence[float] | None = None,
    rng: check.Rng = None,
) -> tuple[np.ndarray, list[dict]]:
    """Place `masks`, in order, into a label image of `shape` without collisions.

    Parameters
    ----------
    shape : sequence of int
        ``(Y, X)`` or ``(Z, Y, X)``.
    masks : sequence of ndarray of bool
        One box per object, with odd sides and the object's centre at the middle pixel
        (as `synthscope.phantoms.mask_crops.decode` draws them), of the image's dimension.
    touching : float
        Probability, in [0, 1], that a mask is placed in contact with an earlier object
        (adjacent pixels) when a window offers such a position; otherwise it is placed
        apart (see `gap`).
    gap : int
        At least 1: every pixel of an object placed apart lies at least ``gap + 1`` pixels
        from every pixel of the others (Euclidean distance in pixels of every axis), so
        at least ``gap`` background pixels separate them along a row or column and no
        two touch diagonally.
    clustering : float
        In [0, 1]: the weight of a position placed apart is ``1 - clustering +
        clustering * exp(-d / cluster_distance)``, ``d`` its distance to the nearest
        object (a distance map); 0 places uniformly.
    cluster_distance : float, optional
        Length scale of the clustering, pixels of the last axis; by default the mean
        equivalent radius of the masks.
    min_distance : float
        Least distance between the centres of any two objects, touching or not, in
        pixels of the last axis (0: none).
    region : None, "ellipsoid" or ndarray of bool
        Where objects may lie (wholly), as in `synthscope.phantoms.placement.region_mask`.
    scale : sequence of float, optional
        Pixel size of each axis relative to the last (for distances).
    rng : int or numpy.random.Generator, optional

    Returns
    -------
    labels : ndarray of uint16 (uint32 above 65,535 objects)
        Ids ``1..N`` in placement order; a mask that found no free position is left out.
    records : list of dict
        Per placed object: ``id``, ``mask`` (the index into `masks`), ``center`` (pixels),
        ``area`` (its full size in pixels, also beyond the border) and ``touching``
        (whether it was placed in contact).

    Examples
    --------
    >>> disc = np.hypot(*np.mgrid[-4:5, -4:5]) <= 4
    >>> labels, records = compose((64, 64), [disc] * 12, touching=0.5, rng=0)
    >>> int(labels.max()), labels.dtype.name, sum(r["touching"] for r in records) > 0
    (12, 'uint16', True)
    """
    shape = check.check_shape(shape)
    ndim = len(shape)
    check.check_number(touching, "touching", low=0, high=1)
    check.check_number(gap, "gap", low=1, integer=True)
    check.check_number(clustering, "clustering", low=0, high=1)
    check.check_number(min_distance, "min_distance", low=0)
    scale = np.ones(ndim) if scale is None else np.asarray(check.check_spacing(scale, ndim), float)
    masks = [np.asarray(m, bool) for m in masks]
    if any(m.ndim != ndim or not all(s % 2 for s in m.shape) or not m.any() for m in masks):
        raise InputError(f"masks must be non-empty {ndim}D boxes with odd sides, the object centred")
    region = region_mask(region, shape)
    rng = check.as_rng(rng)
    if cluster_distance is None:
        cluster_distance = float(np.mean([(m.sum() * np.prod(scale) / np.pi) ** 0.5 for m in masks])) if masks else 1.0
    check.check_number(cluster_distance, "cluster_distance", low=0, low_open=True)
    pad = np.max([np.asarray(m.shape) // 2 for m in masks], axis=0) if masks else np.zeros(ndim, int)
    inside = tuple(slice(p, p + s) for p, s in zip(pad, shape))
    occupied = np.zeros(np.add(shape, 2 * pad), bool)  # the image with a free margin: objects may be cut
    labels = np.zeros(occupied.shape, label_dtype(len(masks)))
    allowed = np.zeros(occupied.shape, bool)  # where a centre may lie
    allowed[inside] = True if region is None else region  # cleared around each centre with a min_distance
    if region is not None:
        occupied[...] = True
        occupied[inside] = ~region
    records = []
    for index, mask in enumerate(masks):
        # overlap, contact (one dilation) and the reach of an object placed apart, as kernels of one size
        grown = np.pad(mask, gap)
        reach = ndi.distance_transform_edt(~grown) < gap + 1
        kernels = [grown, ndi.binary_dilation(grown), reach]
        kernels = [kernel[(slice(None, None, -1),) * ndim].astype(np.float32) for kernel in kernels]
        placed = _place_one(mask, kernels, gap, occupied, allowed, touching, clustering, cluster_distance, scale, rng)
        if placed is None:
            continue
        corner, contact = placed
        box = tuple(slice(c, c + s) for c, s in zip(corner, mask.shape))
        occupied[box] |= mask
        labels[box][mask] = len(records) + 1
        centre = np.asarray(corner) + np.asarray(mask.shape) // 2
        if min_distance:
            _clear_around(allowed, centre, min_distance, scale)
        centre = centre - pad
        records.append(
            {
                "id": len(records) + 1,
                "mask": index,
                "center": [int(c) for c in centre],
                "area": int(mask.sum()),
                "touching": contact,
            }
        )
    return labels[inside], records


def _place_one(mask, kernels, margin, occupied, allowed, touching, clustering, cluster_distance, scale, rng):
    """The corner of a free position for `mask` and whether it touches an object, or None."""
    size = np.asarray(mask.shape)
    side = np.minimum(occupied.shape, np.maximum(WINDOW, WINDOW_SIZES * size))
    for _ in range(ATTEMPTS):
        origin = rng.integers(0, np.asarray(occupied.shape) - side + 1)
        window = tuple(slice(o, o + s) for o, s in zip(origin, side))
        seen = occupied[window]
        centres = tuple(slice(h, h + s - m + 1) for h, s, m in zip(size // 2, side, size))
        ok = allowed[window][centres]
        if not seen.any():
            free, contact, apart = ok, np.zeros_like(ok), ok
        else:
            area = np.pad(seen, margin).astype(np.float32)  # beyond the window counts as free
            free, contact, apart = (ok & (fftconvolve(area, kernel, mode="valid") < 0.5) for kernel in kernels)
            contact = free & ~contact  # free of overlap, but within one pixel of an object
        wants_contact = rng.random() < touching
        choices = contact if (wants_contact and contact.any()) or not apart.any() else apart
        if not choices.any():
            continue
        positions = np.flatnonzero(choices)
        weights = None
        if choices is apart and clustering and seen.any():
            distance = ndi.distance_transform_edt(~seen, sampling=scale)[centres].ravel()[positions]
            weights = 1 - clustering + clustering * np.exp(-distance / cluster_distance)
            weights /= weights.sum()
        chosen = np.unravel_index(rng.choice(positions, p=weights), choices.shape)
        return tuple(int(o + c) for o, c in zip(origin, chosen)), bool(choices is contact)
    return None


def _clear_around(allowed, centre, distance, scale):
    """Clear the pixels of `allowed` closer than `distance` to the pixel `centre` (pixel sizes `scale`)."""
    reach = np.floor(distance / scale).astype(int)
    low = np.maximum(centre - reach, 0)
    high = np.minimum(centre + reach + 1, allowed.shape)
    offsets = np.ogrid[tuple(slice(a - c, b - c) for a, b, c in zip(low, high, centre))]
    squared = sum((offset * s) ** 2 for offset, s in zip(offsets, scale))
    allowed[tuple(slice(a, b) for a, b in zip(low, high))] &= squared >= distance**2
