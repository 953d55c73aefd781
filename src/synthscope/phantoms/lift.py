"""2D masks lifted to 3D shapes by the shape model of `synthscope.shape3d`.

A generator that draws the mid-plane section of each object in 2D (the mask model of
`synthscope.phantoms.learned`) gets its 3D shape here: the shape model predicts the object's
3D mask from the section (its mask, and the mask smoothed by a Gaussian of one pixel as the
image: no image exists yet when phantoms are drawn), at the item's voxel size.
``benchmarks/learned_3d.py`` measures it against real 3D nuclei.
"""

import functools
from collections.abc import Sequence

import numpy as np
from scipy import ndimage

from synthscope import checks as check
from synthscope.errors import InputError

#: Pixels of background kept around each section, so that the shape model sees all of its edge.
MARGIN = 4


def lift_masks(
    masks: Sequence[np.ndarray],
    *,
    z_ratio: float,
    model="shape3d-nuclei",
    ensemble: int = 1,
    steps: int = 20,
    rng: check.Rng = None,
) -> list[np.ndarray]:
    """Return the 3D shape of each 2D mask, which is its mid-plane section.

    Parameters
    ----------
    masks : sequence of ndarray of bool
        2D boxes, each one object centred at its middle pixel (as
        `synthscope.phantoms.mask_crops.decode` draws them).
    z_ratio : float
        The z spacing over the in-plane pixel size of the volume the shapes go into.
    model : str, path or Denoiser
        The shape model (`synthscope.shape3d.predict`).
    ensemble : int
        Shapes drawn per object; their most probable voxels are kept.
    steps : int
        Network evaluations per shape.
    rng : int or numpy.random.Generator, optional

    Returns
    -------
    list of ndarray of bool
        ``(Z, Y, X)`` boxes with the masks' ``(Y, X)`` sides and odd ``Z``, each object's
        centre at the middle plane.

    Examples
    --------
    >>> import dataclasses
    >>> from synthscope.diffusion import Denoiser
    >>> from synthscope.shape3d.model import SHAPE_MODEL
    >>> net = Denoiser(dataclasses.replace(SHAPE_MODEL, channels=(8, 8, 8), patch_size=(16, 16, 16))).eval()
    >>> yy, xx = np.mgrid[-7:8, -7:8]
    >>> [box] = lift_masks([np.hypot(yy, xx) <= 6], z_ratio=2.0, model=net, steps=2, rng=0)
    >>> box.shape[1:], box.shape[0] % 2
    ((15, 15), 1)
    """
    from synthscope.shape3d import predict

    check.check_number(z_ratio, "z_ratio", low=0, low_open=True)
    rng = check.as_rng(rng)
    model = _load(model) if isinstance(model, str) else model
    boxes = []
    for mask in masks:
        mask = np.asarray(mask, bool)
        if mask.ndim != 2 or not mask.any():
            raise InputError(f"lift_masks: expected non-empty 2D masks, got shape {mask.shape}")
        padded = np.pad(mask, MARGIN).astype(np.uint8)
        picture = ndimage.gaussian_filter(padded.astype(np.float32), 1.0)
        seed = int(rng.integers(2**31))
        options = {"ensemble": ensemble, "steps": steps, "spacing": (z_ratio, 1, 1), "rng": seed}
        shape = predict(picture, padded, model=model, **options).labels[:, MARGIN:-MARGIN, MARGIN:-MARGIN] > 0
        boxes.append(_centred_planes(shape))
    return boxes


def _centred_planes(volume):
    """The planes of `volume` within the reach of its object from the middle plane, an odd number."""
    middle = volume.shape[0] // 2
    filled = np.flatnonzero(volume.any(axis=(1, 2)))
    reach = int(np.max(np.abs(filled - middle))) if len(filled) else 0
    return volume[middle - reach : middle + reach + 1]


@functools.lru_cache(maxsize=2)
def _load(name):
    """The shape model `name`, loaded once per process."""
    from synthscope.shape3d.model import load_shape_model

    return load_shape_model(name)
