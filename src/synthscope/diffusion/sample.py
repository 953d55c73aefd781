"""Sampling: unconditional or conditional generation, SDEdit, region-held stages.

Images are float32 in [0, 1] in the API and in [-1, 1] inside the model; `_Layout` maps
user arrays (spatial, channel-first, or a 2D model's stack of slices) to model batches.
`_denoise` is the visible ``for t in timesteps`` loop; held regions and stages are a few
lines around it.
"""

import dataclasses
from collections.abc import Callable, Sequence

import numpy as np
import torch

from synthscope.diffusion.denoiser import Denoiser, autocast, from_model_range, to_model_range
from synthscope.diffusion.schedulers import make_scheduler, training_scheduler
from synthscope.diffusion.slice_noise import slice_noise
from synthscope.diffusion.tiling import check_tiling, predict_tiled
from synthscope.errors import InputError
from synthscope.seeds import as_seed


@dataclasses.dataclass(frozen=True)
class Stage:
    """One refinement stage: re-noise to `t_start`, then denoise to 0.

    Parameters
    ----------
    t_start : int
        Noise level to start from, in (0, T]; larger changes the image more. T (the
        schedule's length) starts from pure noise: nothing of the input is kept (but its
        held region), as in `sample`.
    hold : numpy.ndarray, optional
        Float mask in [0, 1] of the image's spatial shape. Where it is 1, the sample is
        replaced at every step by the input noised to the current level, so the region
        ends equal to the input; soft (blurred) masks blend.
    """

    t_start: int
    hold: np.ndarray | None = None


def refine(
    model: Denoiser,
    image: np.ndarray,
    *,
    stages: Sequence[Stage] | None = None,
    condition: np.ndarray | None = None,
    class_labels: int | Sequence[int] | None = None,
    sampler: str = "dpm",
    steps: int = 20,
    rng: int | np.random.Generator | torch.Generator | None = None,
    tile_size: Sequence[int] | None = None,
    tile_overlap: float = 0.25,
    tile_batch: int = 8,
    slice_rho: float | None = None,
    bf16: bool | None = None,
    callback: Callable[..., None] | None = None,
) -> np.ndarray:
    """Return `image` refined by `model`: SDEdit, or several region-held stages in order.

    Parameters
    ----------
    model : Denoiser
    image : numpy.ndarray
        float32 in [0, 1]; spatial (``YX`` or ``ZYX``) or with a leading channel axis. A
        2D model given a ``ZYX`` (or ``CZYX``) volume refines it slice by slice.
    stages : list of Stage, optional
        Run in order, each re-noising the previous result; default one SDEdit stage
        ``[Stage(t_start=400)]``.
    condition : numpy.ndarray, optional
        Condition image(s) in [0, 1] of the image's spatial shape, for conditional models.
    class_labels : int or sequence of int, optional
        For a model with classes (``num_classes``), and only for one: the class of the
        image, or one per image of a 2D model's stack of slices. Every tile of an image
        has its class.
    sampler : {"dpm", "ddim", "ddpm"}
        DPM-Solver++ (fast default), DDIM, or ancestral DDPM.
    steps : int
        Network evaluations per stage (at most its ``t_start``).
    rng : int, numpy.random.Generator or torch.Generator, optional
        Source of all noise: a torch generator seeded with the int (or with one draw
        of the numpy Generator; fresh entropy when None), or the torch generator
        itself. The same seed gives the same output whatever the tiling.
    tile_size : tuple of int, optional
        Tile shape; the model's training patch size when omitted.
    tile_overlap : float
        Overlap of neighbouring tiles, as a fraction of the tile.
    tile_batch : int
        Tiles per network call.
    slice_rho : float, optional
        For a 2D model on a volume: correlate all noise between slices (initial noise
        and every injected or ancestral noise), see `slice_noise`.
    bf16 : bool, optional
        bfloat16 autocast; automatic when None.
    callback : callable, optional
        ``callback(done, total, stage=..., t=...)`` after each network evaluation.

    Returns
    -------
    numpy.ndarray
        float32 in [0, 1], the shape of `image`.

    Raises
    ------
    InputError
        For input the model cannot take, before any work; naming the model, when it
        gives NaN or infinite values (damaged weights).

    Examples
    --------
    >>> from synthscope.diffusion import build_denoiser
    >>> model = build_denoiser(channels=(8, 8, 8), patch_size=(16, 16)).eval()
    >>> out = refine(model, np.full((16, 24), 0.5, np.float32), stages=[Stage(t_start=100)], steps=2, rng=0)
    >>> out.shape, out.dtype
    ((16, 24), dtype('float32'))
    """
    stages = [Stage(t_start=400)] if stages is None else list(stages)
    if not stages or not all(isinstance(stage, Stage) for stage in stages):
        raise InputError(f"stages: expected a non-empty list of Stage, got {stages!r}")
    layout = _Layout(model.config, np.shape(image))
    x_input = to_model_range(layout.to_batch(image, model.config.in_channels, "image"))
    holds = [None if s.hold is None else layout.to_batch(s.hold, 1, "hold") for s in stages]
    # Fresh schedulers, one per stage, made first: this also checks every stage before any work.
    schedules = [make_scheduler(model.config, sampler, steps=steps, t_start=stage.t_start) for stage in stages]
    run = _Run(model, layout, condition, class_labels, rng, tile_size, tile_overlap, tile_batch, slice_rho, bf16)
    add_noise, length = training_scheduler(model.config).add_noise, model.config.num_train_timesteps
    total, done, x = sum(len(timesteps) for _, timesteps in schedules), 0, x_input
    for index, (stage, (scheduler, timesteps), hold) in enumerate(zip(stages, schedules, holds)):
        noise = run.noise()
        # At T the schedule still keeps a trace of the input (0.64 % for the linear one): a stage from T drops it.
        x = noise * scheduler.init_noise_sigma if stage.t_start == length else add_noise(x, noise, timesteps[:1])
        progress = _progress(callback, total, done, stage=index)
        x = _denoise(run, scheduler, timesteps, x, hold=hold, known=x_input, callback=progress)
        done += len(timesteps)
    return layout.from_batch(_finite(x, model))


