"""Nuclei: star-convex blobs, densely packed, in 2D or 3D."""

import numpy as np

from synthscope.errors import InputError
from synthscope.item import Item
from synthscope.phantoms import _check as check
from synthscope.phantoms.placement import place, propose_centres, region_mask
from synthscope.phantoms.shapes import random_star

MITOTIC_SIZE = 0.6  # mitotic nuclei: condensed chromatin, smaller and brighter


def check_nuclei(shape, *, count=None, density=None, radius=(7.5, 14.0), roughness=0.08, elongation=(1.0, 1.5),
                 mitotic_fraction=0.05, brightness=(0.35, 0.8), min_distance=0.0, max_overlap=0.1, clusters=0,
                 cluster_spread=40.0, region=None, spacing=None):
    """Check the parameters of `nuclei` and return them normalised (a dict); see `nuclei`."""
    shape = check.check_shape(shape)
    p = dict(
        shape=shape,
        radius=check.check_range(radius, "radius", low=1, high=min(shape) * 4),
        roughness=check.check_number(roughness, "roughness", low=0, high=0.3),
        elongation=check.check_range(elongation, "elongation", low=1, high=4),
        mitotic_fraction=check.check_number(mitotic_fraction, "mitotic_fraction", low=0, high=1),
        brightness=check.check_range(brightness, "brightness", low=0, high=1),
        min_distance=check.check_number(min_distance, "min_distance", low=0, high=max(shape)),
        max_overlap=check.check_number(max_overlap, "max_overlap", low=0, high=0.5),
        clusters=check.check_number(clusters, "clusters", low=0, high=1000, integer=True),
        cluster_spread=check.check_number(cluster_spread, "cluster_spread", low=0, low_open=True),
        spacing=check.check_spacing(spacing, len(shape)),
    )
    p["scale"] = tuple(s / p["spacing"][-1] for s in p["spacing"])
    region = region_mask(region, shape)
    space = region.sum() if region is not None else np.prod(shape)
    unit = (np.pi if len(shape) == 2 else 4 / 3 * np.pi) / np.prod(p["scale"])
    mean_size = unit * np.mean(np.linspace(*p["radius"], 5) ** len(shape))
    if (count is None) == (density is None):
        if count is not None:
            raise InputError("count and density are alternatives: give one, not both")
        density = 0.35
    if density is not None:
        density = check.check_number(density, "density", low=0, high=0.6, low_open=True)
        count = max(1, round(density * space / mean_size))
    count = check.check_number(count, "count", low=1, high=65535, integer=True)
    smallest = unit * (p["radius"][0] * (MITOTIC_SIZE if p["mitotic_fraction"] else 1)) ** len(shape)
    fit = int(0.6 * space / (smallest * (1 - p["max_overlap"])))  # random packing stops near 55% cover
    if count > fit:
        raise InputError(f"cannot place {count} nuclei: at most about {fit} fit in shape {shape} with radius {radius}")
    return dict(p, count=count, region=region)


