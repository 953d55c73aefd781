"""Sketches: the masks of an `Item` drawn as a coarse image for the diffusion model to refine."""

import dataclasses

import numpy as np
from scipy import ndimage as ndi
from scipy.signal import fftconvolve
from scipy.special import j1
from skimage.segmentation import find_boundaries

from synthscope import checks as check
from synthscope.errors import InputError
from synthscope.item import Item
from synthscope.phantoms.recipe import Recipe, choice, number, pair
from synthscope.phantoms.texture import value_noise

MODALITIES = ("fluorescence", "tem", "multichannel")
PSFS = ("gaussian", "airy")
AXIAL_PSF = 3.0  # a widefield/confocal PSF is about three times longer along z than across
TEM_LEVELS = {"background": 0.72, "matrix": 0.58, "membrane": 0.3, "wall": 0.2, "lumen": 0.48, "arms": 0.34}


@dataclasses.dataclass(frozen=True, kw_only=True)
class RenderRecipe(Recipe):
    """The parameters of `render`: the modality, the levels, the texture, the PSF and the noise.

    Parameters
    ----------
    modality : {"fluorescence", "tem", "multichannel"}
    channel : str
        What fluorescence draws: ``"labels"`` (filled objects) or the name of a mask in
        ``item.masks`` (instance labels get per-object brightness, boolean masks one level).
    channels : sequence of str
        The channels of a multichannel sketch, each as `channel`.
    background : float, optional
        Level of empty background; 0.1 for fluorescence, 0.72 for TEM when None.
    background_texture : float
        Fluorescence: standard deviation (intensity units, in [0, 0.5]) of a smooth additive
        variation of the background, features about a quarter of the image's smaller side
        (y, x) wide in every spatial axis, the same in every frame; clipped so that the
        background stays >= 0. Objects keep their levels.
    haze : float
        Fluorescence: peak intensity, in [0, 1], of out-of-focus light from nuclei above and
        below the imaged plane: unlabelled Gaussian blobs (standard deviation 0.7 of the
        median object radius, peaks uniform in ``[0.3, 1] * haze``, about 0.4 of the area
        covered; overlapping blobs add) added to the background. Annotations of real
        sections leave this light unlabelled, and a segmenter must learn to ignore it.
    brightness : float or (float, float)
        Range of object brightness when the item does not record it.
    texture : float
        Relative amplitude of the smooth texture on objects (and on TEM cytoplasm).
    texture_scale : float
        Fluorescence: feature size in pixels (of the last axis) of the object texture, in
        [1, 1024]; about 4-8 gives a granular, chromatin-like texture.
    blur : float
        Standard deviation of the PSF in pixels of the last axis. Objects whose record has
        ``defocus`` ``h > 0`` (`synthscope.phantoms.nuclei` with ``out_of_focus_fraction``)
        are blurred by a Gaussian of ``blur * (1 + h)`` instead (whatever `psf`: a
        defocused PSF has no sharp rings), each in its own box, and added.
    psf : {"gaussian", "airy"}
        Fluorescence PSF: a Gaussian, or Born-Wolf-like: the in-focus Airy pattern (with its
        rings) across, fitted to `blur`, and a Gaussian along z.
    illumination : float
        Fluorescence: relative amplitude, in [0, 1), of a smooth multiplicative illumination
        field over y and x (features about half the image's smaller side, constant along z
        and time): the field spans ``1 - illumination`` to ``1 + illumination`` at its
        extremes and multiplies objects and background before the noise.
    photons : float
        Expected photons at intensity 1 (fluorescence): lower is noisier.
    read_noise : float, optional
        Standard deviation of additive Gaussian noise; 0.01 for fluorescence, 0.04 for TEM
        when None.

    Examples
    --------
    >>> recipe = RenderRecipe(modality="tem")
    >>> recipe.background is None, recipe.resolve()["background"]
    (True, 0.72)
    >>> RenderRecipe(psf="confocal")
    Traceback (most recent call last):
    ...
    synthscope.errors.InputError: psf must be one of 'gaussian', 'airy'; got 'confocal'
    """

    modality: str = choice("fluorescence", MODALITIES)
    channel: str = "labels"
    channels: tuple[str, ...] = ("nuclei", "membrane")
    background: float | None = number(None, low=0, high=1)
    background_texture: float = number(0.0, low=0, high=0.5)
    haze: float = number(0.0, low=0, high=1)
    brightness: float | tuple[float, float] = pair((0.35, 0.8), low=0, high=1)
    texture: float = number(0.15, low=0, high=1)
    texture_scale: float = number(24.0, low=1, high=1024)
    blur: float = number(1.0, low=0, high=50)
    psf: str = choice("gaussian", PSFS)
    illumination: float = number(0.0, low=0, high=1, high_open=True)
    photons: float = number(200.0, low=1)
    read_noise: float | None = number(None, low=0, high=1)

    def __post_init__(self):
        super().__post_init__()
        channels = self.channels
        if (
            not isinstance(self.channel, str)
            or not isinstance(channels, (list, tuple))
            or not channels
            or not all(isinstance(n, str) for n in channels)
        ):
            raise InputError(f"channel must be a name and channels a list of names; got {self.channel!r}, {channels!r}")
        self._store(channels=tuple(channels))

    def resolve(self) -> dict:
        """Return what the drawing code reads (a dict): the fields with the modality's default levels.

        ``names`` lists the channels drawn (`channel`, or `channels` for multichannel), and
        ``background`` and ``read_noise`` are the modality's defaults where None.
        """
        tem = self.modality == "tem"
        return dict(
            self.to_dict(),
            names=list(self.channels) if self.modality == "multichannel" else [self.channel],
            background=(TEM_LEVELS["background"] if tem else 0.1) if self.background is None else self.background,
            read_noise=(0.04 if tem else 0.01) if self.read_noise is None else self.read_noise,
        )


