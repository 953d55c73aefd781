"""Tubule masks fitted to a refined image: GrabCut per tubule, or the seeded watershed.

The cilia paper re-fits each tubule mask to its refined image by GrabCut; `fit_tubules`
offers that (``method="grabcut"``) beside the seeded watershed of `update_labels`
(``method="watershed"``), so the two can be compared on items whose true edges are known
(``benchmarks/cilia.py``). Either way every tubule keeps its id and may move its edge at
most `band` pixels. The watershed measured better, and is the annotation update of the
cilia presets (``refine.update: tubules``): `update_tubules` returns it with the report
`update_labels` gives, and `follow_tubules` brings the classes and named masks of a cilia
item into agreement with the fitted tubules.

A tubule in TEM is a dark wall around a lighter lumen. Both methods would stop at the
wall's inner edge (the lumen looks like the matrix around the tubule), so each lumen is
first filled to the level of its wall: within a box around each tubule, the image is
reconstructed by dilation from the box's border, which lowers every light region that
darker walls enclose (`skimage.morphology.reconstruction`). Only the outer edge is left.
"""

import cv2
import numpy as np
from scipy import ndimage as ndi
from skimage.morphology import reconstruction

from synthscope.annotate.update import _seeds, update_labels
from synthscope.checks import check_choice, check_number
from synthscope.errors import InputError

#: The ways `fit_tubules` fits the masks.
METHODS = ("watershed", "grabcut")
#: Pixels beyond a tubule (and the band) that its box takes in: room for the matrix around it.
REACH = 6
#: The masks of a cilia item (`synthscope.phantoms.cilia`) that never lie on a tubule.
OFF_TUBULES = ("outer_arms", "inner_arms", "spokes")


def fit_tubules(image, labels, *, method="watershed", band=2, iterations=3):
    """Return `labels` with every tubule's mask fitted to `image`, ids kept.

    The lumens are filled first (see the module notes). ``"watershed"`` is then
    `update_labels` (a watershed on the smoothed gradient from each mask's core).
    ``"grabcut"`` runs OpenCV's GrabCut on a box around each tubule in turn: pixels
    deeper than `band` inside the mask are certainly the tubule, the rest of the mask
    probably, the `band` pixels around it probably not, everything farther (and every
    other tubule's core) certainly not; the result is the piece joined to the core, holes
    filled, painted only where no other tubule's core is.

    Parameters
    ----------
    image : ndarray
        The refined 2D image, float in [0, 1], tubules dark (TEM).
    labels : ndarray of int
        Tubule instance labels, 0 = background, same shape as `image`.
    method : {"watershed", "grabcut"}
    band : int
        How far (pixels) an edge may move, inwards or outwards.
    iterations : int
        GrabCut iterations per tubule.

    Returns
    -------
    ndarray
        The fitted labels, same dtype and ids as `labels`.

    Examples
    --------
    >>> image = np.full((40, 40), 0.6, np.float32)
    >>> yy, xx = np.ogrid[:40, :40]
    >>> image[(yy - 20) ** 2 + (xx - 21) ** 2 <= 64] = 0.2   # the tubule sits 1 px right of its mask
    >>> labels = ((yy - 20) ** 2 + (xx - 20) ** 2 <= 64).astype(np.uint16)
    >>> fitted = fit_tubules(image, labels, method="grabcut")
    >>> int(fitted[20, 28]), int(fitted[20, 12])
    (1, 0)
    """
    check_choice(method, "method", METHODS)
    check_number(iterations, "iterations", low=1, integer=True)
    if method == "watershed":
        return update_tubules(image, labels, band=band)[0]
    image, labels = _checked(image, labels, band)
    return _grabcut(lumens_filled(image, labels, reach=band + REACH), labels, band=band, iterations=iterations)


def update_tubules(image, labels, *, band=2):
    """Fit every tubule's mask to `image` by the seeded watershed, lumens filled; and report it.

    `update_labels` on the image whose lumens are filled (see the module notes): each
    tubule keeps its id, its edge moves at most `band` pixels, and a change that leaves
    it with IoU under 0.5 against its old mask, or in pieces, is refused. It is
    ``fit_tubules(method="watershed")`` with the report, the annotation update of
    ``refine.update: tubules``.

    Parameters
    ----------
    image : ndarray
        The refined 2D image, float in [0, 1], tubules dark (TEM).
    labels : ndarray of int
        Tubule instance labels, 0 = background, same shape as `image`.
    band : int
        How far (pixels) an edge may move, inwards or outwards.

    Returns
    -------
    updated : ndarray
        The fitted labels, same dtype and ids as `labels`.
    report : dict
        As `update_labels` gives it: ``{"iou": {id: IoU old vs new}, "refused": [ids], "mean_iou": float}``.

    Examples
    --------
    A tubule drawn as a dark wall around a light lumen, its mask 2 px left of it:

    >>> yy, xx = np.ogrid[:48, :48]
    >>> wall = np.abs(np.hypot(yy - 24, xx - 26) - 8) < 2
    >>> image = np.where(wall, 0.2, 0.6).astype(np.float32)
    >>> labels = (np.hypot(yy - 24, xx - 24) <= 10).astype(np.uint16)
    >>> updated, report = update_tubules(image, labels)
    >>> int(updated[24, 35]), int(updated[24, 14]), report["refused"]
    (1, 0, [])
    """
    image, labels = _checked(image, labels, band)
    return update_labels(lumens_filled(image, labels, reach=band + REACH), labels, band=band)


