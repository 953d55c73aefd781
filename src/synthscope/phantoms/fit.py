"""Fit a nuclei preset to a few annotated images a user already has.

`synthscope.phantoms.measure.measure` turns annotated images into the statistics a
segmenter cares about: object size, shape, packing and touching, per-object brightness
and texture, background level and variation, unlabelled light, noise and edge blur.
`fit_preset` chooses the `nuclei` and `render` parameters of a preset that reproduce
them (the ``render`` ones in `synthscope.phantoms.fit_render`), and
`synthscope.phantoms.fit_report.compare` tells how close sketches of that preset come, on the same
statistics.

How each parameter is chosen:

- ``nuclei.radius`` and ``nuclei.brightness``: the uniform range with the same 10th
  and 90th percentiles as the equivalent radii (pixels of the last axis) and the
  core intensities of the whole, in-focus interphase nuclei. Nuclei brighter than
  `MITOTIC_BRIGHTNESS` times the median are mitotic (``mitotic_fraction``). In 2D, the
  others smaller than `SMALL` times the median radius are sections away from a
  nucleus' middle (``out_of_focus_fraction``), and how much dimmer they are than whole
  nuclei gives ``nuclei.defocus_dimming`` (annotations differ in how dim a section
  they label).
- ``nuclei.out_of_plane`` (2D): whole nuclei above or below the section, which
  annotations of real sections leave unlabelled; slices near the edge of a cell layer
  show many of them. The range spans the examples' shares of unlabelled blobs of light
  among all blobs (`synthscope.phantoms.measure`), from the least to the most: a few
  examples sample the depths of a stack sparsely, and generated images cover every
  depth between them evenly. ``nuclei.out_of_plane_brightness`` starts as the uniform
  range with the same 10th and 90th percentiles as the blobs' peaks relative to whole
  nuclei. Both, and ``render.haze``, are calibrated on sketches last (out-of-plane
  light varies the background too; the fit tells the two apart only roughly).
- ``nuclei.elongation`` and ``nuclei.roughness``: by simulation, the pair whose star
  shapes show the measured median elongation and solidity; the elongation range is then
  calibrated on sketches (sections and blur change how elongated nuclei look).
- ``nuclei.max_overlap`` and ``nuclei.min_distance``: by simulation, the packing (from
  overlapping to evenly spaced, `PACKINGS`) whose nuclei touch as often as the
  examples' do.
- ``nuclei.density``: by simulation, the density setting that covers the measured
  fraction of the image (random packing covers less than asked for) in the clearer
  half of the examples (at most the median share of unlabelled blobs: the middle of
  the cell layer), drawn without out-of-plane nuclei.
- ``render.background`` and ``render.haze``: the median and the smooth variation of the
  pixels far from every label (`synthscope.phantoms.measure`), the variation in the
  clearer half of the examples; it is drawn as unlabelled out-of-focus light (haze).
- ``render.blur``: the Gaussian edge width that best explains the image near object
  edges, given the labels and the per-object levels.
- ``render.read_noise`` and ``render.photons``: from the fine-scale variance in the
  background and inside objects (Poisson variance grows with the level).
- ``render.texture``: the within-object coefficient of variation left after noise, as
  a grain of 0.4 median radii (``render.texture_scale``).

Illumination changes across the field, clusters and dividing pairs are not fitted
(they keep the base preset's values).

A statistic the examples cannot give takes a stated value, with one `FitWarning` naming
both: ``mitotic_fraction``, ``out_of_focus_fraction`` and ``out_of_plane`` 0 without
mitoses, sections or `MIN_SECTIONS` blobs of unlabelled light; the base preset's
``defocus_dimming`` with fewer than `MIN_SECTIONS` sections, and its background, haze,
blur, photons and read noise without background (every pixel within
`synthscope.phantoms.measure.MARGIN` of a label) or object interiors to measure them
on; radius and brightness over all objects when none is a whole interphase nucleus.
"""

import numpy as np

from synthscope.errors import InputError
from synthscope.phantoms.fit_fallback import FitWarning, fallback, finite
from synthscope.phantoms.fit_render import _fit_render
from synthscope.phantoms.measure import PER_OBJECT, _measure_objects, measure

__all__ = ["FitWarning", "fit_preset"]  # FitWarning lives in fit_fallback; importable here too