def sample(
    model: Denoiser,
    shape: Sequence[int],
    *,
    condition: np.ndarray | None = None,
    class_labels: int | Sequence[int] | None = None,
    sampler: str = "dpm",
    steps: int = 20,
    rng: int | np.random.Generator | torch.Generator | None = None,
    tile_size: Sequence[int] | None = None,
    tile_overlap: float = 0.25,
    tile_batch: int = 8,
    slice_rho: float | None = None,
    bf16: bool | None = None,
    callback: Callable[..., None] | None = None,
) -> np.ndarray:
    """Return a new image of `shape` generated from pure noise.

    Parameters are those of `refine`; `shape` is the
    shape of the image to make (spatial, or with a leading channel axis).

    Examples
    --------
    >>> from synthscope.diffusion import build_denoiser
    >>> model = build_denoiser(channels=(8, 8, 8), patch_size=(16, 16)).eval()
    >>> sample(model, (16, 16), steps=2, rng=0).shape
    (16, 16)
    >>> two = build_denoiser(channels=(8, 8, 8), patch_size=(16, 16), num_classes=2).eval()
    >>> sample(two, (3, 16, 16), class_labels=[0, 1, 1], steps=2, rng=0).shape  # three images, their classes
    (3, 16, 16)
    """
    layout = _Layout(model.config, tuple(shape))
    scheduler, timesteps = make_scheduler(model.config, sampler, steps=steps)
    run = _Run(model, layout, condition, class_labels, rng, tile_size, tile_overlap, tile_batch, slice_rho, bf16)
    x = run.noise() * scheduler.init_noise_sigma
    x = _denoise(run, scheduler, timesteps, x, callback=_progress(callback, len(timesteps), 0))
    return layout.from_batch(_finite(x, model))


@torch.inference_mode()
def _denoise(run, scheduler, timesteps, x, *, callback, hold=None, known=None):
    """The sampling loop: one network evaluation and one scheduler step per timestep."""
    add_noise = training_scheduler(run.model.config).add_noise
    ancestral = scheduler.config.algorithm_type.startswith("sde")
    for index, t in enumerate(timesteps):
        output = run.predict(x, t)
        x = scheduler.step(output, t, x, variance_noise=run.noise() if ancestral else None).prev_sample
        if hold is not None:  # RePaint-style: the held region follows the input's noising path
            following = timesteps[index + 1 : index + 2]
            x = torch.lerp(x, add_noise(known, run.noise(), following) if len(following) else known, hold)
        callback(index + 1, t=int(t))
    return x