def render(item: Item, recipe: RenderRecipe | None = None, *, rng: check.Rng = None, **params) -> np.ndarray:
    """Return the sketch of `item`: float32 in [0, 1], laid out like ``item.labels``.

    Fluorescence: the background at `background` (default 0.1; with `background_texture`
    a smooth field around it), each object at its own brightness
    (``item.metadata["objects"][i]["brightness"]`` when the generator set it, else drawn
    from `brightness`), modulated by smooth texture, blurred by the PSF (`AXIAL_PSF` times
    longer along z; objects recorded out of focus more, see `blur`), multiplied by the
    `illumination` field, then Poisson noise (`photons` at intensity 1) and Gaussian read
    noise. Nuclei beyond the section (``item.masks["out_of_plane"]`` with records in
    ``item.metadata["out_of_plane"]``, from `synthscope.phantoms.nuclei`) add their light,
    blurred by ``blur * (1 + h)`` and unlabelled, to the background. Typical values:
    background 0.05-0.15, objects 0.3-0.9.

    TEM (cilia items): dark stained structures on a lighter cytoplasm (`TEM_LEVELS`:
    cytoplasm ~0.72 with Perlin-like texture, ciliary matrix ~0.58, membrane ~0.3, tubule
    walls ~0.2 around lumens ~0.48, dynein arms and spokes ~0.34), blurred, plus Gaussian
    noise of standard deviation `read_noise`.

    Multichannel: one fluorescence channel per entry of `channels`, stacked first (``C``).

    Parameters
    ----------
    item : Item
        With time, the axes start with ``T`` and every frame is drawn alike (no blur in time).
    recipe, **params
        The parameters: a `RenderRecipe` (which documents each; by default every default)
        and fields of it as keywords, which replace its own.
    rng : int or numpy.random.Generator, optional

    Returns
    -------
    sketch : ndarray of float32
        Values in [0, 1]; shape ``item.labels.shape``, with a leading channel axis for
        multichannel.

    Examples
    --------
    >>> from synthscope.phantoms import nuclei
    >>> sketch = render(nuclei((64, 64), count=6, radius=7, rng=0), rng=0)
    >>> sketch.dtype, sketch.shape, bool(0 <= sketch.min() and sketch.max() <= 1)
    (dtype('float32'), (64, 64), True)
    >>> item = nuclei((64, 64), count=6, radius=7, out_of_focus_fraction=0.5, rng=0)
    >>> sketch = render(item, RenderRecipe(texture_scale=6, illumination=0.2), background_texture=0.02, rng=0)
    >>> sketch.shape, bool(0 <= sketch.min() and sketch.max() <= 1)
    ((64, 64), True)
    """
    p = RenderRecipe.of(recipe, **params).resolve()
    rng = check.as_rng(rng)
    if p["modality"] == "tem":
        return _tem(
            item, background=p["background"], texture=p["texture"], blur=p["blur"], noise=p["read_noise"], rng=rng
        )
    names = p["names"]
    for name in names:
        if name != "labels" and name not in item.masks:
            raise InputError(
                f"render: channel {name!r} is not a mask of this item; choose from {['labels', *item.masks]}"
            )
    # the smooth fields belong to the microscope: one draw, shared by every channel
    ground = p["background"]
    if p["background_texture"]:
        ground = np.clip(ground + p["background_texture"] * _smooth(item, 0.25, octaves=2, rng=rng), 0, None)
    if p["haze"]:
        ground = ground + p["haze"] * _haze(item, rng)
    if "out_of_plane" in item.masks:
        ground = ground + _out_of_plane(item, p["blur"])
    field = None
    if p["illumination"]:
        field = _smooth(item, 0.5, octaves=1, lateral=True, rng=rng)
        field = 1 + p["illumination"] * field / max(float(np.abs(field).max()), 1e-12)
    options = {k: p[k] for k in ("brightness", "texture", "texture_scale", "blur", "psf", "photons", "read_noise")}
    sketches = [
        _fluorescence(
            item,
            item.labels if n == "labels" else item.masks[n],
            background=ground,
            illumination=field,
            rng=rng,
            **options,
        )
        for n in names
    ]
    return np.stack(sketches) if p["modality"] == "multichannel" else sketches[0]


