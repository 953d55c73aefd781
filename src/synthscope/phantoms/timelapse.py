"""Time-lapse: nuclei that move, deform and divide, with Cell Tracking Challenge tracks."""

import dataclasses
from collections.abc import Sequence

import numpy as np

from synthscope import checks as check
from synthscope.item import Item
from synthscope.phantoms.nuclei import NucleiRecipe, draw_nucleus
from synthscope.phantoms.placement import label_dtype, place, propose_centres
from synthscope.phantoms.recipe import Recipe, number
from synthscope.phantoms.shapes import radius_table, random_star, star_mask

MIN_CYCLE = 3  # frames a nucleus lives at least before it may divide


@dataclasses.dataclass(frozen=True, kw_only=True)
class TimelapseRecipe(Recipe):
    """The parameters of `timelapse`: the first frame's nuclei and how they move, deform and divide.

    Parameters
    ----------
    frames : int
        Number of time points.
    count, density, radius, roughness, elongation, brightness
        Of the first frame, as in `synthscope.phantoms.NucleiRecipe` (`density` applies
        when `count` is not given).
    speed : float
        Standard deviation of a nucleus's step per frame and axis (pixels of the last axis).
    deformation : float
        Amplitude of the boundary's change per frame (as `roughness`).
    division_rate : float
        Probability per nucleus and frame of a division, in [0, 0.5].
    interval : float
        Time between frames in seconds (``spacing["T"]``).

    Examples
    --------
    >>> TimelapseRecipe(count=5).first_frame.count
    5
    >>> TimelapseRecipe(frames=0)
    Traceback (most recent call last):
    ...
    synthscope.errors.InputError: frames must be in [1, 10000], got 0
    """

    frames: int = number(10, low=1, high=10_000, integer=True)
    count: int | None = None
    density: float = 0.2
    radius: float | tuple[float, float] = (7.5, 12.0)
    roughness: float = 0.06
    elongation: float | tuple[float, float] = (1.0, 1.4)
    brightness: float | tuple[float, float] = (0.35, 0.8)
    speed: float = number(1.5, low=0)
    deformation: float = number(0.02, low=0, high=0.3)
    division_rate: float = number(0.03, low=0, high=0.5)
    interval: float = number(300.0, low=0, low_open=True)

    def __post_init__(self):
        super().__post_init__()
        first = self.first_frame  # checks the fields of the first frame
        self._store(
            **{name: getattr(first, name) for name in ("count", "radius", "roughness", "elongation", "brightness")}
        )

    @property
    def first_frame(self) -> NucleiRecipe:
        """The recipe of the first frame's nuclei (none mitotic)."""
        return NucleiRecipe(
            count=self.count,
            density=None if self.count else self.density,
            radius=self.radius,
            roughness=self.roughness,
            elongation=self.elongation,
            mitotic_fraction=0.0,
            brightness=self.brightness,
        )

    def resolve(self, shape: Sequence[int], spacing: check.Spacing = None) -> dict:
        """Check the recipe against the image and return what the drawing code reads (a dict).

        That is what `NucleiRecipe.resolve` returns for the first frame, and the fields of
        the motion.
        """
        p = self.first_frame.resolve(shape, spacing)
        self._check("speed", self.speed, high=max(p["shape"]))
        return dict(
            p, **{name: getattr(self, name) for name in ("frames", "speed", "deformation", "division_rate", "interval")}
        )