SMALL = 0.6  # in 2D, nuclei below this fraction of the median radius are out-of-focus sections
PACKINGS = ((0.1, 0.0), (0.05, 0.0), (0.0, 0.0), (0.0, 1.6), (0.0, 1.9))  # (max_overlap, min_distance / radius)
MITOTIC_BRIGHTNESS = 1.5  # nuclei brighter than this times the median are mitotic (condensed chromatin)
SMALL_SECTION_HEIGHT = 0.875  # mean relative height h of the sections that look small (h in 0.8-0.95)
MIN_SECTIONS = 3  # fewer small sections than this leave defocus_dimming at the base preset's value
MIN_OBJECTS = 5  # fewer annotated objects than this are refused: their spread tells nothing


def fit_preset(images, labels, *, base="nuclei-2d", spacing=None, rng=0):
    """Return a preset (dict) whose nuclei and sketches look like the annotated images.

    Parameters
    ----------
    images, labels, spacing
        As in `measure`; the preset takes the shape of the first image.
    base : str or path
        The preset that gives everything not fitted (refinement, clusters, ...); its
        generator must be ``nuclei``.
    rng : int or numpy.random.Generator, optional
        For the simulations that calibrate shape and density.

    Returns
    -------
    preset : dict
        Ready for ``yaml.safe_dump`` and `synthscope.phantoms.load_preset`; the
        measured statistics are under the key ``"fit"`` of the second value returned
        by `synthscope.phantoms.fit_report.fit_report`, not in the preset.

    Raises
    ------
    InputError
        For images that are not float in [0, 1] or labels of another shape, fewer than
        `MIN_OBJECTS` annotated objects, or a base preset of another generator.

    Warns
    -----
    FitWarning
        Once for each statistic the examples cannot give (see the module notes), naming
        the value used instead.

    Examples
    --------
    >>> from synthscope.phantoms import load_preset, sketch_item
    >>> truth = load_preset("nuclei-2d", settings={"shape": [128, 128], "nuclei.radius": [8, 11],
    ...                                              "nuclei.density": 0.3, "nuclei.out_of_plane": 0})
    >>> items = [sketch_item(truth, rng=i) for i in range(4)]
    >>> preset = fit_preset([i.sketch for i in items], [i.labels for i in items])
    >>> low, high = preset["nuclei"]["radius"]
    >>> bool(6.5 <= low <= 9.5 and 9.5 <= high <= 12.5)
    True
    """
    from synthscope.phantoms.presets import load_preset

    stats = measure(images, labels, spacing=spacing)
    if len(stats["radius"]) < MIN_OBJECTS:
        raise InputError(f"fit needs at least {MIN_OBJECTS} annotated objects, found {len(stats['radius'])}")
    preset = load_preset(base)
    if preset["generator"] != "nuclei":
        raise InputError(f"fit: base preset {base!r} has generator {preset['generator']!r}; use a nuclei preset")
    ndim = np.ndim(images[0])
    preset = {k: v for k, v in preset.items() if k != "name"}
    preset["shape"] = [int(s) for s in np.shape(images[0])]
    preset["spacing"] = None if spacing is None else [float(s) for s in spacing]
    nuclei = _fit_layout(stats, preset["nuclei"], ndim=ndim)
    nuclei.update(_fit_shape(stats, nuclei, ndim=ndim, rng=rng))
    nuclei.pop("count", None)
    nuclei["out_of_plane"] = 0.0  # the calibration matches the cell layer; out-of-plane nuclei come after it
    nuclei["density"] = round(float(np.clip(_clear_mean(stats, "density"), 0.01, 0.6)), 3)
    preset["nuclei"] = nuclei
    preset["render"] = {**preset["render"], **_fit_render(stats, preset["render"])}
    # Chromatin grain: texture features of about 0.4 nucleus radii (a coarse field of the
    # same within-object variation would paint dark holes into the nuclei), at least the
    # one pixel `render` draws.
    preset["render"]["texture_scale"] = max(round(0.4 * float(np.median(stats["radius"])), 1), 1.0)
    _calibrate(preset, stats, base=base, spacing=spacing, rng=rng)
    if ndim == 2:
        _fit_out_of_plane(preset, stats, base=base, spacing=spacing, rng=rng)
    preset["description"] = (
        f"Fitted by synthscope fit to {len(images)} annotated image(s) "
        f"({len(stats['radius'])} nuclei); refinement from {base}."
    )
    return preset


def _ratio(target, got):
    """``target / got`` clipped to [0.5, 2] (one calibration step); 1 when either is unknown."""
    if target is None or got is None:
        return 1.0
    return float(np.clip(target / max(got, 1e-3), 0.5, 2.0))


def _uniform_range(values, *, low=None):
    """The uniform range [a, b] with the 10th and 90th percentiles of `values`."""
    p10, p90 = np.percentile(values, (10, 90))
    width = (p90 - p10) / 0.8
    a, b = p10 - 0.1 * width, p90 + 0.1 * width
    if low is not None:
        a = max(a, low)
    return [round(float(a), 2), round(float(max(b, a)), 2)]