def _fluorescence(
    item, mask, *, background, brightness, texture, texture_scale, blur, psf, illumination, photons, read_noise, rng
):
    defocus = {}  # id -> relative height h of an out-of-focus section
    if mask.dtype == bool:
        levels = np.where(mask, np.mean(brightness), 0).astype(np.float32)
    else:
        table = np.zeros(int(mask.max()) + 1, np.float32)
        table[1:] = rng.uniform(*brightness, size=table.size - 1)
        for record in item.metadata.get("objects", []):
            if "brightness" in record and record["id"] < table.size:
                table[record["id"]] = record["brightness"]
            if record.get("defocus", 0) > 0 and record["id"] < table.size:
                defocus[record["id"]] = record["defocus"]
        levels = table[mask]
    foreground = levels > 0
    image = np.where(foreground, levels * (1 + texture * _noise(item, rng, scale=texture_scale)), background)
    image = image.astype(np.float32)
    if defocus:
        image = _blur_defocused(image, mask, defocus, background, item, blur, psf)
    else:
        image = _blur(image, item, blur, psf)
    if illumination is not None:
        image *= illumination
    image = rng.poisson(np.clip(image, 0, None) * photons) / photons + rng.normal(0, read_noise, image.shape)
    return np.clip(image, 0, 1).astype(np.float32)


def _blur_defocused(image, mask, defocus, background, item, blur, psf):
    """Blur `image`, the objects of `defocus` (id -> h) by a Gaussian of ``blur * (1 + h)`` each.

    By linearity: the in-focus image (background where the out-of-focus objects are) gets
    the PSF, and each out-of-focus object's excess over the background is blurred in its
    own padded box and added.
    """
    out_of_focus = np.zeros(int(mask.max()) + 1, bool)
    out_of_focus[list(defocus)] = True
    ground = np.broadcast_to(background, image.shape)
    result = _blur(np.where(out_of_focus[mask], ground, image).astype(np.float32), item, blur, psf)
    sigmas = {index: _sigmas(item, blur * (1 + h)) for index, h in defocus.items()}
    for index, box in _padded_boxes(mask, sigmas):
        own = np.where(mask[box] == index, image[box] - ground[box], 0).astype(np.float32)
        result[box] += ndi.gaussian_filter(own, sigmas[index], mode="nearest")
    return result


