"""Fit a nuclei preset to a few annotated images a user already has.

`synthscope.phantoms.measure.measure` turns annotated images into the statistics a
segmenter cares about: object size, shape, packing and touching, per-object brightness
and texture, background level and variation, unlabelled light, noise and edge blur.
`fit_preset` chooses the `nuclei` and `render` parameters of a preset that reproduce
them, and `synthscope.phantoms.fit_report.compare` tells how close sketches of that preset come, on the same
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
"""

import numpy as np

from synthscope.errors import InputError
from synthscope.phantoms.measure import measure

SMALL = 0.6  # in 2D, nuclei below this fraction of the median radius are out-of-focus sections
PACKINGS = ((0.1, 0.0), (0.05, 0.0), (0.0, 0.0), (0.0, 1.6), (0.0, 1.9))  # (max_overlap, min_distance / radius)
MITOTIC_BRIGHTNESS = 1.5  # nuclei brighter than this times the median are mitotic (condensed chromatin)
SMALL_SECTION_HEIGHT = 0.875  # mean relative height h of the sections that look small (h in 0.8-0.95)
MIN_SECTIONS = 3  # fewer small sections than this leave defocus_dimming at the base preset's value


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
    if len(stats["radius"]) < 5:
        raise InputError(f"fit needs at least 5 annotated objects, found {len(stats['radius'])}")
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
    nuclei["density"] = round(min(_clear_mean(stats, "density"), 0.6), 3)
    preset["nuclei"] = nuclei
    preset["render"] = {**preset["render"], **_fit_render(stats)}
    # Chromatin grain: texture features of about 0.4 nucleus radii (a coarse field of the
    # same within-object variation would paint dark holes into the nuclei).
    preset["render"]["texture_scale"] = round(0.4 * float(np.median(stats["radius"])), 1)
    _calibrate(preset, stats, base=base, spacing=spacing, rng=rng)
    if ndim == 2:
        _fit_out_of_plane(preset, stats, base=base, spacing=spacing, rng=rng)
    preset["description"] = (
        f"Fitted by synthscope fit to {len(images)} annotated image(s) "
        f"({len(stats['radius'])} nuclei); refinement from {base}."
    )
    return preset


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
    """Mean of the per-image statistic `key` over the `_clearer` images."""
    return float(np.nanmean(stats[key][_clearer(stats)]))


def _span(values):
    """``(min, max)`` of `values`: slices of a stack differ by depth, and a few examples sample the depths sparsely."""
    return round(float(np.min(values)), 3), round(float(np.max(values)), 3)


def _fit_layout(stats, base, *, ndim):
    in_focus, sections, mitotic = _kinds(stats, ndim=ndim)
    radius, brightness = stats["radius"], stats["brightness"]
    nuclei = dict(base)
    nuclei["radius"] = _uniform_range(radius[in_focus], low=1.0)
    nuclei["brightness"] = [min(v, 1.0) for v in _uniform_range(brightness[in_focus], low=0.0)]
    nuclei["mitotic_fraction"] = round(float(np.mean(mitotic)), 3)
    if ndim == 2:  # a third of the sections drawn out of focus look small (heights 0.8-0.95 of 0.5-0.95)
        nuclei["out_of_focus_fraction"] = round(min(3 * float(np.mean(sections)), 0.9), 3)
        ratio = _section_brightness(stats)
        if ratio is not None:  # a first guess; `_calibrate` corrects it for the extra blur of sections
            nuclei["defocus_dimming"] = round(float(np.clip((1 - ratio) / SMALL_SECTION_HEIGHT, 0.0, 1.0)), 3)
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
    if stats["unlabelled_brightness"].size < MIN_SECTIONS:
        nuclei["out_of_plane"] = 0.0
        return
    in_focus = _kinds(stats, ndim=2)[0]
    relative = stats["unlabelled_brightness"] / max(float(np.median(stats["brightness"][in_focus])), 1e-6)
    span = _span(stats["unlabelled"])
    nuclei["out_of_plane"] = list(span)
    nuclei["out_of_plane_brightness"] = [min(v, 1.0) for v in _uniform_range(relative, low=0.05)]
    target = np.mean(span), np.median(stats["unlabelled_brightness"]), np.nanmedian(stats["background_texture"])
    for _ in range(rounds):
        if not nuclei["out_of_plane"][1]:
            return
        items = _sketches(preset, base=base, count=count, rng=rng)
        got = measure([i.sketch for i in items], [i.labels for i in items], spacing=spacing)
        peaks = got["unlabelled_brightness"]
        seen = (
            np.mean(got["unlabelled"]),
            np.median(peaks) if peaks.size else 0.0,
            np.nanmedian(got["background_texture"]),
        )
        share, peak, haze = (float(np.clip(t / max(g, 1e-3), 0.5, 2.0)) for t, g in zip(target, seen))
        nuclei["out_of_plane"] = [round(min(v * share, 0.9), 3) for v in nuclei["out_of_plane"]]
        nuclei["out_of_plane_brightness"] = [round(min(v * peak, 1.0), 3) for v in nuclei["out_of_plane_brightness"]]
        preset["render"]["haze"] = round(min(preset["render"]["haze"] * haze, 1.0), 4)


