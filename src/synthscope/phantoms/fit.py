"""Fit a nuclei preset to a few annotated images a user already has.

`measure` turns annotated images into the statistics a segmenter cares about: object
size, shape, packing and touching, per-object brightness and texture, background
level and variation, noise and edge blur. `fit_preset` chooses the `nuclei` and
`render` parameters of a preset that reproduce them, and `compare` tells how close
sketches of that preset come, on the same statistics.

How each parameter is chosen:

- ``nuclei.radius`` and ``nuclei.brightness``: the uniform range with the same 10th
  and 90th percentiles as the equivalent radii (pixels of the last axis) and the
  core intensities of the whole, in-focus interphase nuclei. Nuclei brighter than
  `MITOTIC_BRIGHTNESS` times the median are mitotic (``mitotic_fraction``). In 2D, the
  others smaller than `SMALL` times the median radius are sections away from a
  nucleus' middle (``out_of_focus_fraction``), and how much dimmer they are than whole
  nuclei gives ``nuclei.defocus_dimming`` (annotations differ in how dim a section
  they label).
- ``nuclei.elongation`` and ``nuclei.roughness``: by simulation, the pair whose star
  shapes show the measured median elongation and solidity.
- ``nuclei.max_overlap`` and ``nuclei.min_distance``: by simulation, the packing (from
  overlapping to evenly spaced, `PACKINGS`) whose nuclei touch as often as the
  examples' do.
- ``nuclei.density``: by simulation, the density setting that covers the measured
  fraction of the image (random packing covers less than asked for).
- ``render.background`` and ``render.haze``: the median and the smooth variation of the
  pixels farther than `MARGIN` from every label; the variation is drawn as unlabelled
  out-of-focus nuclei (haze), as annotations of real sections leave them.
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
from scipy import ndimage as ndi
from skimage.measure import regionprops

from synthscope.errors import InputError
from synthscope.phantoms import _check as check

MARGIN = 3  # background pixels lie farther than this from every label
SMALL = 0.6  # in 2D, nuclei below this fraction of the median radius are out-of-focus sections
PACKINGS = ((0.1, 0.0), (0.05, 0.0), (0.0, 0.0), (0.0, 1.6), (0.0, 1.9))  # (max_overlap, min_distance / radius)
MITOTIC_BRIGHTNESS = 1.5  # nuclei brighter than this times the median are mitotic (condensed chromatin)
SMALL_SECTION_HEIGHT = 0.875  # mean relative height h of the sections that look small (h in 0.8-0.95)
MIN_SECTIONS = 3  # fewer small sections than this leave defocus_dimming at the base preset's value
PERCENTILES = (5, 25, 50, 75, 95)
BLURS = np.round(np.arange(0.25, 4.01, 0.25), 2)


def measure(images, labels, *, spacing=None):
    """Return the statistics of annotated nuclei images (2D or 3D) as a dict.

    Parameters
    ----------
    images : sequence of ndarray
        Float images with intensities in [0, 1] (normalise integer images first).
    labels : sequence of ndarray of int
        Instance labels of the same shapes, 0 = background.
    spacing : sequence of float, optional
        Pixel size per axis; lengths are given in pixels of the last axis.

    Returns
    -------
    stats : dict
        Per-object arrays ``radius`` (equivalent radius), ``elongation`` (major over
        minor axis), ``solidity``, ``brightness`` (median intensity of the object
        without its outer pixel), ``inner_cv`` (standard deviation over mean of that
        core) and ``touching`` (bool: within 2 pixels of another object); per-image
        arrays ``density`` (labelled fraction), ``background`` (median far from
        labels), ``background_texture`` (standard deviation of the smoothed
        background), ``noise_background`` and ``noise_objects`` (variance of the
        fine-scale residual); scalars ``blur`` (fitted edge width) and ``noise_gain``
        (residual variance of unit white noise); and ``count`` (objects per image).

    Examples
    --------
    >>> from synthscope.phantoms import nuclei, render
    >>> item = nuclei((96, 96), count=10, radius=(6, 9), rng=0)
    >>> stats = measure([render(item, blur=1.5, rng=0)], [item.labels])
    >>> len(stats["radius"]), bool(1.0 <= stats["blur"] <= 2.0)
    (10, True)
    """
    images, labels, scale = _check_annotated(images, labels, spacing)
    per_object = {k: [] for k in ("radius", "elongation", "solidity", "brightness", "inner_cv", "touching")}
    per_image = {k: [] for k in ("density", "background", "background_texture", "noise_background",
                                 "noise_objects", "level_objects")}
    edges = []
    for image, label in zip(images, labels):
        _measure_objects(image, label, scale, per_object)
        far = ~ndi.binary_dilation(label > 0, iterations=MARGIN)
        inside = ndi.binary_erosion(label > 0, iterations=1)
        residual = image - ndi.gaussian_filter(image, 1.0)
        per_image["density"].append(float(np.mean(label > 0)))
        per_image["background"].append(float(np.median(image[far])) if far.any() else np.nan)
        per_image["background_texture"].append(_smooth_variation(image, far))
        per_image["noise_background"].append(_robust_variance(residual[far]))
        per_image["noise_objects"].append(_robust_variance(residual[inside]))
        per_image["level_objects"].append(float(np.median(image[inside])) if inside.any() else np.nan)
        edges.append((image, label, per_image["background"][-1]))
    stats = {k: np.asarray(v, float) for k, v in {**per_object, **per_image}.items()}
    stats["touching"] = stats["touching"].astype(bool)
    stats["count"] = len(stats["radius"]) / len(images)
    stats["blur"] = _fit_blur(edges, scale)
    stats["noise_gain"] = _noise_gain(images[0].ndim)
    return stats


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
        by `fit_report`, not in the preset.

    Examples
    --------
    >>> from synthscope.phantoms import load_preset, make_item
    >>> truth = load_preset("nuclei-2d", settings={"shape": [128, 128], "nuclei.radius": [8, 11],
    ...                                              "nuclei.density": 0.3})
    >>> items = [make_item(truth, rng=i) for i in range(4)]
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
    nuclei["density"] = round(min(float(np.mean(stats["density"])), 0.6), 3)
    preset["nuclei"] = nuclei
    preset["render"] = {**preset["render"], **_fit_render(stats)}
    # Chromatin grain: texture features of about 0.4 nucleus radii (a coarse field of the
    # same within-object variation would paint dark holes into the nuclei).
    preset["render"]["texture_scale"] = round(0.4 * float(np.median(stats["radius"])), 1)
    _calibrate(preset, stats, base=base, spacing=spacing, rng=rng)
    preset["description"] = (f"Fitted by synthscope fit to {len(images)} annotated image(s) "
                             f"({len(stats['radius'])} nuclei); refinement from {base}.")
    return preset


def compare(reference, candidate):
    """Return rows ``(statistic, reference value, candidate value, relative difference)``.

    Each statistic is a median over objects or images (``touching``: a fraction;
    ``count``: objects per image), so that two `measure` results can be compared.

    Examples
    --------
    >>> from synthscope.phantoms import nuclei, render
    >>> item = nuclei((96, 96), count=10, radius=(6, 9), rng=0)
    >>> stats = measure([render(item, rng=0)], [item.labels])
    >>> {name: round(diff, 3) for name, _, _, diff in compare(stats, stats)}["radius"]
    0.0
    """
    rows = []
    for name, value in _summary(reference).items():
        other = _summary(candidate)[name]
        rows.append((name, value, other, abs(other - value) / max(abs(value), 1e-3)))
    return rows


def fit_report(images, labels, *, base="nuclei-2d", spacing=None, check_count=8, rng=0):
    """Fit a preset and measure how close sketches of it come to the annotated images.

    Returns
    -------
    preset : dict
        As `fit_preset`.
    report : dict
        ``"fitted"``: the fitted nuclei and render parameters; ``"comparison"``: the
        rows of `compare` between the annotated images and `check_count` sketches
        of the fitted preset.
    """
    check.check_number(check_count, "check_count", low=1, high=1000, integer=True)
    preset = fit_preset(images, labels, base=base, spacing=spacing, rng=rng)
    items = _sketches(preset, base=base, count=check_count, rng=np.random.default_rng(rng).integers(2**31) + 1)
    reference = measure(images, labels, spacing=spacing)
    generated = measure([i.sketch for i in items], [i.labels for i in items], spacing=spacing)
    report = {
        "fitted": {"nuclei": preset["nuclei"], "render": preset["render"]},
        "images": len(images),
        "objects": len(reference["radius"]),
        "check_count": check_count,
        "comparison": [dict(statistic=n, yours=round(a, 4), generated=round(b, 4), relative_difference=round(d, 3))
                       for n, a, b, d in compare(reference, generated)],
    }
    return preset, report


def fit_table(report):
    """Return a Markdown table of a `fit_report` report: fitted values, then the comparison.

    Examples
    --------
    >>> report = {"fitted": {"nuclei": {"density": 0.4}, "render": {"blur": 1.0}},
    ...           "comparison": [{"statistic": "radius", "yours": 10.0, "generated": 9.5,
    ...                           "relative_difference": 0.05}]}
    >>> print(fit_table(report), end="")
    | fitted | value |
    | --- | --- |
    | nuclei.density | 0.4 |
    | render.blur | 1.0 |
    <BLANKLINE>
    | statistic | yours | generated | relative difference |
    | --- | --- | --- | --- |
    | radius | 10 | 9.5 | 0.05 |
    """
    fitted = [f"| {section}.{key} | {value} |" for section, values in report["fitted"].items()
              for key, value in values.items()]
    rows = [f"| {r['statistic']} | {r['yours']:.4g} | {r['generated']:.4g} | {r['relative_difference']:.3g} |"
            for r in report["comparison"]]
    return "\n".join(["| fitted | value |", "| --- | --- |", *fitted, "",
                      "| statistic | yours | generated | relative difference |", "| --- | --- | --- | --- |",
                      *rows]) + "\n"


def _check_annotated(images, labels, spacing):
    images, labels = list(images), list(labels)
    if not images or len(images) != len(labels):
        raise InputError(f"fit needs a label image for every image: got {len(images)} images, {len(labels)} labels")
    ndim = np.ndim(images[0])
    out_images, out_labels = [], []
    for i, (image, label) in enumerate(zip(images, labels)):
        image, label = np.asarray(image), np.asarray(label)
        if image.shape != label.shape or image.ndim != ndim or ndim not in (2, 3):
            raise InputError(f"image {i} {image.shape} and its labels {label.shape} must share one 2D or 3D shape")
        if not np.issubdtype(label.dtype, np.integer):
            raise InputError(f"labels {i} have dtype {label.dtype}; instance labels must be integers")
        if not np.issubdtype(image.dtype, np.floating) or image.min() < 0 or image.max() > 1:
            raise InputError(f"image {i} must be float in [0, 1] (normalise it first, e.g. --percentiles 1,99.8)")
        out_images.append(image.astype(np.float32))
        out_labels.append(label)
    spacing = check.check_spacing(spacing, ndim)
    return out_images, out_labels, np.asarray(spacing) / spacing[-1]


def _measure_objects(image, label, scale, out):
    unit = np.pi if label.ndim == 2 else 4 / 3 * np.pi
    for region in regionprops(label, intensity_image=image, spacing=tuple(scale)):
        if region.num_pixels < 4:
            continue
        sl = region.slice
        own = label[sl] == region.label
        core = ndi.binary_erosion(own, iterations=1) if region.num_pixels > 20 else own
        values = image[sl][core]
        minor = max(region.axis_minor_length, 1e-6)
        out["radius"].append((region.area / unit) ** (1 / label.ndim))
        out["elongation"].append(region.axis_major_length / minor)
        out["solidity"].append(region.solidity)
        out["brightness"].append(float(np.median(values)))
        out["inner_cv"].append(float(np.std(values) / max(np.mean(values), 1e-6)))
        around = tuple(slice(max(s.start - 2, 0), s.stop + 2) for s in sl)
        grown = ndi.binary_dilation(label[around] == region.label, iterations=2)
        others = label[around][grown]
        out["touching"].append(bool(np.any((others != region.label) & (others > 0))))


def _smooth_variation(image, region, sigma=4.0):
    """Standard deviation of `image` over `region` after smoothing within the region only."""
    if region.sum() < 10:
        return np.nan
    weight = ndi.gaussian_filter(region.astype(np.float32), sigma)
    smooth = ndi.gaussian_filter(np.where(region, image, 0).astype(np.float32), sigma) / np.maximum(weight, 1e-6)
    return float(np.std(smooth[region & (weight > 0.3)]))


def _robust_variance(values):
    """Variance from the median absolute deviation (robust to edges and texture)."""
    if values.size < 10:
        return np.nan
    return float((1.4826 * np.median(np.abs(values - np.median(values)))) ** 2)


def _noise_gain(ndim):
    """Variance of ``x - gaussian(x, 1)`` for unit white noise (how much noise the residual keeps)."""
    noise = np.random.default_rng(0).standard_normal((256, 256) if ndim == 2 else (48, 64, 64))
    return _robust_variance(noise - ndi.gaussian_filter(noise, 1.0))


def _fit_blur(edges, scale):
    """The Gaussian edge width (pixels of the last axis) that best explains the images near edges."""
    errors = np.zeros(len(BLURS))
    for image, label, background in edges:
        if not label.any():
            continue
        ids = np.arange(int(label.max()) + 1)
        levels = np.zeros(ids.size, np.float32)
        present = np.unique(label)
        present = present[present > 0]
        inside = ndi.binary_erosion(label > 0, iterations=2) * label
        core_levels = ndi.median(image, inside, index=present)
        levels[present] = np.where(np.isfinite(core_levels), core_levels, ndi.median(image, label, index=present))
        sharp = np.where(label > 0, levels[label], background).astype(np.float32)
        boundary = ndi.binary_dilation(label > 0, iterations=3) & ~ndi.binary_erosion(label > 0, iterations=3)
        target = ndi.gaussian_filter(image, 0.5)[boundary]  # a little smoothing against noise
        for k, blur in enumerate(BLURS):
            model = ndi.gaussian_filter(sharp, np.hypot(blur, 0.5) / scale)[boundary]
            errors[k] += float(np.mean((model - target) ** 2))
    return float(BLURS[int(np.argmin(errors))])


def _uniform_range(values, *, low=None):
    """The uniform range [a, b] with the 10th and 90th percentiles of `values`."""
    p10, p90 = np.percentile(values, (10, 90))
    width = (p90 - p10) / 0.8
    a, b = p10 - 0.1 * width, p90 + 0.1 * width
    if low is not None:
        a = max(a, low)
    return [round(float(a), 2), round(float(max(b, a)), 2)]


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


def _kinds(stats, *, ndim):
    """Boolean masks over the objects: whole in-focus nuclei, small (out-of-focus) sections, mitotic nuclei.

    Mitotic nuclei are brighter than `MITOTIC_BRIGHTNESS` times the median object; in 2D,
    sections are the other objects smaller than `SMALL` times the median radius.
    """
    radius, brightness = stats["radius"], stats["brightness"]
    mitotic = brightness > MITOTIC_BRIGHTNESS * np.median(brightness) if brightness.size else np.zeros(0, bool)
    small = ~_in_focus(radius) if ndim == 2 else np.zeros(radius.size, bool)
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
            labels = [draw(shape, count=20, radius=nuclei["radius"], elongation=(1.0, top), roughness=roughness,
                           max_overlap=0.0, mitotic_fraction=0.0, rng=seed).labels for seed in seeds]
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
    """Correct radius, brightness, texture, density, haze, section dimming and packing by what sketches show.

    Occlusion, blur and noise make the measured values differ from the settings; each
    round draws `count` sketches and scales every setting by target over measured (the
    dimming of sections moves by the difference in their relative brightness).
    """
    ndim = len(preset["shape"])
    in_focus = _kinds(stats, ndim=ndim)[0]
    target = dict(radius_low=np.percentile(stats["radius"][in_focus], 10),
                  radius_high=np.percentile(stats["radius"][in_focus], 90),
                  brightness=np.median(stats["brightness"][in_focus]),
                  texture=np.median(stats["inner_cv"]), density=np.mean(stats["density"]),
                  haze=np.nanmedian(stats["background_texture"]))
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
        ratio = dict(radius_low=np.percentile(got["radius"][focus], 10),
                     radius_high=np.percentile(got["radius"][focus], 90),
                     brightness=np.median(got["brightness"][focus]),
                     texture=np.median(got["inner_cv"]), density=np.mean(got["density"]),
                     haze=np.nanmedian(got["background_texture"]))
        ratio = {k: float(np.clip(target[k] / max(ratio[k], 1e-3), 0.5, 2.0)) for k in target}
        shift = float(np.nanmedian(stats["background"]) - np.nanmedian(got["background"]))
        render["background"] = round(float(np.clip(render["background"] + shift, 0.0, 1.0)), 4)
        render["haze"] = round(float(np.clip(render["haze"] * ratio["haze"], 0.0, 1.0)), 4)
        low, high = nuclei["radius"][0] * ratio["radius_low"], nuclei["radius"][1] * ratio["radius_high"]
        nuclei["radius"] = [round(max(low, 1.0), 2), round(max(high, low, 1.0), 2)]
        nuclei["brightness"] = [round(min(v * ratio["brightness"], 1.0), 3) for v in nuclei["brightness"]]
        nuclei["density"] = round(float(np.clip(nuclei["density"] * ratio["density"], 0.01, 0.6)), 3)
        render["texture"] = round(float(np.clip(render["texture"] * ratio["texture"], 0.0, 1.0)), 3)
        got_sections = _section_brightness(got)
        if "defocus_dimming" in nuclei and sections is not None and got_sections is not None:
            step = (got_sections - sections) / SMALL_SECTION_HEIGHT
            nuclei["defocus_dimming"] = round(float(np.clip(nuclei["defocus_dimming"] + step, 0.0, 1.0)), 3)
        nuclei.update(_fit_packing(preset, stats, base=base, spacing=spacing, rng=rng))  # depends on the density
    return preset


def _sketches(preset, *, base, count, rng):
    """`count` items of the fitted `preset` (checked through `load_preset` on top of `base`)."""
    from synthscope.phantoms.presets import load_preset, make_item
    from synthscope.seeds import item_seed

    loaded = load_preset(base, settings={key: preset[key] for key in ("shape", "spacing", "nuclei", "render")})
    seed = int(np.random.default_rng(rng).integers(2**31))
    return [make_item(loaded, rng=item_seed(seed, i)) for i in range(count)]


def _in_focus(radius):
    return radius >= SMALL * np.median(radius)


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


def _summary(stats):
    medians = {k: float(np.nanmedian(stats[k])) for k in ("radius", "elongation", "solidity", "brightness",
                                                            "inner_cv", "density", "background")}
    return {
        **medians,
        "radius_p05": float(np.percentile(stats["radius"], 5)),
        "radius_p95": float(np.percentile(stats["radius"], 95)),
        "background_variation": float(np.nanmedian(stats["background_texture"])),
        "touching": float(np.mean(stats["touching"])),
        "count": float(stats["count"]),
        "blur": float(stats["blur"]),
        "noise": float(np.sqrt(np.nanmedian(stats["noise_background"]) / stats["noise_gain"])),
    }
