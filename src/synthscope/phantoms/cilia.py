"""Cilia cross-sections (TEM): the 9+2 axoneme with dynein arms and spokes, and its defects.

Geometry is laid out in a canonical frame (pixels of a 512x512 image at ``scale=1``:
membrane radius `MEMBRANE`, doublet ring radius `RING`, tubule radius `TUBULE`) and mapped
into the image by an affine transform per cilium (rotation, scale and the stretch of an
oblique cut), so every shape is rasterised exactly where it lands.
"""

import dataclasses
from collections.abc import Sequence

import cv2
import numpy as np
from scipy.spatial import ConvexHull

from synthscope import checks as check
from synthscope.errors import InputError
from synthscope.item import Item
from synthscope.phantoms.cilia_rules import axoneme_ranges, draw_axoneme
from synthscope.phantoms.recipe import Recipe, number, pair

MEMBRANE, RING, TUBULE, CENTRAL, SPOKE_HEAD = 100.0, 72.0, 10.5, 10.0, 36.0
CLASS_NAMES = {1: "A", 2: "B", 3: "central"}
MASKS = ("membrane", "axoneme", "outer_arms", "inner_arms", "spokes")
# Shapes in a doublet's frame, (along u = outwards, along v = towards its B tubule), from its centre.
A_AT, B_AT = np.array([-2.0, -5.0]), np.array([3.0, 9.0])
OUTER_ARM = ([2, -14], [8, -23], [3, -29])  # hooks towards the next doublet's B tubule
INNER_ARM = ([-6, -13], [-9, -21], [-14, -23])
ARM_WIDTH, SPOKE_WIDTH = 3.5, 3.0


@dataclasses.dataclass(frozen=True, kw_only=True)
class CiliaRecipe(Recipe):
    """The parameters of `cilia`: the diagnostic class, and the size, cut and number of the cilia.

    Parameters
    ----------
    rule : str
        Diagnostic class, one of `synthscope.phantoms.cilia_rules.rule_names`.
    axoneme : dict, optional
        Changes to the rule's axoneme, keys of `synthscope.phantoms.cilia_rules.AXONEME`.
    scale, ellipticity : float or (float, float)
        Size relative to the default, and the long-to-short axis ratio of an oblique cut.
    neighbours : int or (int, int)
        Extra cilia of the same class around the first, never overlapping it; as many
        as fit (recorded in the metadata).
    crop : float
        Largest fraction of the first cilium's diameter that may lie outside the image.

    Examples
    --------
    >>> CiliaRecipe(rule="oda-absent").resolve()["ranges"]["outer_arms"]
    (0.0, 0.0)
    >>> CiliaRecipe(scale=3).resolve((512, 512))
    Traceback (most recent call last):
    ...
    synthscope.errors.InputError: scale: a cilium up to 750 pixels across does not fit in shape (512, 512) ...
    """

    rule: str = "normal"
    axoneme: dict | None = None
    scale: float | tuple[float, float] = pair((0.9, 1.1), low=0.05, high=4, low_open=True)
    ellipticity: float | tuple[float, float] = pair((1.0, 1.25), low=1, high=3)
    neighbours: int | tuple[int, int] = pair((0, 0), low=0, high=8, integer=True)
    crop: float = number(0.0, low=0, high=0.5)

    def __post_init__(self):
        super().__post_init__()
        axoneme_ranges(self.rule, self.axoneme)  # checks the rule and the changes to its axoneme
        self._store(axoneme=None if self.axoneme is None else dict(self.axoneme))

    def resolve(self, shape: Sequence[int] = (512, 512), spacing: check.Spacing = None) -> dict:
        """Check the recipe against the image and return what the drawing code reads (a dict).

        That is the fields, ``shape``, ``spacing`` and ``ranges`` (of the axoneme's keys, from
        `synthscope.phantoms.cilia_rules.axoneme_ranges`).

        Raises
        ------
        InputError
            For a bad shape or spacing, or a cilium too large for the shape.
        """
        p = dict(
            self.to_dict(),
            shape=check.check_shape(shape, ndims=(2,), minimum=32),
            spacing=check.check_spacing(spacing, 2),
            ranges=axoneme_ranges(self.rule, self.axoneme),
        )
        extent = MEMBRANE * p["scale"][1] * p["ellipticity"][1]
        if 2 * extent * (1 - 2 * p["crop"]) > min(p["shape"]):
            most = min(p["shape"]) / (2 * MEMBRANE * p["ellipticity"][1] * (1 - 2 * p["crop"]))
            raise InputError(
                f"scale: a cilium up to {2 * extent:.0f} pixels across does not fit in shape "
                f"{p['shape']} with crop={p['crop']:g}; keep scale at most {most:.2f} or raise crop"
            )
        return p


