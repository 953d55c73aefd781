"""Sequential placement of star-convex objects with bounded overlap, in 2D and 3D.

Objects are placed one at a time at random centres. A candidate is rejected when its
centre lies inside an object already placed, when it is closer than `min_distance` to
another centre, when more than `max_overlap` of its own area (or of any object it
touches) is shared, or when the part of it left visible would fall apart. Occlusion
order: an object placed earlier lies on top, so every object keeps at least
``1 - max_overlap`` of its area visible in the label image.

A placement may also be a group (e.g. the two daughters of a dividing nucleus): every
member is checked by the same rules, against the objects already placed and the members
before it (except `min_distance` between members), and the group is placed whole or not
at all.
"""

import numpy as np
from scipy import ndimage as ndi

from synthscope.errors import InputError
from synthscope.phantoms.shapes import star_mask

ATTEMPTS_PER_OBJECT = 60


def label_dtype(count):
    """uint16 labels, or uint32 above 65,535 objects (see docs/architecture.md)."""
    return np.uint16 if count <= np.iinfo(np.uint16).max else np.uint32


def region_mask(region, shape):
    """Return the boolean region objects must lie in, or None for the whole image.

    `region` is None, ``"ellipsoid"`` (an ellipse/ellipsoid filling 90% of every axis, like
    an embryo) or a boolean array of `shape`.

    Examples
    --------
    >>> round(float(region_mask("ellipsoid", (20, 40)).mean()), 2)
    0.64
    """
    if region is None:
        return None
    if isinstance(region, str):
        if region != "ellipsoid":
            raise InputError(f"region must be None, 'ellipsoid' or a boolean array; got {region!r}")
        grids = np.ogrid[tuple(slice(0, s) for s in shape)]
        return sum(((g + 0.5 - s / 2) / (0.45 * s)) ** 2 for g, s in zip(grids, shape)) <= 1
    region = np.asarray(region)
    if region.shape != tuple(shape) or region.dtype != bool or not region.any():
        raise InputError(
            f"region must be a non-empty boolean array of shape {tuple(shape)}, got {region.dtype} {region.shape}"
        )
    return region


def propose_centres(shape, *, clusters, cluster_spread, scale, rng):
    """Return a function ``propose() -> centre`` drawing uniformly or around cluster centres."""
    shape = np.asarray(shape, float)
    if clusters == 0:  # the numbers of rng.uniform(0, shape), drawn with less overhead
        return lambda: rng.random(shape.size) * shape
    seeds = rng.uniform(0, shape, size=(clusters, shape.size))
    spread = cluster_spread / np.asarray(scale, float)
    top = shape - 1e-6

    def around_a_cluster():  # np.clip(seeds[i] + rng.normal(0, spread), 0, top) with less overhead
        return np.minimum(np.maximum(seeds[rng.integers(clusters)] + spread * rng.standard_normal(shape.size), 0), top)

    return around_a_cluster