def nuclei(shape, *, count=None, density=None, radius=(7.5, 14.0), roughness=0.08, elongation=(1.0, 1.5),
           mitotic_fraction=0.05, brightness=(0.35, 0.8), min_distance=0.0, max_overlap=0.1, clusters=0,
           cluster_spread=40.0, region=None, spacing=None, rng=None):
    """Return an `Item` of densely packed nuclei: instance labels and per-nucleus metadata.

    Nuclei are star-convex blobs (`synthscope.phantoms.shapes`) of random size, boundary,
    elongation and orientation; a fraction are mitotic (smaller, brighter, more elongated).
    They are placed as described in `synthscope.phantoms.placement`: touching is allowed
    and at most `max_overlap` of any nucleus lies under another (earlier nuclei on top).

    Parameters
    ----------
    shape : sequence of int
        ``(Y, X)`` or ``(Z, Y, X)``.
    count : int, optional
        Number of nuclei. Give `count` or `density`; with neither, ``density=0.35``.
    density : float, optional
        Fraction of the image (or `region`) to cover, in (0, 0.6].
    radius : float or (float, float)
        Equivalent radius range in pixels of the last axis, drawn uniformly.
    roughness : float
        Amplitude of the boundary's random variation, in [0, 0.3].
    elongation : float or (float, float)
        Longest-to-other semi-axis ratio range, in [1, 4].
    mitotic_fraction : float
        Fraction of nuclei drawn as mitotic: radius x0.6, brightness 0.95.
    brightness : float or (float, float)
        Range of the sketch intensity of interphase nuclei, read by `render`.
    min_distance : float
        Least distance between centres (pixels of the last axis).
    max_overlap : float
        Largest fraction of a nucleus that may be shared with others, in [0, 0.5].
    clusters : int
        0 places nuclei uniformly; otherwise around this many random cluster centres.
    cluster_spread : float
        Standard deviation of the distance to a cluster centre (pixels).
    region : None, "ellipsoid" or ndarray of bool
        Where centres may lie (an ellipsoid is like an embryo).
    spacing : None, float, sequence or dict
        Physical pixel size per spatial axis (um). Lengths stay in pixels of the last axis;
        a z spacing twice the x spacing makes nuclei half as many slices tall.
    rng : int or numpy.random.Generator, optional

    Returns
    -------
    Item
        ``labels`` (uint16, ids 1..count in placement order), ``spacing`` and
        ``metadata["objects"]``: id, center, radius, elongation, area (unoccluded, pixels),
        brightness and mitotic of every nucleus.

    Raises
    ------
    InputError
        Before any work for a parameter out of range or a count that cannot fit; after
        placement, naming how many fitted, when the count was not reached.

    Examples
    --------
    >>> item = nuclei((64, 64), count=8, radius=6, rng=0)
    >>> item.axes, int(item.labels.max()), len(item.metadata["objects"])
    ('YX', 8, 8)
    >>> nuclei((16, 32, 32), count=3, radius=5, spacing=(2, 1, 1), rng=0).labels.shape
    (16, 32, 32)
    """
    p = check_nuclei(shape, count=count, density=density, radius=radius, roughness=roughness, elongation=elongation,
                     mitotic_fraction=mitotic_fraction, brightness=brightness, min_distance=min_distance,
                     max_overlap=max_overlap, clusters=clusters, cluster_spread=cluster_spread, region=region,
                     spacing=spacing)
    rng = check.as_rng(rng)
    shape = p["shape"]
    propose = propose_centres(shape, clusters=p["clusters"], cluster_spread=p["cluster_spread"], scale=p["scale"],
                              rng=rng)
    labels, _, records = place(shape, p["count"], lambda c, rng: draw_nucleus(c, p, rng), max_overlap=p["max_overlap"],
                               min_distance=p["min_distance"], region=p["region"], propose=propose, scale=p["scale"],
                               rng=rng, what="nuclei")
    return Item(labels=labels, axes="ZYX"[-len(shape):], spacing=check.spacing_dict(p["spacing"], "ZYX"[-len(shape):]),
                metadata={"generator": "nuclei", "objects": records})


def draw_nucleus(centre, p, rng):
    """Draw one nucleus at `centre` with parameters `p` (from `check_nuclei`): ``(Star, record)``."""
    mitotic = bool(rng.random() < p["mitotic_fraction"])
    radius = rng.uniform(*p["radius"]) * (MITOTIC_SIZE if mitotic else 1)
    elongation = rng.uniform(*p["elongation"])
    if mitotic:
        elongation = max(elongation, rng.uniform(1.3, 2.0))
    star = random_star(centre, radius, roughness=p["roughness"], elongation=elongation, rng=rng)
    brightness = 0.95 if mitotic else rng.uniform(*p["brightness"])
    return star, {"elongation": round(elongation, 3), "brightness": round(brightness, 3), "mitotic": mitotic}