def follow_tubules(labels, *, drawn, classes, masks):
    """Return the `classes` and `masks` of a cilia item made to agree with its fitted tubule `labels`.

    Every tubule's pixels take the class it was drawn with (in `classes` under `drawn`),
    and a pixel no tubule holds any more loses its class; the arms and spokes
    (`OFF_TUBULES`), which never lie on a tubule, give up the pixels a tubule took, and
    ``"axoneme"`` (the hull of the tubules) takes them in. Other masks are kept as they are.

    Parameters
    ----------
    labels : ndarray of int
        The fitted tubule labels.
    drawn : ndarray of int
        The labels as drawn, ids as in `labels`; an id not drawn gets class 0.
    classes : ndarray of uint8 or None
        The drawn class of every pixel; None gives None.
    masks : dict of str to ndarray of bool

    Returns
    -------
    classes : ndarray of uint8 or None
    masks : dict of str to ndarray of bool

    Examples
    --------
    >>> drawn = np.zeros((1, 6), np.uint16); drawn[0, 1:3] = 1
    >>> fitted = np.roll(drawn, 1)
    >>> classes, masks = follow_tubules(fitted, drawn=drawn, classes=drawn * 2,
    ...                                 masks={"spokes": np.roll(drawn, 2) > 0, "axoneme": drawn > 0})
    >>> classes.tolist(), masks["spokes"].astype(int).tolist(), masks["axoneme"].astype(int).tolist()
    ([[0, 0, 2, 2, 0, 0]], [[0, 0, 0, 0, 1, 0]], [[0, 1, 1, 1, 0, 0]])
    """
    tubules = labels > 0
    masks = {name: mask & ~tubules if name in OFF_TUBULES else mask for name, mask in masks.items()}
    if "axoneme" in masks:
        masks["axoneme"] = masks["axoneme"] | tubules
    if classes is None:
        return None, masks
    kind = np.zeros(int(max(labels.max(), drawn.max())) + 1, classes.dtype)
    kind[drawn[drawn > 0]] = classes[drawn > 0]
    return kind[labels], masks


def _checked(image, labels, band):
    """`image` and `labels` as arrays, refused unless 2D of one shape, labels non-negative integers."""
    check_number(band, "band", low=1, integer=True)
    image, labels = np.asarray(image), np.asarray(labels)
    if image.ndim != 2 or image.shape != labels.shape:
        raise InputError(f"image and labels must be 2D of one shape, got {image.shape} and {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer) or (labels.size and labels.min() < 0):
        raise InputError("labels must be non-negative integers")
    return image, labels


def lumens_filled(image, labels, *, reach=REACH):
    """Return `image` with every light region enclosed by a tubule's dark wall lowered to the wall's level.

    Each tubule's box, widened by `reach` pixels, is reconstructed by dilation from its
    border; where boxes overlap the lower value is kept.

    Examples
    --------
    >>> yy, xx = np.ogrid[:21, :21]
    >>> ring = np.abs(np.hypot(yy - 10, xx - 10) - 6) < 1.5
    >>> image = np.where(ring, 0.2, 0.6).astype(np.float32)
    >>> labels = (np.hypot(yy - 10, xx - 10) < 7.5).astype(np.uint16)
    >>> filled = lumens_filled(image, labels)
    >>> float(filled[10, 10]), float(filled[0, 0])
    (0.2, 0.6)
    """
    filled = np.asarray(image, np.float32).copy()
    for box in ndi.find_objects(labels):
        if box is None:
            continue
        box = tuple(slice(max(s.start - reach, 0), s.stop + reach) for s in box)
        patch = filled[box]
        seed = np.full_like(patch, patch.min())
        seed[0, :], seed[-1, :], seed[:, 0], seed[:, -1] = patch[0, :], patch[-1, :], patch[:, 0], patch[:, -1]
        filled[box] = np.minimum(patch, reconstruction(seed, patch, method="dilation"))
    return filled


def _grabcut(image, labels, *, band, iterations):
    gray = np.clip(np.round(np.asarray(image, np.float32) * 255), 0, 255).astype(np.uint8)
    colour = np.repeat(gray[..., None], 3, axis=2)  # GrabCut's colour models take three channels
    cores = _seeds(labels, band=band)  # the cores the watershed starts from too
    fitted = np.where(cores > 0, cores, 0).astype(labels.dtype)
    reach = band + REACH  # room for GrabCut's model of the background
    for index, box in enumerate(ndi.find_objects(labels), start=1):
        if box is None:
            continue
        box = tuple(slice(max(s.start - reach, 0), s.stop + reach) for s in box)
        own = labels[box] == index
        near = ndi.binary_dilation(own, iterations=band)
        trimap = np.full(own.shape, cv2.GC_BGD, np.uint8)
        trimap[near] = cv2.GC_PR_BGD
        trimap[own] = cv2.GC_PR_FGD
        trimap[cores[box] == index] = cv2.GC_FGD
        trimap[(cores[box] > 0) & (cores[box] != index)] = cv2.GC_BGD
        models = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
        cv2.grabCut(np.ascontiguousarray(colour[box]), trimap, None, *models, iterations, cv2.GC_INIT_WITH_MASK)
        found = (trimap == cv2.GC_FGD) | (trimap == cv2.GC_PR_FGD)
        pieces, _ = ndi.label(found)
        found = ndi.binary_fill_holes(np.isin(pieces, np.unique(pieces[cores[box] == index])))
        region = fitted[box]
        region[found & (region == 0)] = index
    return fitted
