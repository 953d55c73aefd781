"""`RefineSpec`: the ``refine:`` section of a preset, its keys, defaults and checks.

Every ``refine.*`` key is a field of `RefineSpec` with its default; `RefineSpec.from_mapping`
reads a preset's section (from YAML or ``--set``) and refuses an unknown key, a value of the
wrong type or out of range, with one line naming the key.
"""

import dataclasses
import typing

from synthscope.checks import check_choice, check_number
from synthscope.errors import InputError
from synthscope.phantoms.cilia import MASKS as CILIA_MASKS
from synthscope.phantoms.recipe import fits

#: The samplers of `synthscope.diffusion.refine` (its ``SAMPLERS``, named here to check a preset without torch).
SAMPLERS = ("dpm", "ddim", "ddpm")
#: What `refine_item` may do when image and labels disagree (``refine.mismatch``), the default first.
MISMATCH_POLICIES = ("retry", "relabel", "keep")
#: The held regions a stage may name (see `synthscope.refine.held_region`).
HELD_REGIONS = ("objects", "tubules", "background", "empty", "axoneme_minus_tubules", "nuclei", *CILIA_MASKS)
#: The annotation updates (``refine.update``), the default first: every edge moved to the image's
#: (`synthscope.annotate.update_labels`), or TEM tubules fitted with their lumens filled
#: (`synthscope.annotate.tubules.update_tubules`).
UPDATES = ("edges", "tubules")
#: The ``refine.condition`` settings and how many channels each gives a conditional model.
CONDITION_CHANNELS = {None: 0, "mask": 1, "mask+out_of_plane": 2}
#: A stage's ``t`` (or ``refine.t_start``) that starts from pure noise, the end of the model's schedule:
#: the image is drawn anew and nothing of the sketch is kept (but a held region).
NOISE = "noise"


@dataclasses.dataclass(frozen=True)
class StageSpec:
    """One stage of a region-held refinement: noise to `t`, hold the region `hold` (or none).

    Examples
    --------
    >>> StageSpec(t=650, hold="axoneme")
    StageSpec(t=650, hold='axoneme')
    >>> StageSpec(t="noise").t
    'noise'
    >>> StageSpec(t=1000)
    Traceback (most recent call last):
    ...
    synthscope.errors.InputError: refine.stages.t must be in [1, 999], got 1000
    """

    t: int | str
    hold: str | None = None

    def __post_init__(self):
        check_start(self.t, "refine.stages.t")
        if self.hold is not None:
            check_choice(self.hold, "refine.stages.hold", HELD_REGIONS)

    def to_dict(self) -> dict:
        """The stage as a preset writes it."""
        return {"t": self.t, "hold": self.hold}

    def start(self, config) -> int:
        """The diffusion time the stage starts from for a model of `config` (its `DenoiserConfig`).

        Examples
        --------
        >>> from types import SimpleNamespace
        >>> config = SimpleNamespace(num_train_timesteps=1000)
        >>> StageSpec(t=400).start(config), StageSpec(t="noise").start(config)
        (400, 1000)
        """
        return config.num_train_timesteps if self.t == NOISE else self.t


