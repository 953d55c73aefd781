"""The denoising network: a config that round-trips through JSON and MONAI's U-Net.

One class for 2D and 3D (``spatial_dims``). Condition images (masks, sketches) are
concatenated to the noisy input as extra channels; a class label per image (``num_classes``)
selects a learned embedding that MONAI adds to the time embedding. The network predicts
``in_channels`` channels (the noise, or the velocity for ``prediction_type="v_prediction"``).
"""

import dataclasses
import math

import torch
from monai.networks.nets import DiffusionModelUNet

from synthscope.axes import check_axes
from synthscope.errors import InputError

PREDICTION_TYPES = ("epsilon", "v_prediction")
BETA_SCHEDULES = ("linear", "scaled_linear", "squaredcos_cap_v2")


@dataclasses.dataclass(frozen=True)
class DenoiserConfig:
    """Everything needed to rebuild a denoiser and its training noise schedule.

    Parameters
    ----------
    spatial_dims : int
        2 or 3.
    in_channels, condition_channels : int
        Image channels, and channels of the optional condition concatenated to them.
    num_classes : int
        Classes of a class-conditional model (one integer label per image, its embedding
        added to the time embedding); 0 for none. Like the time embedding, it reaches the
        network as per-channel offsets ahead of a group normalisation (groups: the largest
        common divisor of `channels`, at most 32), which removes them at every level whose
        groups hold one channel each: at the first level, and with channels (8, 8, 8) at all.
    channels, attention_levels : tuple
        Feature channels per resolution level, and which levels have self-attention
        (keep attention at the coarsest level only: it is quadratic in pixels).
    num_res_blocks, num_head_channels : int
        Residual blocks per level; channels per attention head.
    prediction_type : {"epsilon", "v_prediction"}
        What the network predicts.
    num_train_timesteps, beta_schedule, beta_start, beta_end :
        The training noise schedule (diffusers names).
    patch_size : tuple of int
        Training patch size; also the default tile size at sampling time.
    axes : str
        Spatial axes of the training images, ``"YX"`` or ``"ZYX"``.
    normalisation : dict
        How raw training images were mapped to [0, 1], recorded for provenance.

    Examples
    --------
    >>> config = DenoiserConfig(channels=(8, 8, 8))
    >>> DenoiserConfig.from_dict(config.to_dict()) == config
    True
    """

    spatial_dims: int = 2
    in_channels: int = 1
    condition_channels: int = 0
    num_classes: int = 0
    channels: tuple = (32, 64, 64)
    attention_levels: tuple = (False, False, True)
    num_res_blocks: int = 1
    num_head_channels: int = 32
    prediction_type: str = "epsilon"
    num_train_timesteps: int = 1000
    beta_schedule: str = "linear"
    beta_start: float = 0.0001
    beta_end: float = 0.02
    patch_size: tuple = (64, 64)
    axes: str = "YX"
    normalisation: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        for name in ("channels", "attention_levels", "patch_size"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if self.spatial_dims not in (2, 3):
            raise InputError(f"spatial_dims: expected 2 or 3, got {self.spatial_dims!r}")
        if not isinstance(self.num_classes, int) or self.num_classes < 0:
            raise InputError(f"num_classes: expected a non-negative integer, got {self.num_classes!r}")
        if len(self.attention_levels) != len(self.channels):
            raise InputError("attention_levels: needs one entry per entry of channels")
        if self.prediction_type not in PREDICTION_TYPES:
            raise InputError(f"prediction_type: expected one of {PREDICTION_TYPES}, got {self.prediction_type!r}")
        if self.beta_schedule not in BETA_SCHEDULES:
            raise InputError(f"beta_schedule: expected one of {BETA_SCHEDULES}, got {self.beta_schedule!r}")
        if len(self.patch_size) != self.spatial_dims or len(self.axes) != self.spatial_dims:
            raise InputError(f"patch_size {self.patch_size} and axes {self.axes!r} need {self.spatial_dims} entries")
        check_axes(self.axes, self.spatial_dims, name="axes")
        if any(p % self.size_multiple for p in self.patch_size):
            raise InputError(f"patch_size: each side must be a multiple of {self.size_multiple}")

    @property
    def size_multiple(self) -> int:
        """Image sides the network accepts are multiples of this (one halving per level)."""
        return 2 ** (len(self.channels) - 1)

    def to_dict(self) -> dict:
        """Return the config as a JSON-ready dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "DenoiserConfig":
        """Build a config from `data` (e.g. a parsed ``config.json``); unknown keys are an error."""
        unknown = sorted(set(data) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise InputError(f"denoiser config: unknown keys {unknown}")
        return cls(**data)


class Denoiser(torch.nn.Module):
    """MONAI ``DiffusionModelUNet`` that knows its config; ``forward(x, t, condition=None, class_labels=None)``.

    `class_labels` (a LongTensor of shape ``(B,)``, values in ``[0, num_classes)``) is
    required by a model with classes and refused by one without.

    Examples
    --------
    >>> model = Denoiser(DenoiserConfig(channels=(8, 8, 8), condition_channels=1))
    >>> x = torch.zeros(2, 1, 16, 16)
    >>> model(x, torch.tensor([10, 20]), condition=torch.zeros(2, 1, 16, 16)).shape
    torch.Size([2, 1, 16, 16])
    >>> classy = Denoiser(DenoiserConfig(channels=(8, 8, 8), num_classes=3))
    >>> classy(x, torch.tensor([10, 20]), class_labels=torch.tensor([0, 2])).shape
    torch.Size([2, 1, 16, 16])
    """

    def __init__(self, config: DenoiserConfig):
        super().__init__()
        self.config = config
        self.net = DiffusionModelUNet(
            spatial_dims=config.spatial_dims,
            in_channels=config.in_channels + config.condition_channels,
            out_channels=config.in_channels,
            channels=config.channels,
            attention_levels=config.attention_levels,
            num_res_blocks=config.num_res_blocks,
            norm_num_groups=min(32, math.gcd(*config.channels)),
            num_head_channels=[min(config.num_head_channels, c) for c in config.channels],
            use_flash_attention=True,
            num_class_embeds=config.num_classes or None,
        )

    def forward(
        self,
        x: torch.Tensor,
        t: torch.Tensor,
        condition: torch.Tensor | None = None,
        class_labels: torch.Tensor | None = None,
    ) -> torch.Tensor:
        classes = self.config.num_classes
        if (class_labels is None) != (classes == 0):
            raise InputError(
                f"class_labels: the model has {classes} classes, got {'none' if class_labels is None else 'labels'}"
            )
        if class_labels is not None:
            if class_labels.shape != (len(x),) or class_labels.is_floating_point():
                raise InputError(
                    f"class_labels: expected {len(x)} integer labels, got {class_labels.dtype} "
                    f"{tuple(class_labels.shape)}"
                )
            if len(x) and not 0 <= int(class_labels.min()) <= int(class_labels.max()) < classes:
                raise InputError(f"class_labels: expected values in [0, {classes}), got {class_labels.tolist()}")
        if condition is not None:
            x = torch.cat([x, condition.to(x.dtype)], dim=1)
        return self.net(x, t, class_labels=class_labels)


def build_denoiser(config: DenoiserConfig | None = None, **options) -> Denoiser:
    """Return a new, randomly initialised `Denoiser` from `config` or from config keywords.

    Examples
    --------
    >>> model = build_denoiser(channels=(8, 8, 8), spatial_dims=3, patch_size=(16, 16, 16), axes="ZYX")
    >>> model.config.spatial_dims
    3
    """
    if config is None:
        config = DenoiserConfig(**options)
    elif options:
        config = dataclasses.replace(config, **options)
    return Denoiser(config)


def use_bf16(bf16=None):
    """Return whether denoiser passes run in bfloat16: `bf16`, or when None, whether the CPU
    has native bfloat16 (AVX512-BF16 or AMX; about 2.5x faster than float32 here)."""
    return torch.ops.mkldnn._is_mkldnn_bf16_supported() if bf16 is None else bool(bf16)


def autocast(bf16=None):
    """Return the autocast context for denoiser passes: bfloat16 per `use_bf16`, else float32."""
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=use_bf16(bf16))


def to_model_range(x):
    """Map intensities from [0, 1] (everywhere in synthscope) to [-1, 1] (inside the model)."""
    return x * 2 - 1


def from_model_range(x):
    """Map model values back to [0, 1], clipping what the sampler overshot."""
    return ((x + 1) / 2).clamp(0, 1)