def _out_of_plane(item, blur):
    """The light of the nuclei beyond the section (``masks["out_of_plane"]``), each blurred by ``blur * (1 + h)``.

    The PSF that blurs the whole image afterwards makes up the rest of that width.
    """
    mask = item.masks["out_of_plane"]
    light = np.zeros(mask.shape, np.float32)
    records = {r["id"]: r for r in item.metadata.get("out_of_plane", [])}
    sigmas = {i: _sigmas(item, blur * np.sqrt((1 + r["defocus"]) ** 2 - 1)) for i, r in records.items()}
    for index, box in _padded_boxes(mask, sigmas):
        own = np.where(mask[box] == index, records[index]["brightness"], 0).astype(np.float32)
        light[box] += ndi.gaussian_filter(own, sigmas[index], mode="nearest")
    return light


def _padded_boxes(mask, sigmas):
    """``(index, box)`` of every object of `mask` named in `sigmas` (id -> per-axis sigma), padded by 4 sigma."""
    boxes = ndi.find_objects(mask)
    for index, sigma in sigmas.items():
        if index > len(boxes) or boxes[index - 1] is None:
            continue
        yield (
            index,
            tuple(
                slice(max(s.start - int(np.ceil(4 * g)), 0), s.stop + int(np.ceil(4 * g)))
                for s, g in zip(boxes[index - 1], sigma)
            ),
        )


def _tem(item, *, background, texture, blur, noise, rng):
    if "membrane" not in item.masks or item.classes is None:
        raise InputError("render: modality 'tem' needs a cilia item (classes and a 'membrane' mask)")
    levels = TEM_LEVELS
    image = background + 0.3 * texture * _noise(item, rng, scale=64, octaves=4)
    membrane = item.masks["membrane"]
    image[membrane] = levels["matrix"] + 0.3 * texture * _noise(item, rng, scale=12)[membrane]
    image[_rim(membrane, 3)] = levels["membrane"]
    for name in ("outer_arms", "inner_arms", "spokes"):
        image[item.masks[name]] = levels["arms"]
    tubules = item.labels > 0
    image[tubules] = levels["lumen"]
    image[tubules & ndi.binary_dilation(find_boundaries(item.labels, mode="inner"), iterations=2)] = levels["wall"]
    image = ndi.gaussian_filter(image, blur) + rng.normal(0, noise, image.shape)
    return np.clip(image, 0, 1).astype(np.float32)


def _rim(mask, width):
    """The band of `mask` about `width` pixels wide along its edge."""
    return mask & ~ndi.binary_erosion(mask, iterations=width, border_value=1)


def _noise(item, rng, scale=24, octaves=2):
    """Texture noise for every frame of `item`, independent between frames."""
    scale = [1 if a == "T" else scale / item_scale for a, item_scale in zip(item.axes, _scale(item))]
    return value_noise(item.labels.shape, scale=scale, octaves=octaves, rng=rng)


def _smooth(item, size, *, octaves, rng, lateral=False):
    """Smooth noise (unit standard deviation) over the spatial axes of `item`, the same in every frame.

    Features are `size` times the smaller of the y and x sides (lengths in pixels of the
    last axis); `lateral` makes it vary over y and x only. The result broadcasts against
    the labels (size-1 axes for time, and for z when `lateral`).
    """
    steps = _scale(item)
    spatial = [a not in ("T", "Z") if lateral else a != "T" for a in item.axes]
    feature = size * min(n * s for n, s, a in zip(item.labels.shape, steps, item.axes) if a in "YX")
    shape = [n if keep else 1 for n, keep in zip(item.labels.shape, spatial)]
    scale = [feature / s for s in steps]
    return value_noise(shape, scale=scale, octaves=octaves, rng=rng)


