"""How close a fitted preset comes: the examples' statistics beside those of its sketches.

`fit_report` fits a preset (`synthscope.phantoms.fit.fit_preset`), draws sketches of it and
measures both with `synthscope.phantoms.measure`; `fit_table` prints the result.
"""

import numpy as np

from synthscope import checks as check
from synthscope.phantoms.fit import _clearer, _sketches, fit_preset
from synthscope.phantoms.fit_fallback import finite
from synthscope.phantoms.measure import measure


def compare(reference, candidate):
    """Return rows ``(statistic, reference value, candidate value, relative difference)``.

    Each statistic is a median over objects or images (``touching``: a fraction;
    ``unlabelled``: the mean share of unlabelled blobs; ``count``: objects per image), so
    that two `measure` results can be compared. A statistic that one of them does not
    measure (e.g. the background of images without background pixels) is None there,
    and so is its difference.

    Examples
    --------
    >>> from synthscope.phantoms import nuclei, render
    >>> item = nuclei((96, 96), count=10, radius=(6, 9), rng=0)
    >>> stats = measure([render(item, rng=0)], [item.labels])
    >>> {name: round(diff, 3) for name, _, _, diff in compare(stats, stats)}["radius"]
    0.0
    """
    rows = []
    others = _summary(candidate)
    for name, value in _summary(reference).items():
        other = others[name]
        difference = None if value is None or other is None else abs(other - value) / max(abs(value), 1e-3)
        rows.append((name, value, other, difference))
    return rows


def fit_report(images, labels, *, base="nuclei-2d", spacing=None, check_count=8, rng=0):
    """Fit a preset and measure how close sketches of it come to the annotated images.

    With out-of-plane nuclei fitted, the generated images are meant to be more varied
    than the examples (every depth between the clearest and the most out of focus,
    evenly), so the statistics of the cell layer compare the clearer half of the
    examples with sketches drawn without out-of-plane nuclei, and the shares of
    unlabelled blobs are compared separately.

    Returns
    -------
    preset : dict
        As `fit_preset` (which warns, with a `synthscope.phantoms.FitWarning`, of
        each statistic the examples cannot give).
    report : dict
        ``"fitted"``: the fitted nuclei and render parameters; ``"comparison"``: the
        rows of `compare` between the annotated images and `check_count` sketches
        of the fitted preset; with out-of-plane nuclei, ``"unlabelled"``: the least,
        mean and most per-image share of unlabelled blobs in the examples and in the
        sketches.
    """
    check.check_number(check_count, "check_count", low=1, high=1000, integer=True)
    preset = fit_preset(images, labels, base=base, spacing=spacing, rng=rng)
    seed = np.random.default_rng(rng).integers(2**31) + 1
    reference = measure(images, labels, spacing=spacing)
    report = {
        "fitted": {"nuclei": preset["nuclei"], "render": preset["render"]},
        "images": len(images),
        "objects": len(reference["radius"]),
        "check_count": check_count,
    }
    layer = preset
    if np.any(preset["nuclei"].get("out_of_plane", 0)):
        items = _sketches(preset, base=base, count=check_count, rng=seed)
        shares = measure([i.sketch for i in items], [i.labels for i in items], spacing=spacing)["unlabelled"]
        report["unlabelled"] = {
            name: [round(float(f(v)), 3) for f in (np.min, np.mean, np.max)]
            for name, v in (("yours", reference["unlabelled"]), ("generated", shares))
        }
        clear = _clearer(reference)
        reference = measure(
            [x for x, c in zip(images, clear) if c], [x for x, c in zip(labels, clear) if c], spacing=spacing
        )
        layer = {**preset, "nuclei": {**preset["nuclei"], "out_of_plane": 0.0}}
    items = _sketches(layer, base=base, count=check_count, rng=seed)
    generated = measure([i.sketch for i in items], [i.labels for i in items], spacing=spacing)
    report["comparison"] = [
        dict(statistic=n, yours=_round(a, 4), generated=_round(b, 4), relative_difference=_round(d, 3))
        for n, a, b, d in compare(reference, generated)
    ]
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
    fitted = [
        f"| {section}.{key} | {value} |"
        for section, values in report["fitted"].items()
        for key, value in values.items()
    ]
    rows = [
        f"| {r['statistic']} | {_text(r['yours'], 4)} | {_text(r['generated'], 4)} | "
        f"{_text(r['relative_difference'], 3)} |"
        for r in report["comparison"]
    ]
    shares = report.get("unlabelled")  # see `fit_report`: with it, the comparison is of the cell layer
    statistic = "statistic (clearer half of yours; generated without out-of-plane nuclei)" if shares else "statistic"
    lines = [
        "| fitted | value |",
        "| --- | --- |",
        *fitted,
        "",
        f"| {statistic} | yours | generated | relative difference |",
        "| --- | --- | --- | --- |",
        *rows,
    ]
    if shares:
        lines += [
            "",
            "| share of unlabelled blobs per image | least | mean | most |",
            "| --- | --- | --- | --- |",
            *(f"| {name} | {' | '.join(f'{v:.3g}' for v in values)} |" for name, values in shares.items()),
        ]
    return "\n".join(lines) + "\n"


def _round(value, digits):
    return None if value is None else round(value, digits)


def _text(value, digits):
    return "n/a" if value is None else f"{value:.{digits}g}"


def _summary(stats):
    medians = {
        k: finite(np.median, stats[k])
        for k in ("radius", "elongation", "solidity", "brightness", "inner_cv", "density", "background")
    }
    noise = finite(np.median, stats["noise_background"])
    return {
        **medians,
        "radius_p05": finite(np.percentile, stats["radius"], 5),
        "radius_p95": finite(np.percentile, stats["radius"], 95),
        "background_variation": finite(np.median, stats["background_texture"]),
        "touching": finite(np.mean, stats["touching"]),
        "unlabelled": float(np.mean(stats["unlabelled"])),
        "count": float(stats["count"]),
        "blur": float(stats["blur"]) if np.isfinite(stats["blur"]) else None,
        "noise": None if noise is None else float(np.sqrt(noise / stats["noise_gain"])),
    }