class _Run:
    """What every step of a run shares: the model call (tiled, autocast) and the noise source.

    Condition images and class labels travel with the noisy batch as extra channels (a label
    as a constant channel), so that every tile keeps its image's condition and class.
    """

    def __init__(
        self, model, layout, condition, class_labels, rng, tile_size, tile_overlap, tile_batch, slice_rho, bf16
    ):
        config = model.config
        if (condition is None) != (config.condition_channels == 0):
            raise InputError(
                f"condition: the model takes {config.condition_channels} condition channels, "
                f"got {'none' if condition is None else 'a condition'}"
            )
        self.extra = []
        if condition is not None:
            self.extra.append(to_model_range(layout.to_batch(condition, config.condition_channels, "condition")))
        if (class_labels is None) != (config.num_classes == 0):
            raise InputError(
                f"class_labels: the model has {config.num_classes} classes, "
                f"got {'none' if class_labels is None else 'labels'}"
            )
        self.has_classes = class_labels is not None
        if self.has_classes:
            self.extra.append(_class_channel(class_labels, config.num_classes, layout.batch_shape))
        self.tile_size = tuple(config.patch_size if tile_size is None else tile_size)
        check_tiling(self.tile_size, tile_overlap, tile_batch, ndim=config.spatial_dims)
        if slice_rho is not None and slice_rho < 0:
            raise InputError(f"slice_rho: expected a non-negative number, got {slice_rho}")
        generator = rng if isinstance(rng, torch.Generator) else torch.Generator().manual_seed(as_seed(rng))
        self.model, self.shape, self.generator = model, layout.batch_shape, generator
        self.tile_overlap, self.tile_batch, self.slice_rho, self.bf16 = tile_overlap, tile_batch, slice_rho, bf16

    def noise(self):
        return slice_noise(self.shape, rho=self.slice_rho, generator=self.generator)

    def predict(self, x, t):
        channels, conditions = x.shape[1], self.model.config.condition_channels

        def network(tiles):
            condition = tiles[:, channels : channels + conditions] if conditions else None
            class_labels = tiles[:, -1].flatten(1)[:, 0].round().long() if self.has_classes else None
            with autocast(self.bf16):
                return self.model(tiles[:, :channels], t.expand(len(tiles)), condition, class_labels).float()

        inputs = torch.cat([x, *self.extra], dim=1) if self.extra else x
        return predict_tiled(
            network,
            inputs,
            tile_size=self.tile_size,
            overlap=self.tile_overlap,
            batch=self.tile_batch,
            multiple=self.model.config.size_multiple,
        )


class _Layout:
    """Maps user arrays (spatial, channel-first, or a 2D model's stack of slices) to model batches.

    The last ``spatial_dims`` axes are spatial. Before them may come one channel axis
    (when the model has several channels, or always for a 3D model) and, for a 2D model,
    one axis of slices, which become the batch.
    """

    def __init__(self, config, shape):
        dims, channels = config.spatial_dims, config.in_channels
        self.config, self.shape = config, tuple(shape)
        self.channel_axis = channels > 1 or len(shape) == dims + 2 or (dims == 3 and len(shape) == dims + 1)
        lead = self.shape[: len(shape) - dims][1 if self.channel_axis else 0 :]
        if len(shape) < dims or len(lead) > (1 if dims == 2 else 0) or (self.channel_axis and shape[0] != channels):
            raise InputError(f"image: shape {self.shape} does not fit a {dims}D model with {channels} channel(s)")
        self.stack = bool(lead)
        self.batch_shape = (lead[0] if lead else 1, channels, *self.shape[-dims:])

    def to_batch(self, array, channels, name):
        """Return `array` as a float32 tensor in [0, 1], ``(batch, channels, *spatial)``."""
        array = np.asarray(array, dtype=np.float32)
        spatial = self.shape[len(self.shape) - self.config.spatial_dims - self.stack :]
        expected = spatial if channels == 1 and array.shape == spatial else (channels, *spatial)
        if array.shape != expected:
            raise InputError(f"{name}: expected shape {expected} (or {spatial} for one channel), got {array.shape}")
        if not (array.min(initial=0) >= 0 and array.max(initial=0) <= 1):
            raise InputError(f"{name}: values must be in [0, 1], got [{array.min():.3g}, {array.max():.3g}]")
        tensor = torch.from_numpy(array.reshape(channels, *spatial))
        return tensor.transpose(0, 1) if self.stack else tensor[None]

    def from_batch(self, tensor):
        """Return a model batch (in [-1, 1]) as a float32 array in [0, 1] of the user's shape."""
        tensor = tensor.transpose(0, 1) if self.stack else tensor[0]
        return from_model_range(tensor).numpy().astype(np.float32).reshape(self.shape)


def _class_channel(class_labels, num_classes, batch_shape):
    """Return `class_labels` (one int, or one per image) as a constant channel per image of the batch."""
    labels = np.asarray(class_labels)
    items = batch_shape[0]
    labels = np.full(items, labels) if labels.ndim == 0 else labels
    if (
        labels.shape != (items,)
        or not np.issubdtype(labels.dtype, np.integer)
        or labels.min() < 0
        or labels.max() >= num_classes
    ):
        raise InputError(
            f"class_labels: expected an integer in [0, {num_classes}) or one per image ({items}), got {class_labels!r}"
        )
    channel = torch.from_numpy(labels.astype(np.float32))
    return channel.reshape(items, 1, *(1,) * (len(batch_shape) - 2)).expand(items, 1, *batch_shape[2:])


def _finite(x, model):
    """Return the sampled batch `x`, refusing NaN or infinite values (a model with damaged weights)."""
    if not torch.isfinite(x).all():
        source = getattr(model, "source", None) or {"path": "in memory"}
        raise InputError(f"model {source['path']}: gives NaN or infinite values; its weights may be damaged")
    return x


def _progress(callback, total, offset, **fields):
    """Return a callback that reports a stage's steps as steps of the whole run."""
    if callback is None:
        return lambda done, **more: None
    return lambda done, **more: callback(offset + done, total, **fields, **more)