def _haze(item, rng, cover=0.4):
    """Unlabelled out-of-focus nuclei: Gaussian blobs with peaks in [0.3, 1], the same in every frame."""
    spatial = [a != "T" for a in item.axes]
    shape = [n if keep else 1 for n, keep in zip(item.labels.shape, spatial)]
    steps = [s for s, keep in zip(_scale(item), spatial) if keep]
    sizes = np.bincount(item.labels.ravel())[1:]
    volume = float(np.median(sizes[sizes > 0])) * np.prod(steps) if np.any(sizes) else 50.0 ** len(steps)
    radius = (volume / (np.pi if len(steps) == 2 else 4 / 3 * np.pi)) ** (1 / len(steps))
    extent = np.prod([n * s for n, s in zip(item.labels.shape, _scale(item)) if n > 1])
    count = max(1, round(cover * extent / (np.pi * radius**2 if len(steps) == 2 else 4 / 3 * np.pi * radius**3)))
    impulses = np.zeros([n for n, keep in zip(shape, spatial) if keep], np.float32)
    points = tuple(rng.integers(0, n, count) for n in impulses.shape)
    np.add.at(impulses, points, rng.uniform(0.3, 1.0, count).astype(np.float32))
    sigma = [0.7 * radius / s for s in steps]
    peak = np.prod([1 / (np.sqrt(2 * np.pi) * g) for g in sigma])  # of a unit impulse, blurred
    return (ndi.gaussian_filter(impulses, sigma, mode="wrap") / peak).reshape(shape)


def _scale(item):
    """Pixel size of every axis relative to the last one (1 for time)."""
    last = item.spacing.get(item.axes[-1], 1.0)
    return [1.0 if a == "T" else item.spacing.get(a, last) / last for a in item.axes]


def _sigmas(item, blur):
    """Per-axis Gaussian standard deviation in pixels of a PSF of width `blur` (longer along z, none in time)."""
    return [0.0 if a == "T" else blur / s * (AXIAL_PSF if a == "Z" else 1) for a, s in zip(item.axes, _scale(item))]


def _blur(image, item, blur, psf):
    """Convolve `image` with the PSF: Gaussian, or an Airy pattern across and a Gaussian along z."""
    sigma = _sigmas(item, blur)
    if psf == "gaussian" or blur == 0:
        return ndi.gaussian_filter(image, sigma, mode="nearest")
    image = ndi.gaussian_filter(image, [s if a == "Z" else 0 for a, s in zip(item.axes, sigma)], mode="nearest")
    kernel = airy_kernel(blur)
    kernel = kernel.reshape((1,) * (image.ndim - 2) + kernel.shape)
    pad = kernel.shape[-1] // 2
    padded = np.pad(image, [(0, 0)] * (image.ndim - 2) + [(pad, pad)] * 2, mode="edge")
    return fftconvolve(padded, kernel, mode="valid", axes=(-2, -1)).astype(np.float32)


def airy_kernel(sigma, rings=3):
    """Normalised 2D Airy pattern ``(2 J1(v) / v)**2`` whose core matches a Gaussian of `sigma` pixels.

    The best Gaussian fit of the Airy disc has a standard deviation of 0.344 times the
    radius of its first dark ring; dark ring ``k`` lies near ``(k + 0.22) / 1.22`` times
    that radius, and the kernel reaches out to ring `rings`.

    Examples
    --------
    >>> kernel = airy_kernel(1.0)
    >>> kernel.shape, round(float(kernel.sum()), 6)
    ((17, 17), 1.0)
    """
    first_zero = sigma / 0.344
    half = int(np.ceil(first_zero * (rings + 0.22) / 1.22))
    y, x = np.mgrid[-half : half + 1, -half : half + 1]
    v = 3.8317 * np.hypot(y, x) / first_zero
    safe = np.where(v == 0, 1.0, v)
    kernel = np.where(v == 0, 1.0, (2 * j1(safe) / safe) ** 2)
    return (kernel / kernel.sum()).astype(np.float32)