def timelapse(
    shape: Sequence[int],
    recipe: TimelapseRecipe | None = None,
    *,
    spacing: check.Spacing = None,
    rng: check.Rng = None,
    **params,
) -> Item:
    """Return an `Item` of nuclei moving, deforming and dividing over `frames` frames.

    Frame 0 is `synthscope.phantoms.nuclei` (no mitoses). Each frame every nucleus takes a
    random step, its boundary drifts a little, daughters grow back towards their parent's
    size, nuclei that come closer than their radii push each other apart, and none leaves
    the field of view. A nucleus divides with probability `division_rate` per frame once
    it has lived `MIN_CYCLE` frames, while the cells cover less than half the image: the
    parent's track ends, and two daughters, split along its long axis, start in the next
    frame.

    Parameters
    ----------
    shape : sequence of int
        Spatial shape ``(Y, X)`` or ``(Z, Y, X)``.
    recipe, **params
        The parameters: a `TimelapseRecipe` (which documents each; by default every
        default) and fields of it as keywords, which replace its own.
    spacing : None, float, sequence or dict
        Physical pixel size per spatial axis (um), as in `synthscope.phantoms.nuclei`;
        ``spacing["T"]`` of the item is `interval`.
    rng : int or numpy.random.Generator, optional

    Returns
    -------
    Item
        Axes ``"TYX"`` or ``"TZYX"``; ``labels`` of every frame with ids = track ids;
        ``tracks`` (N, 4) rows ``L B E P`` (label, first frame, last frame, parent or 0);
        ``metadata["objects"]`` with each track's brightness (daughters inherit theirs).

    Examples
    --------
    >>> item = timelapse((64, 64), frames=6, count=5, radius=6, division_rate=0.5, rng=0)
    >>> item.axes, item.labels.shape, item.tracks.shape[1]
    ('TYX', (6, 64, 64), 4)
    """
    p = TimelapseRecipe.of(recipe, **params).resolve(shape, spacing)
    rng = check.as_rng(rng)
    shape, scale = p["shape"], np.asarray(p["scale"])
    propose = propose_centres(shape, clusters=0, cluster_spread=1, scale=scale, rng=rng)
    _, stars, records = place(
        shape,
        p["count"],
        lambda c, rng: draw_nucleus(c, p, rng),
        max_overlap=p["max_overlap"],
        propose=propose,
        scale=scale,
        rng=rng,
        what="nuclei",
    )
    alive = {r["id"]: (s, s.radius) for s, r in zip(stars, records)}  # id -> (star, size to grow to)
    tracks = {r["id"]: [r["id"], 0, 0, 0] for r in records}
    brightness_of = {r["id"]: r["brightness"] for r in records}
    movie = []
    for t in range(p["frames"]):
        if t:
            alive = _step(alive, t, tracks, brightness_of, p, rng)
        movie.append(alive)
    labels = np.zeros((p["frames"], *shape), label_dtype(len(tracks)))
    for t, cells in enumerate(movie):
        for cell, (star, _) in sorted(cells.items()):
            slices, mask = star_mask(star, shape, scale=scale)
            frame = labels[t][slices]
            frame[mask & (frame == 0)] = cell
            tracks[cell][2] = t
    objects = [{"id": i, "brightness": b} for i, b in sorted(brightness_of.items())]
    axes = "T" + "ZYX"[-len(shape) :]
    return Item(
        labels=labels,
        axes=axes,
        tracks=np.array(sorted(tracks.values()), dtype=np.int64).reshape(-1, 4),
        spacing={"T": p["interval"], **check.spacing_dict(p["spacing"], axes[1:])},
        metadata={"generator": "timelapse", "objects": objects},
    )


def _step(alive, t, tracks, brightness_of, p, rng):
    """The nuclei of frame `t` from those of frame ``t - 1``; updates `tracks` for new daughters."""
    shape, scale = np.asarray(p["shape"]), np.asarray(p["scale"])
    ndim = shape.size
    crowded = (
        sum(s.radius**ndim for s, _ in alive.values()) * (np.pi if ndim == 2 else 4 / 3 * np.pi)
        > np.prod(shape * scale) / 2
    )
    moved = {}
    for cell, (star, size) in alive.items():
        if not crowded and t - tracks[cell][1] >= MIN_CYCLE and rng.random() < p["division_rate"]:
            axis = star.rotation[:, 0] * star.radius * 0.7 / scale
            radius = star.radius / 2 ** (1 / ndim)
            for sign in (1, -1):
                daughter = len(tracks) + 1
                tracks[daughter] = [daughter, t, t, cell]
                brightness_of[daughter] = brightness_of[cell]
                moved[daughter] = (
                    random_star(
                        star.center + sign * axis,
                        radius,
                        roughness=p["roughness"],
                        elongation=rng.uniform(*p["elongation"]),
                        rng=rng,
                    ),
                    size,
                )
            continue
        drift = radius_table(ndim, roughness=p["deformation"], rng=rng) - 1
        moved[cell] = (
            dataclasses.replace(
                star,
                center=star.center + rng.normal(0, p["speed"], ndim) / scale,
                radius=star.radius + 0.2 * (size - star.radius),
                table=np.clip(star.table + drift, 0.5, 1.5),
            ),
            size,
        )
    return _separate(moved, shape, scale)


def _separate(cells, shape, scale, passes=3):
    """Push apart nuclei closer than their radii and keep every nucleus inside the image."""
    ids = list(cells)
    centres = np.array([cells[i][0].center for i in ids]) * scale
    radii = np.array([cells[i][0].radius for i in ids])
    for _ in range(passes):
        gap = centres[:, None] - centres[None]
        distance = np.maximum(np.linalg.norm(gap, axis=-1), 1e-6)
        push = np.clip(0.9 * (radii[:, None] + radii[None]) - distance, 0, None)
        np.fill_diagonal(push, 0)
        centres += 0.5 * np.sum(gap / distance[..., None] * push[..., None], axis=1)
        centres = np.clip(centres, radii[:, None], shape * scale - radii[:, None])
    return {i: (dataclasses.replace(cells[i][0], center=c / scale), cells[i][1]) for i, c in zip(ids, centres)}