def _clearer(stats):
    """Which images have the least unlabelled light: at most the median share of unlabelled blobs.

    Out-of-plane nuclei take labels away and add background variation; the clearer
    images show the cell layer without them.
    """
    return stats["unlabelled"] <= np.median(stats["unlabelled"])


def _clear_mean(stats, key):
    """Mean of the per-image statistic `key` over the `_clearer` images (None where none measured it)."""
    return finite(np.mean, stats[key][_clearer(stats)])


def _span(values):
    """``(min, max)`` of `values`: slices of a stack differ by depth, and a few examples sample the depths sparsely."""
    return round(float(np.min(values)), 3), round(float(np.max(values)), 3)


def _fit_layout(stats, base, *, ndim):
    from synthscope.phantoms.nuclei import NucleiRecipe

    in_focus, sections, mitotic = _kinds(stats, ndim=ndim)
    radius, brightness = stats["radius"], stats["brightness"]
    among = f"among {radius.size} objects"
    if (in_focus & (sections | mitotic)).any():  # see `_kinds`
        fallback("nuclei.radius, nuclei.brightness", "every object", f"no whole interphase nucleus {among}")
    nuclei = dict(base)
    nuclei["radius"] = _uniform_range(radius[in_focus], low=1.0)
    nuclei["brightness"] = [min(v, 1.0) for v in _uniform_range(brightness[in_focus], low=0.0)]
    nuclei["mitotic_fraction"] = round(float(np.mean(mitotic)), 3)
    if not mitotic.any():
        reason = f"no mitotic nucleus (brighter than {MITOTIC_BRIGHTNESS} x the median) {among}"
        fallback("nuclei.mitotic_fraction", 0.0, reason)
    if ndim == 2:  # a third of the sections drawn out of focus look small (heights 0.8-0.95 of 0.5-0.95)
        nuclei["out_of_focus_fraction"] = round(min(3 * float(np.mean(sections)), 0.9), 3)
        ratio = _section_brightness(stats)
        if ratio is not None:  # a first guess; `_calibrate` corrects it for the extra blur of sections
            nuclei["defocus_dimming"] = round(float(np.clip((1 - ratio) / SMALL_SECTION_HEIGHT, 0.0, 1.0)), 3)
        elif not sections.any():  # the dimming of sections that are not drawn does not matter
            reason = f"no out-of-focus section (smaller than {SMALL} x the median radius) {among}"
            fallback("nuclei.out_of_focus_fraction", 0.0, reason)
        else:
            dimming = NucleiRecipe.from_mapping(base, section_name="nuclei").defocus_dimming
            reason = f"{sections.sum()} out-of-focus sections, fewer than {MIN_SECTIONS}"
            nuclei["defocus_dimming"] = fallback("nuclei.defocus_dimming", dimming, reason, base=True)
    return nuclei


def _fit_out_of_plane(preset, stats, *, base, spacing, rng, rounds=8, count=8):
    """Set ``out_of_plane`` and its brightness from the unlabelled blobs (see the module notes).

    The first guess is the span of the examples' shares and the range of the blobs'
    relative peaks; each round draws `count` sketches and scales the range so that their
    mean share meets the middle of the examples' span (blobs near labels or too dim are
    not seen, so the share seen is less than the share drawn), the brightness so that
    the median peaks agree, and the haze so that the background varies as much as in
    the examples (out-of-plane light adds to that variation). Fewer blobs than
    `MIN_SECTIONS` leave ``out_of_plane`` 0.
    """
    nuclei = preset["nuclei"]
    blobs = stats["unlabelled_brightness"].size
    if blobs < MIN_SECTIONS:
        reason = f"{blobs} blobs of unlabelled light, fewer than {MIN_SECTIONS}"
        nuclei["out_of_plane"] = fallback("nuclei.out_of_plane", 0.0, reason)
        return
    in_focus = _kinds(stats, ndim=2)[0]
    relative = stats["unlabelled_brightness"] / max(float(np.median(stats["brightness"][in_focus])), 1e-6)
    span = _span(stats["unlabelled"])
    nuclei["out_of_plane"] = [min(v, 0.9) for v in span]  # the most `nuclei` draws
    nuclei["out_of_plane_brightness"] = [min(v, 1.0) for v in _uniform_range(relative, low=0.05)]
    target = (
        float(np.mean(span)),
        float(np.median(stats["unlabelled_brightness"])),
        finite(np.median, stats["background_texture"]),
    )
    for _ in range(rounds):
        if not nuclei["out_of_plane"][1]:
            return
        items = _sketches(preset, base=base, count=count, rng=rng)
        got = measure([i.sketch for i in items], [i.labels for i in items], spacing=spacing)
        peaks = got["unlabelled_brightness"]
        seen = (
            float(np.mean(got["unlabelled"])),
            float(np.median(peaks)) if peaks.size else 0.0,
            finite(np.median, got["background_texture"]),
        )
        share, peak, haze = (_ratio(t, g) for t, g in zip(target, seen))
        nuclei["out_of_plane"] = [round(min(v * share, 0.9), 3) for v in nuclei["out_of_plane"]]
        nuclei["out_of_plane_brightness"] = [round(min(v * peak, 1.0), 3) for v in nuclei["out_of_plane_brightness"]]
        preset["render"]["haze"] = round(min(preset["render"]["haze"] * haze, 1.0), 4)