def _kinds(stats, *, ndim):
    """Boolean masks over the objects: whole in-focus nuclei, small (out-of-focus) sections, mitotic nuclei.

    Mitotic nuclei are brighter than `MITOTIC_BRIGHTNESS` times the median object; in 2D,
    sections are the other objects smaller than `SMALL` times the median radius.
    """
    radius, brightness = stats["radius"], stats["brightness"]
    mitotic = brightness > MITOTIC_BRIGHTNESS * np.median(brightness) if brightness.size else np.zeros(0, bool)
    small = radius < SMALL * np.median(radius) if ndim == 2 else np.zeros(radius.size, bool)
    sections = small & ~mitotic
    return ~small & ~mitotic, sections, mitotic


def _section_brightness(stats):
    """Median brightness of the out-of-focus sections over that of whole nuclei, or None if too few."""
    in_focus, sections, _ = _kinds(stats, ndim=2)
    if sections.sum() < MIN_SECTIONS or not in_focus.any():
        return None
    brightness = stats["brightness"]
    return float(np.median(brightness[sections]) / max(np.median(brightness[in_focus]), 1e-6))


def _fit_shape(stats, nuclei, *, ndim, rng):
    """Elongation range and roughness whose simulated shapes match the median elongation and solidity."""
    from synthscope.phantoms.nuclei import nuclei as draw

    target = np.array([np.median(stats["elongation"]), np.median(stats["solidity"])])
    shape = (int(10 * nuclei["radius"][1]),) * ndim
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
            simulated = measure([np.zeros(shape, np.float32)] * len(labels), labels)
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
        error = abs(float(np.mean(got["touching"])) - target)
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
    in_focus = _kinds(stats, ndim=ndim)[0]
    target = dict(
        radius_low=np.percentile(stats["radius"][in_focus], 10),
        radius_high=np.percentile(stats["radius"][in_focus], 90),
        brightness=np.median(stats["brightness"][in_focus]),
        texture=np.median(stats["inner_cv"]),
        density=_clear_mean(stats, "density"),
        haze=_clear_mean(stats, "background_texture"),
    )
    sections = _section_brightness(stats)
    nuclei, render = preset["nuclei"], preset["render"]
    for _ in range(rounds):
        try:
            items = _sketches(preset, base=base, count=count, rng=rng)
        except InputError:  # more nuclei than fit: ask for fewer
            nuclei["density"] = round(0.9 * nuclei["density"], 3)
            continue
        got = measure([i.sketch for i in items], [i.labels for i in items], spacing=spacing)
        focus = _kinds(got, ndim=ndim)[0]
        ratio = dict(
            radius_low=np.percentile(got["radius"][focus], 10),
            radius_high=np.percentile(got["radius"][focus], 90),
            brightness=np.median(got["brightness"][focus]),
            texture=np.median(got["inner_cv"]),
            density=np.mean(got["density"]),
            haze=np.nanmedian(got["background_texture"]),
        )
        ratio = {k: float(np.clip(target[k] / max(ratio[k], 1e-3), 0.5, 2.0)) for k in target}
        shift = float(np.nanmedian(stats["background"]) - np.nanmedian(got["background"]))
        render["background"] = round(float(np.clip(render["background"] + shift, 0.0, 1.0)), 4)
        render["haze"] = round(float(np.clip(render["haze"] * ratio["haze"], 0.0, 1.0)), 4)
        stretch = (np.median(stats["elongation"]) - 1) / max(np.median(got["elongation"]) - 1, 1e-3)
        top = 1 + (nuclei["elongation"][1] - 1) * float(np.clip(stretch, 0.5, 2.0))
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


def _sketches(preset, *, base, count, rng):
    """`count` items of the fitted `preset` (checked through `load_preset` on top of `base`)."""
    from synthscope.phantoms.presets import load_preset, sketch_item
    from synthscope.seeds import item_seed

    loaded = load_preset(base, settings={key: preset[key] for key in ("shape", "spacing", "nuclei", "render")})
    seed = int(np.random.default_rng(rng).integers(2**31))
    return [sketch_item(loaded, rng=item_seed(seed, i)) for i in range(count)]


def _fit_render(stats):
    background = float(np.nanmedian(stats["background"]))
    level = float(np.nanmedian(stats["level_objects"]))
    gain = stats["noise_gain"]
    var_background = float(np.nanmedian(stats["noise_background"])) / gain
    var_objects = float(np.nanmedian(stats["noise_objects"])) / gain
    # Render's noise variance is read_noise**2 + level / photons; solve it at the two levels.
    shot = max(var_objects - var_background, 1e-12)
    photons = (level - background) / shot
    read_variance = var_background - background / photons
    if read_variance < 0.04 * var_background:  # object variance is more than noise: texture takes the rest
        read_variance = 0.04 * var_background
        photons = background / (var_background - read_variance)
    photons = float(np.clip(photons, 10, 1e5))
    noise_cv2 = (read_variance + level / photons) / max(level, 1e-3) ** 2
    texture = float(np.sqrt(max(np.median(stats["inner_cv"]) ** 2 - noise_cv2, 0.0)))
    return {
        "background": round(background, 4),
        "haze": round(min(3 * float(np.nanmedian(stats["background_texture"])), 1.0), 4),
        "blur": float(stats["blur"]),
        "photons": round(photons, 1),
        "read_noise": round(min(float(np.sqrt(read_variance)), 1.0), 4),
        "texture": round(min(texture, 1.0), 3),
    }