def cilia(
    shape: Sequence[int] = (512, 512),
    recipe: CiliaRecipe | None = None,
    *,
    spacing: check.Spacing = None,
    rng: check.Rng = None,
    **params,
) -> Item:
    """Return an `Item` of a cilium cross-section (and up to a few neighbours) following `rule`.

    Parameters
    ----------
    shape : (int, int)
        Image shape; the default cilium (``scale=1``) is 200 pixels across.
    recipe, **params
        The parameters: a `CiliaRecipe` (which documents each; by default every default)
        and fields of it as keywords, which replace its own.
    spacing : None, float, sequence or dict
        Physical pixel size (um), recorded in the item (1.2 nm suits the default size).
    rng : int or numpy.random.Generator, optional

    Returns
    -------
    Item
        ``labels``: one id per tubule; ``classes`` with ``class_names`` {1: "A", 2: "B",
        3: "central"}; ``masks``: "membrane" (filled cilia), "axoneme" (hull of the tubules),
        "outer_arms", "inner_arms", "spokes" (bool, never on a tubule);
        ``metadata["diagnostic_class"]`` and ``metadata["cilia"]`` (centre, rotation, scale,
        ellipticity and the drawn axoneme of each cilium).

    Examples
    --------
    >>> item = cilia(rng=0)
    >>> int(item.labels.max()), int((item.classes == 1).any())
    (20, 1)
    >>> cilia(rule="oda-absent", rng=0).masks["outer_arms"].any()
    np.False_
    """
    p = CiliaRecipe.of(recipe, **params).resolve(shape, spacing)
    shape, neighbours = p["shape"], p["neighbours"]
    rng = check.as_rng(rng)
    canvas = {"labels": np.zeros(shape, np.uint16), "classes": np.zeros(shape, np.uint8)}
    canvas.update({name: np.zeros(shape, bool) for name in MASKS})
    records = []
    for n in range(1 + int(rng.integers(neighbours[0], neighbours[1] + 1))):
        rotation, matrix = _transform(rng, p["scale"], p["ellipticity"])
        centre = _first_centre(matrix, shape, p["crop"], rng) if n == 0 else _free_centre(canvas, matrix, rng)
        if centre is not None:
            record = _draw(canvas, (centre, matrix), draw_axoneme(p["ranges"], rng), rng)
            records.append(
                {"center": [round(float(c), 2) for c in centre], "rotation": round(float(rotation), 4), **record}
            )
    return Item(
        labels=canvas["labels"],
        axes="YX",
        classes=canvas["classes"],
        class_names=dict(CLASS_NAMES),
        masks={name: canvas[name] for name in MASKS},
        spacing=check.spacing_dict(p["spacing"], "YX"),
        metadata={"generator": "cilia", "diagnostic_class": p["rule"], "cilia": records},
    )


def _first_centre(matrix, shape, crop, rng):
    """Centre of the first cilium: inside the image but for at most `crop` of its diameter."""
    margin = MEMBRANE * np.abs(matrix).sum(axis=1) * (1 - 2 * crop)
    half = np.asarray(shape) / 2
    return rng.uniform(np.minimum(margin, half), np.maximum(shape - margin, half))