def _kinds(stats, *, ndim):
    """Boolean masks over the objects: whole in-focus nuclei, small (out-of-focus) sections, mitotic nuclei.

    Mitotic nuclei are brighter than `MITOTIC_BRIGHTNESS` times the median object; in 2D,
    sections are the other objects smaller than `SMALL` times the median radius. When
    every object is one or the other, all count as whole nuclei: their sizes and
    brightness are all there is to go by.
    """
    radius, brightness = stats["radius"], stats["brightness"]
    if not radius.size:
        return (np.zeros(0, bool),) * 3
    mitotic = brightness > MITOTIC_BRIGHTNESS * np.median(brightness)
    small = radius < SMALL * np.median(radius) if ndim == 2 else np.zeros(radius.size, bool)
    whole = ~small & ~mitotic
    return whole if whole.any() else np.ones_like(whole), small & ~mitotic, mitotic


def _section_brightness(stats):
    """Median brightness of the out-of-focus sections over that of whole nuclei, or None if too few."""
    in_focus, sections, _ = _kinds(stats, ndim=2)
    if sections.sum() < MIN_SECTIONS:
        return None
    brightness = stats["brightness"]
    return float(np.median(brightness[sections]) / max(np.median(brightness[in_focus]), 1e-6))


def _fit_shape(stats, nuclei, *, ndim, rng):
    """Elongation range and roughness whose simulated shapes match the median elongation and solidity."""
    from synthscope.phantoms.nuclei import nuclei as draw

    target = np.array([np.median(stats["elongation"]), np.median(stats["solidity"])])
    low, high = nuclei["radius"]
    # 20 nuclei fit in a square 10.3 times their least radius wide (in a cube 10 times the largest)
    shape = (max(int(10 * high), int(np.ceil(11 * low))),) * ndim
    blank = np.zeros(shape, np.float32)
    seeds = np.random.default_rng(rng).integers(2**31, size=2)
    best, best_error = None, np.inf
    for top in (1.1, 1.3, 1.5, 1.8, 2.2, 2.7):
        for roughness in (0.0, 0.05, 0.1, 0.15, 0.2, 0.25):
            labels = [
                draw(
                    shape,
                    count=20,
                    radius=nuclei["radius"],
                    elongation=(1.0, top),
                    roughness=roughness,
                    max_overlap=0.0,
                    mitotic_fraction=0.0,
                    rng=seed,
                ).labels
                for seed in seeds
            ]
            simulated = {k: [] for k in PER_OBJECT}
            for label in labels:  # the shapes alone: `measure` would also measure the (empty) images
                _measure_objects(blank, label, np.ones(ndim), simulated)
            got = np.array([np.median(simulated["elongation"]), np.median(simulated["solidity"])])
            error = np.sum(((got - target) / [0.1, 0.01]) ** 2)
            if error < best_error:
                best, best_error = (top, roughness), error
    return {"elongation": [1.0, best[0]], "roughness": best[1]}


def _fit_packing(preset, stats, *, base, spacing, rng, count=4):
    """The `PACKINGS` entry (``max_overlap``, ``min_distance``) whose sketches touch as often as the examples."""
    target = float(np.mean(stats["touching"]))
    radius = float(np.median(stats["radius"]))
    best, best_error = {}, np.inf
    for overlap, distance in PACKINGS:
        packing = {"max_overlap": overlap, "min_distance": round(distance * radius, 1)}
        trial = {**preset, "nuclei": {**preset["nuclei"], **packing}}
        try:
            items = _sketches(trial, base=base, count=count, rng=rng)
        except InputError:  # too dense for this spacing
            continue
        got = measure([i.sketch for i in items], [i.labels for i in items], spacing=spacing)
        touching = finite(np.mean, got["touching"])
        if touching is None:  # no object measured in the sketches
            continue
        error = abs(touching - target)
        if error < best_error:
            best, best_error = packing, error
    return best