@dataclasses.dataclass(frozen=True, kw_only=True)
class RefineSpec:
    """How an item's sketch is refined: the model, its stages and what to do about mismatches.

    Parameters
    ----------
    model : str, optional
        A bundled model name or a model folder; None makes sketches only.
    sampler : {"dpm", "ddim", "ddpm"}
        The sampler of `synthscope.diffusion.refine`.
    steps : int
        Network evaluations per stage, in [1, 1000].
    t_start : int or "noise"
        Diffusion time of a one-stage refinement (SDEdit), in [1, 999]; ``"noise"``
        (`NOISE`) draws the image from pure noise, keeping nothing of the sketch: a
        mask-conditioned model then takes the layout from the masks alone.
    hold : str, optional
        The region a one-stage refinement holds (one of `HELD_REGIONS`), or none.
    stages : tuple of StageSpec, optional
        Several region-held stages, run in order; replaces `t_start` and `hold`.
    slice_rho : float, optional
        A 2D model on a volume: the noise correlation between slices is ``rho^2 / (1 + rho^2)``.
    tile : int, optional
        Side of the tiles the model is applied in (pixels); None: the model's training
        patch. A side at least the image's gives one whole-image pass (no tile borders).
    band : int
        How far, in pixels, the annotation update may move an edge.
    update : {"edges", "tubules"}
        The annotation update (see `UPDATES`); ``"tubules"`` suits dark tubules in 2D TEM items only.
    condition : {None, "mask", "mask+out_of_plane"}
        What a conditional model is given (see `CONDITION_CHANNELS`).
    mismatch : {"retry", "relabel", "keep"}
        What happens when image and labels disagree (see `synthscope.refine.refine_item`).
    retries : int
        How many more refinements ``"retry"`` tries before it relabels, in [0, 20].

    Examples
    --------
    >>> spec = RefineSpec.from_mapping({"model": "nuclei-fluo-2d", "t_start": 300, "hold": "background"})
    >>> spec.plan
    (StageSpec(t=300, hold='background'),)
    >>> RefineSpec.from_mapping({"retries": -1})
    Traceback (most recent call last):
    ...
    synthscope.errors.InputError: refine.retries must be in [0, 20], got -1
    """

    model: str | None = None
    sampler: str = "dpm"
    steps: int = 20
    t_start: int | str = 400
    hold: str | None = None
    stages: tuple[StageSpec, ...] | None = None
    slice_rho: float | None = None
    tile: int | None = None
    band: int = 2
    update: str = UPDATES[0]
    condition: str | None = None
    mismatch: str = MISMATCH_POLICIES[0]
    retries: int = 2

    def __post_init__(self):
        hints = typing.get_type_hints(type(self))
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if not fits(value, hints[field.name]):
                raise InputError(f"refine.{field.name} has the wrong type: {value!r}")
        check_start(self.t_start, "refine.t_start")
        check_number(self.steps, "refine.steps", low=1, high=1000, integer=True)
        check_choice(self.sampler, "refine.sampler", SAMPLERS)
        check_choice(self.mismatch, "refine.mismatch", MISMATCH_POLICIES)
        check_choice(self.update, "refine.update", UPDATES)
        check_number(self.retries, "refine.retries", low=0, high=20, integer=True)
        if self.tile is not None:
            check_number(self.tile, "refine.tile", low=8, integer=True)
        if self.hold is not None:
            check_choice(self.hold, "refine.hold", HELD_REGIONS)
        if self.condition not in CONDITION_CHANNELS:
            names = ", ".join(str(k) for k in CONDITION_CHANNELS if k)
            raise InputError(f"refine.condition: {self.condition!r} is not a condition; use {names} or null")

    @classmethod
    def from_mapping(cls, mapping: dict) -> "RefineSpec":
        """Return the spec of a preset's ``refine`` section (a mapping of its keys).

        ``stages`` is a list of ``{t: int, hold: region or null}``; it replaces ``t_start``
        and ``hold``, so a section that gives both is refused.
        """
        keys = [f.name for f in dataclasses.fields(cls)]
        for key in mapping:
            if key not in keys:
                raise InputError(f"refine.{key} is not a refinement key; use {', '.join(keys)}")
        if "stages" in mapping and {"t_start", "hold"} & set(mapping):
            raise InputError("refine.stages replaces refine.t_start and refine.hold; give one or the other")
        given = dict(mapping)
        if "stages" in given:
            if not isinstance(given["stages"], list):
                raise InputError(f"refine.stages has the wrong type: {given['stages']!r}")
            given["stages"] = tuple(_stage(stage) for stage in given["stages"])
        return cls(**given)

    @property
    def plan(self) -> tuple[StageSpec, ...]:
        """The stages to run: `stages`, else one stage of `t_start` holding `hold`."""
        return self.stages if self.stages is not None else (StageSpec(t=self.t_start, hold=self.hold),)


def check_start(t, key):
    """Refuse a stage start `t` that is neither an integer in [1, 999] nor `NOISE`, naming `key`.

    Examples
    --------
    >>> check_start("sketch", "refine.t_start")
    Traceback (most recent call last):
    ...
    synthscope.errors.InputError: refine.t_start must be an integer in [1, 999] or 'noise', got 'sketch'
    """
    if isinstance(t, str):
        if t != NOISE:
            raise InputError(f"{key} must be an integer in [1, 999] or {NOISE!r}, got {t!r}")
        return
    check_number(t, key, low=1, high=999, integer=True)


def _stage(stage):
    if not isinstance(stage, dict) or set(stage) - {"t", "hold"} or "t" not in stage:
        raise InputError(f"refine.stages: each stage is {{t: int, hold: region or null}}, got {stage!r}")
    return StageSpec(**stage)