def _free_centre(canvas, matrix, rng, tries=50):
    """Centre of a neighbour that keeps clear of the cilia drawn so far, or None."""
    shape = canvas["membrane"].shape
    for _ in range(tries):
        centre = rng.uniform(0, shape)
        slices, q = _canonical((centre, matrix), (0, 0), MEMBRANE + 6, shape)
        if not canvas["membrane"][slices][_disc(q, (0, 0), MEMBRANE + 6)].any():
            return centre
    return None


def _transform(rng, scale, ellipticity):
    """``(rotation, matrix)``: canonical -> image, rotation then the stretch of an oblique cut."""

    def turn(a):
        return np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])

    rotation, stretch_at = rng.uniform(0, 2 * np.pi, 2)
    s, e = rng.uniform(*scale), rng.uniform(*ellipticity)
    return rotation, s * turn(stretch_at) @ np.diag([e, 1.0]) @ turn(-stretch_at) @ turn(rotation)


def _layout(ax, rng):
    """Tubules ``(centre, radius, class, cut_by)`` and arm/spoke polylines of one axoneme."""
    tubules, parts = [], {"outer_arms": [], "inner_arms": [], "spokes": []}
    offset = ax["central_offset"] * RING * _unit(rng.uniform(0, 2 * np.pi))
    first = rng.uniform(0, 2 * np.pi)
    spread = 13.0 if ax["central"] == 2 else 17.0
    angles = first + 2 * np.pi * np.arange(ax["central"]) / max(ax["central"], 1)
    for k in range(ax["central"]):
        tubules.append((offset + (spread * _unit(angles[k]) if ax["central"] > 1 else 0), CENTRAL, 3, None))
    slots = 9 if ax["gap"] else ax["doublets"]
    angles = rng.uniform(0, 2 * np.pi) + 2 * np.pi * np.arange(ax["doublets"]) / slots
    frames = [(RING * _unit(a), a) for a in angles] + [(np.zeros(2), rng.uniform(0, 2 * np.pi))] * ax["transposed"]
    singlets = set(rng.choice(ax["doublets"], ax["singlets"], replace=False).tolist())
    chosen = {
        name: set(rng.choice(ax["doublets"], round(ax[name] * ax["doublets"]), replace=False).tolist())
        for name in parts
    }
    for k, (position, angle) in enumerate(frames):
        ring = k < ax["doublets"]
        position, u, v = _place_doublet(position, angle, ax["disarray"] if ring else 0.0, tubules, rng)
        a = position + A_AT[0] * u + A_AT[1] * v
        tubules.append((a, TUBULE, 1, None))
        if k not in singlets:
            tubules.append((position + B_AT[0] * u + B_AT[1] * v, TUBULE, 2, (a, TUBULE)))
        if not ring:
            continue
        for name, shape in (("outer_arms", OUTER_ARM), ("inner_arms", INNER_ARM)):
            if k in chosen[name]:
                parts[name].append([a + x * u + y * v for x, y in shape])
        if k in chosen["spokes"]:
            parts["spokes"].append([a - (TUBULE - 2) * _unit_of(a), SPOKE_HEAD * _unit_of(a)])
    return tubules, parts


def _place_doublet(position, angle, disarray, tubules, rng, tries=30):
    """Displace and turn a doublet by `disarray`, keeping its tubules clear of the others."""
    for _ in range(tries if disarray else 1):
        turn = angle + rng.normal(0, 0.8 * disarray)
        moved = position + rng.normal(0, 14 * disarray, 2)
        u, v = _unit(turn), _unit(turn + np.pi / 2)
        mine = [moved + A_AT[0] * u + A_AT[1] * v, moved + B_AT[0] * u + B_AT[1] * v]
        clear = all(np.linalg.norm(m - c) >= r + TUBULE + 2 for m in mine for c, r, *_ in tubules)
        if clear and np.linalg.norm(moved) + B_AT[0] + TUBULE <= MEMBRANE - 4:
            return moved, u, v
    return position, _unit(angle), _unit(angle + np.pi / 2)


