"""Training a shape model on phantom cells: the settings (a YAML file's keys) and the run."""

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path

import yaml

from synthscope.checks import check_choice, check_number, check_range
from synthscope.diffusion import Denoiser, PatchSampler, train_denoiser
from synthscope.errors import InputError
from synthscope.shape3d.cells import SOURCES, phantom_cells
from synthscope.shape3d.model import SHAPE_MODEL, conditions


@dataclasses.dataclass(frozen=True)
class ShapeTraining:
    """What `train_shape3d` does: the cells, the network and the budget (the keys of its YAML file).

    Parameters
    ----------
    out : str
        The model folder (checkpointed as training goes; relative to the YAML file).
    source : {"nuclei", "rbc"}
        Phantom cells to learn from (`synthscope.shape3d.cells.phantom_cells`).
    cells : int
        Cells made (each seen many times, flipped and turned).
    size : int
        The grid's side.
    flatten : (float, float)
        Nuclei: range of the flattening along z.
    channels : tuple of int
        Feature channels of the U-Net per level.
    steps, batch_size, lr : int, int, float
        Optimiser steps, cells per step, AdamW learning rate.
    bf16 : bool, optional
        bfloat16 autocast of the training passes (off for 3D by default,
        `synthscope.diffusion.train_denoiser`).
    checkpoint_every : int
    seed : int
        Seeds the cells (cell i: ``item_seed(seed, i)``) and the training.

    Examples
    --------
    >>> ShapeTraining(out="m", source="rbc", steps=10).size
    32
    >>> ShapeTraining(out="m", source="yeast")
    Traceback (most recent call last):
    ...
    synthscope.errors.InputError: source must be one of 'nuclei', 'rbc'; got 'yeast'
    """

    out: str
    source: str = "nuclei"
    cells: int = 1500
    size: int = 32
    flatten: tuple = (0.5, 1.0)
    channels: tuple = SHAPE_MODEL.channels
    steps: int = 3000
    batch_size: int = 4
    lr: float = 5e-4
    bf16: bool | None = None
    checkpoint_every: int = 500
    seed: int = 0

    def __post_init__(self):
        check_choice(self.source, "source", SOURCES)
        for name in ("cells", "size", "steps", "batch_size", "checkpoint_every"):
            check_number(getattr(self, name), name, low=1, integer=True)
        check_number(self.seed, "seed", low=0, integer=True)
        check_number(self.lr, "lr", low=0, high=1, low_open=True)
        object.__setattr__(self, "flatten", check_range(self.flatten, "flatten", low=0, high=1, low_open=True))
        object.__setattr__(
            self, "channels", tuple(check_number(c, "channels", low=1, integer=True) for c in self.channels)
        )
        if self.size % 2 ** (len(self.channels) - 1):
            raise InputError(
                f"size: must be a multiple of {2 ** (len(self.channels) - 1)} for {len(self.channels)} levels"
            )
        if self.bf16 is not None and not isinstance(self.bf16, bool):
            raise InputError(f"bf16 must be true, false or null, got {self.bf16!r}")

    @classmethod
    def from_yaml(cls, path: str | os.PathLike) -> "ShapeTraining":
        """Read the settings from a YAML file; a relative ``out`` is relative to the file."""
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as error:
            raise InputError(f"{path}: cannot read the training settings ({str(error).splitlines()[0]})") from None
        if not isinstance(data, dict) or "out" not in data:
            raise InputError(f"{path}: expected a mapping with at least 'out'")
        unknown = sorted(set(data) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise InputError(f"{path}: unknown keys {unknown}")
        data["out"] = str(path.parent / data["out"])
        return cls(**data)

    def to_dict(self) -> dict:
        """The settings as a JSON-ready dict."""
        return dataclasses.asdict(self)


def train_shape3d(
    training: ShapeTraining, *, resume: bool = False, callback: Callable[..., None] | None = None
) -> tuple[Denoiser, dict]:
    """Make the phantom cells, train a shape model on them into ``training.out``; return it and its statistics.

    Examples
    --------
    >>> import tempfile
    >>> settings = ShapeTraining(out=tempfile.mkdtemp(), source="rbc", cells=2, size=16, channels=(8, 8),
    ...                          steps=2, batch_size=2)
    >>> model, stats = train_shape3d(settings)
    >>> model.config.patch_size, stats["steps"]
    ((16, 16, 16), 2)
    """
    cells = phantom_cells(
        training.source, training.cells, size=training.size, flatten=training.flatten, rng=training.seed
    )
    config = dataclasses.replace(
        SHAPE_MODEL,
        channels=training.channels,
        attention_levels=(False,) * len(training.channels),
        patch_size=(training.size,) * 3,
    )
    model = Denoiser(config)
    # The 3D mask is the image to denoise; the flips and turns keep the tiled section consistent.
    patches = PatchSampler(
        list(cells.shapes.astype("float32")),
        patch_size=config.patch_size,
        conditions=list(conditions(cells.images, cells.masks)),
        jitter=0.0,
    )
    stats = train_denoiser(
        model,
        patches,
        steps=training.steps,
        batch_size=training.batch_size,
        lr=training.lr,
        bf16=training.bf16,
        checkpoint_dir=training.out,
        checkpoint_every=training.checkpoint_every,
        resume=resume,
        rng=training.seed,
        callback=callback,
    )
    return model, stats