def _calibrate(preset, stats, *, base, spacing, rng, rounds=4, count=6):
    """Correct radius, elongation, brightness, texture, density, haze, section dimming and packing by sketches.

    Occlusion, blur and noise make the measured values differ from the settings; each
    round draws `count` sketches and scales every setting by target over measured (the
    dimming of sections moves by the difference in their relative brightness, the top of
    the elongation range by the ratio of the median elongations less one).
    """
    ndim = len(preset["shape"])
    target = dict(
        _layer(stats, ndim=ndim),
        density=_clear_mean(stats, "density"),
        haze=_clear_mean(stats, "background_texture"),
    )
    background, sections = finite(np.median, stats["background"]), _section_brightness(stats)
    nuclei, render = preset["nuclei"], preset["render"]
    for _ in range(rounds):
        try:
            items = _sketches(preset, base=base, count=count, rng=rng)
        except InputError:  # more nuclei than fit (e.g. spaced as the base preset's): fewer, packed as the examples
            nuclei["density"] = round(0.9 * nuclei["density"], 3)
            nuclei.update(_fit_packing(preset, stats, base=base, spacing=spacing, rng=rng))
            continue
        got = measure([i.sketch for i in items], [i.labels for i in items], spacing=spacing)
        seen = dict(
            _layer(got, ndim=ndim),
            density=float(np.mean(got["density"])),
            haze=finite(np.median, got["background_texture"]),
        )
        ratio = {k: _ratio(target[k], seen[k]) for k in target}
        seen_background = finite(np.median, got["background"])
        if background is not None and seen_background is not None:
            shift = background - seen_background
            render["background"] = round(float(np.clip(render["background"] + shift, 0.0, 1.0)), 4)
        render["haze"] = round(float(np.clip(render["haze"] * ratio["haze"], 0.0, 1.0)), 4)
        top = 1 + (nuclei["elongation"][1] - 1) * ratio["stretch"]
        nuclei["elongation"] = [nuclei["elongation"][0], round(float(np.clip(top, nuclei["elongation"][0], 4.0)), 2)]
        low, high = nuclei["radius"][0] * ratio["radius_low"], nuclei["radius"][1] * ratio["radius_high"]
        nuclei["radius"] = [round(max(low, 1.0), 2), round(max(high, low, 1.0), 2)]
        nuclei["brightness"] = [round(min(v * ratio["brightness"], 1.0), 3) for v in nuclei["brightness"]]
        nuclei["density"] = round(float(np.clip(nuclei["density"] * ratio["density"], 0.01, 0.6)), 3)
        render["texture"] = round(float(np.clip(render["texture"] * ratio["texture"], 0.0, 1.0)), 3)
        got_sections = _section_brightness(got) if "defocus_dimming" in nuclei and sections is not None else None
        if got_sections is not None:
            step = (got_sections - sections) / SMALL_SECTION_HEIGHT
            nuclei["defocus_dimming"] = round(float(np.clip(nuclei["defocus_dimming"] + step, 0.0, 1.0)), 3)
        nuclei.update(_fit_packing(preset, stats, base=base, spacing=spacing, rng=rng))  # depends on the density
    return preset


def _layer(stats, *, ndim):
    """The statistics of a `measure` result that `_calibrate` matches besides density and haze.

    None where there is nothing to measure them on (e.g. sketches without objects).
    """
    in_focus = _kinds(stats, ndim=ndim)[0]
    elongation = finite(np.median, stats["elongation"])
    return dict(
        radius_low=finite(np.percentile, stats["radius"][in_focus], 10),
        radius_high=finite(np.percentile, stats["radius"][in_focus], 90),
        brightness=finite(np.median, stats["brightness"][in_focus]),
        texture=finite(np.median, stats["inner_cv"]),
        stretch=None if elongation is None else elongation - 1,  # the top of the range moves by its ratio
    )


def _sketches(preset, *, base, count, rng):
    """`count` items of the fitted `preset` (checked through `load_preset` on top of `base`)."""
    from synthscope.phantoms.presets import load_preset, sketch_item
    from synthscope.seeds import item_seed

    loaded = load_preset(base, settings={key: preset[key] for key in ("shape", "spacing", "nuclei", "render")})
    seed = int(np.random.default_rng(rng).integers(2**31))
    return [sketch_item(loaded, rng=item_seed(seed, i)) for i in range(count)]