def _draw(canvas, transform, ax, rng):
    """Rasterise one cilium into `canvas`; return its record."""
    shape = canvas["labels"].shape
    slices, q = _canonical(transform, (0, 0), MEMBRANE, shape)
    canvas["membrane"][slices] |= _disc(q, (0, 0), MEMBRANE)
    tubules, parts = _layout(ax, rng)
    rim = np.concatenate(
        [
            c + r * np.stack([np.cos(t), np.sin(t)], 1)
            for c, r, *_ in tubules
            for t in [np.linspace(0, 2 * np.pi, 24, endpoint=False)]
        ]
    )
    hull = _to_image(transform, rim[ConvexHull(rim).vertices])
    axoneme = np.zeros(shape, np.uint8)  # OpenCV fills a polygon far faster than skimage.draw.polygon
    cv2.fillConvexPoly(axoneme, np.round(hull[:, ::-1] * 16).astype(np.int32), 1, lineType=cv2.LINE_8, shift=4)
    canvas["axoneme"] |= axoneme.astype(bool)
    for name, lines in parts.items():
        for line in lines:
            slices, q = _canonical(transform, np.mean(line, axis=0), np.ptp(line, axis=0).max() + 4, shape)
            canvas[name][slices] |= _capsule(q, line, SPOKE_WIDTH if name == "spokes" else ARM_WIDTH)
    first = last = int(canvas["labels"].max())
    for centre, radius, kind, cut_by in tubules:
        slices, q = _canonical(transform, centre, radius + 1, shape)
        mask = _disc(q, centre, radius) & (canvas["labels"][slices] == 0)
        if cut_by is not None:
            mask &= ~_disc(q, *cut_by)
        if mask.any():  # a tubule outside the image (crop) gets no id
            last += 1
            canvas["labels"][slices][mask] = last
            canvas["classes"][slices][mask] = kind
    for name in parts:
        canvas[name] &= canvas["labels"] == 0
    ellipse = np.linalg.svd(transform[1], compute_uv=False)
    return {
        "scale": round(float(np.sqrt(np.prod(ellipse))), 4),
        "ellipticity": round(float(ellipse[0] / ellipse[1]), 4),
        "axoneme": ax,
        "tubules": [first + 1, last],
    }


def _canonical(transform, centre_q, reach, shape):
    """Slices of the image box around canonical point `centre_q` +- `reach`, and its canonical coordinates."""
    origin, matrix = transform
    centre = origin + matrix @ np.asarray(centre_q, float)
    half = np.abs(matrix).sum(axis=1) * reach + 1
    lo = np.clip(np.floor(centre - half), 0, shape).astype(int)
    hi = np.clip(np.ceil(centre + half) + 1, 0, shape).astype(int)
    y, x = np.ogrid[lo[0] : hi[0], lo[1] : hi[1]]
    y, x = y - origin[0], x - origin[1]
    inverse = np.linalg.inv(matrix)
    q = np.stack([inverse[0, 0] * y + inverse[0, 1] * x, inverse[1, 0] * y + inverse[1, 1] * x])
    return (slice(lo[0], hi[0]), slice(lo[1], hi[1])), q


def _to_image(transform, points):
    return transform[0] + points @ transform[1].T


def _disc(q, centre, radius):
    return (q[0] - centre[0]) ** 2 + (q[1] - centre[1]) ** 2 <= radius**2


def _capsule(q, line, width):
    """Pixels within ``width / 2`` of the polyline `line` (canonical coordinates)."""
    inside = np.zeros(q.shape[1:], bool)
    for a, b in zip(line[:-1], line[1:]):
        a, b = np.asarray(a, float), np.asarray(b, float)
        t = np.clip(((q[0] - a[0]) * (b - a)[0] + (q[1] - a[1]) * (b - a)[1]) / max(np.dot(b - a, b - a), 1e-9), 0, 1)
        inside |= (q[0] - a[0] - t * (b - a)[0]) ** 2 + (q[1] - a[1] - t * (b - a)[1]) ** 2 <= (width / 2) ** 2
    return inside


def _unit(angle):
    return np.array([np.cos(angle), np.sin(angle)])


def _unit_of(vector):
    return vector / max(np.linalg.norm(vector), 1e-9)
