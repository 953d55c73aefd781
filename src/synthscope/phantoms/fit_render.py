"""The ``render`` section of a fitted preset: background, haze, blur, noise and texture.

`_fit_render` reads them off `synthscope.phantoms.measure.measure`'s statistics, as the
module notes of `synthscope.phantoms.fit` describe; what the examples cannot give (no
background, no object interiors) takes the base preset's value, with a `FitWarning`.
"""

import numpy as np

from synthscope.phantoms.fit_fallback import fallback, finite
from synthscope.phantoms.measure import MARGIN

NO_BACKGROUND = f"too few pixels farther than {MARGIN} pixels from every label"


def _fit_render(stats, base):
    """Background, haze, blur, noise and texture from `stats`; `base` (a render section) gives what they cannot."""
    from synthscope.phantoms.render import RenderRecipe

    default = RenderRecipe.from_mapping(base, section_name="render").resolve()
    background = finite(np.median, stats["background"])
    if background is None:
        background = fallback("render.background", default["background"], NO_BACKGROUND, base=True)
    variation = finite(np.median, stats["background_texture"])
    if variation is None:
        haze = fallback("render.haze", default["haze"], NO_BACKGROUND, base=True)
    else:
        haze = min(3 * variation, 1.0)
    blur = float(stats["blur"])
    if not np.isfinite(blur):
        blur = fallback("render.blur", default["blur"], NO_BACKGROUND, base=True)
    level = finite(np.median, stats["level_objects"])
    gain = stats["noise_gain"]
    var_background, var_objects = (finite(np.median, stats[k]) for k in ("noise_background", "noise_objects"))
    if var_background is None or var_objects is None:
        noise = _base_noise(default, "no image has 10 pixels of background and 10 inside objects")
    elif level <= background:
        noise = _base_noise(default, "the objects are no brighter than the background")
    else:
        noise = _fit_noise(var_background / gain, var_objects / gain, background=background, level=level)
    photons, read_variance = noise
    level = float(np.median(stats["brightness"])) if level is None else level  # objects too thin to have insides
    noise_cv2 = (read_variance + level / photons) / max(level, 1e-3) ** 2
    texture = float(np.sqrt(max(np.median(stats["inner_cv"]) ** 2 - noise_cv2, 0.0)))
    return {
        "background": round(background, 4),
        "haze": round(haze, 4),
        "blur": blur,
        "photons": round(photons, 1),
        "read_noise": round(min(float(np.sqrt(read_variance)), 1.0), 4),
        "texture": round(min(texture, 1.0), 3),
    }


def _base_noise(default, reason):
    """The base preset's ``(photons, read_noise**2)`` (`default`: its resolved render section), with a warning."""
    photons, read_noise = default["photons"], default["read_noise"]
    fallback("render.photons, render.read_noise", f"{photons}, {read_noise}", reason, base=True)
    return photons, read_noise**2


def _fit_noise(var_background, var_objects, *, background, level):
    """``(photons, read_noise**2)`` from the fine-scale noise variance in the background and inside objects.

    Render's noise variance is ``read_noise**2 + level / photons``: solved at the two
    levels (`level` above `background`).
    """
    shot = max(var_objects - var_background, 1e-12)
    photons = (level - background) / shot
    read_variance = var_background - background / photons
    if read_variance < 0.04 * var_background:  # object variance is more than noise: texture takes the rest
        read_variance = 0.04 * var_background
        # a flat background (no variance at all) has no shot noise: as many photons as `render` allows
        photons = background / (var_background - read_variance) if var_background > 0 else np.inf
    return float(np.clip(photons, 10, 1e5)), read_variance