def place(
    shape,
    count,
    draw,
    *,
    max_overlap,
    min_distance=0.0,
    region=None,
    propose,
    scale,
    rng,
    what="objects",
    sizes=None,
    strict=True,
):
    """Place `count` objects drawn by ``draw(centre, rng) -> (Star, record)``.

    Parameters
    ----------
    sizes : sequence of int, optional
        The number of objects of every placement, in order, summing to `count` (e.g. 2 for
        a pair). `draw` is then called as ``draw(centre, rng, i)`` with the placement's index
        ``i`` (the same until it succeeds) and returns a list of ``sizes[i]``
        ``(Star, record)``; None places one object at a time.
    strict : bool, optional
        Whether fewer than `count` objects is an error; otherwise as many as fit are
        placed (`count` is a target, as a density is).

    Returns ``(labels, stars, records)``: labels ``1..count`` in placement order (members of
    a group consecutive), the placed shapes, and their records (dicts from `draw`) with
    ``"id"``, ``"center"``, ``"radius"`` and ``"area"`` (the full, unoccluded size in pixels
    inside the image) added.

    Raises
    ------
    InputError
        ``cannot place N objects: only M fit ...`` when `strict` and `count` cannot be reached.

    Examples
    --------
    >>> from synthscope.phantoms.shapes import random_star
    >>> rng = np.random.default_rng(0)
    >>> draw = lambda c, rng: (random_star(c, 5, roughness=0.05, elongation=1.2, rng=rng), {})
    >>> propose = propose_centres((64, 64), clusters=0, cluster_spread=0, scale=(1, 1), rng=rng)
    >>> labels, stars, records = place((64, 64), 10, draw, max_overlap=0.1, propose=propose, scale=(1, 1), rng=rng)
    >>> int(labels.max()), len(stars)
    (10, 10)
    """
    if sizes is not None and sum(sizes) != count:
        raise ValueError(f"sizes must sum to count={count}, got {sum(sizes)}")
    labels = np.zeros(shape, label_dtype(count))
    stars, records, areas, centres = [], [], [], np.empty((0, len(shape)))
    scale = np.asarray(scale, float)
    placements = 0

    crowded = _Crowded(shape, min_distance, scale)

    def free(centre):
        """Whether `centre` (in the image) lies in the region, off every object and far enough from the others."""
        index = tuple(centre.astype(int))
        if labels[index] or crowded.near[index]:
            return False
        if region is not None and not region[index]:
            return False
        return not (min_distance and len(centres) and crowded.distance(centres, centre) < min_distance)

    for _ in range(ATTEMPTS_PER_OBJECT * count):
        if len(stars) == count:
            break
        centre = propose()
        if not free(centre):
            continue
        group = [draw(centre, rng)] if sizes is None else draw(centre, rng, placements)
        placed = []  # (slices, visible) of the members written so far
        for star, record in group:
            slices, mask = star_mask(star, shape, scale=scale)
            visible = None
            if len(group) == 1 or (np.all((star.center >= 0) & (star.center < shape)) and free(star.center)):
                visible = _visible_part(labels[slices], mask, region, slices, max_overlap, areas)
            if visible is None:
                for slices, visible in placed:  # undo: the members took only empty pixels
                    labels[slices][visible] = 0
                del stars[len(stars) - len(placed) :], records[len(records) - len(placed) :]
                del areas[len(areas) - len(placed) :]
                break
            labels[slices][visible] = len(stars) + 1
            placed.append((slices, visible))
            stars.append(star)
            areas.append(int(mask.sum()))
            center = [round(float(c), 2) for c in star.center]
            records.append(
                {"id": len(stars), "center": center, "radius": round(star.radius, 3), "area": areas[-1], **record}
            )
        else:
            placements += 1
            centres = np.vstack([centres, *(member.center for member, _ in group)])
            for member, _ in group:
                crowded.add(member.center)
    if strict and len(stars) < count:
        raise InputError(
            f"cannot place {count} {what}: only {len(stars)} fit with max_overlap={max_overlap:g} and "
            f"min_distance={min_distance:g}; lower the count or density, or the radius"
        )
    return labels, stars, records


def _visible_part(under, mask, region, slices, max_overlap, areas):
    """The pixels a candidate would show, or None when it breaks an overlap rule."""
    area = mask.sum()
    if area < 4 or (region is not None and region[slices][mask].mean() < 0.95):
        return None
    shared = under[mask]
    shared = shared[shared > 0]
    if shared.size > max_overlap * area:
        return None
    visible = mask & (under == 0)
    if shared.size:
        ids, counts = np.unique(shared, return_counts=True)
        if np.any(counts > max_overlap * np.asarray(areas)[ids - 1]) or ndi.label(visible)[1] != 1:
            return None
    return visible


class _Crowded:
    """The pixels in which every point lies closer than `min_distance` to a placed centre.

    A proposal there is refused without measuring its distances; elsewhere the exact
    distance decides, so that the placement is the same as with distances alone.
    """

    def __init__(self, shape, min_distance, scale):
        self.near = np.zeros(shape, bool)
        self.min_distance, self.scale = min_distance, scale
        self.reach = np.floor(min_distance / scale).astype(int) + 1  # pixels from a centre's own pixel

    def add(self, centre):
        """Mark the pixels wholly within `min_distance` of `centre`."""
        if not self.min_distance:
            return
        corner = np.floor(centre).astype(int)
        lo = np.maximum(corner - self.reach, 0)
        hi = np.minimum(corner + self.reach + 1, self.near.shape)
        if np.any(hi <= lo):
            return
        # the farthest point of pixel [i, i + 1) along an axis, from the centre, in lengths of the last axis
        far = [
            (np.maximum(np.abs(i - c), np.abs(i + 1 - c)) * s) ** 2
            for i, c, s in zip((np.arange(a, b) for a, b in zip(lo, hi)), centre, self.scale)
        ]
        squared = sum(np.ix_(*far)) if len(far) > 1 else far[0]
        box = tuple(slice(a, b) for a, b in zip(lo, hi))
        self.near[box] |= squared < self.min_distance**2 * (1 - 1e-9)  # a margin against rounding

    def distance(self, centres, centre):
        """The least distance from `centre` to `centres` in lengths of the last axis, as ``np.linalg.norm`` gives it."""
        offset = (centres - centre) * self.scale
        return np.sqrt(np.min(np.sum(offset * offset, axis=1)))
