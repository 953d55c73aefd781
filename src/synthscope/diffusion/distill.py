"""Few-step students: one SDEdit stage in 1-3 network evaluations instead of the teacher's 10.

Given where it starts, the teacher's DPM-Solver++ run is deterministic: it maps the noised
sketch ``x_t`` to one refined image. A student, a copy of the teacher with the same config,
is trained so that `steps` DDIM steps from the same ``x_t`` land on the teacher's result
(distillation of the sampler's map, as Luhman & Luhman 2021 did from pure noise; here from
the stage's noise level, where the map is much simpler). A student may also be narrower than
its teacher (fewer feature channels per level, or no self-attention, so each evaluation costs
less); it then starts from the teacher's weights wherever their names and shapes agree, and
from random ones elsewhere. The student is an ordinary
`Denoiser`: `synthscope.diffusion.refine` runs it with ``sampler="ddim"`` and its `steps`,
held regions included, so nothing else in synthscope changes. ``model.extra["distilled"]``
records the teacher and the noise levels and steps the student was trained for; a run with
other settings is refused (`check_distilled`).

Training pairs are random patches of the model's patch size cut from sketches of the data
the teacher refines (with their conditions), noised to one of the stage levels ``t_starts``.
"""

import copy
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from synthscope.diffusion.denoiser import Denoiser, autocast, build_denoiser, to_model_range, use_bf16
from synthscope.diffusion.patches import PatchSampler
from synthscope.diffusion.schedulers import make_scheduler, training_scheduler
from synthscope.errors import InputError
from synthscope.seeds import as_seed

#: The sampler a student is trained for and run with.
STUDENT_SAMPLER = "ddim"


def distill(
    teacher: Denoiser,
    sketches: Sequence[np.ndarray],
    *,
    conditions: Sequence[np.ndarray] | None = None,
    t_starts: Sequence[int],
    steps: int = 1,
    channels: Sequence[int] | None = None,
    attention_levels: Sequence[bool] | None = None,
    teacher_steps: int = 10,
    teacher_sampler: str = "dpm",
    pairs: int = 1024,
    train_steps: int = 400,
    batch_size: int = 16,
    lr: float = 1e-4,
    bf16: bool | None = None,
    rng: int | np.random.Generator = 0,
    callback: Callable[..., None] | None = None,
) -> tuple[Denoiser, dict]:
    """Return a student of `teacher` that refines in `steps` network evaluations, and its record.

    Parameters
    ----------
    teacher : Denoiser
        A 2D or 3D denoiser; it is not changed.
    sketches : list of numpy.ndarray
        Images in [0, 1] like those the teacher refines (a preset's sketches), each at least
        the model's patch size.
    conditions : list of numpy.ndarray, optional
        Their condition channels, for a conditional teacher.
    t_starts : list of int
        The stage noise levels the student must serve (a preset's ``t_start`` or stage ``t``s).
    steps : int
        Network evaluations of the student per stage, in [1, 3].
    channels : sequence of int, optional
        Feature channels per level of the student, as many levels as the teacher has; by
        default the teacher's.
    attention_levels : sequence of bool, optional
        Which levels of the student have self-attention; by default the teacher's. With both
        by default the student starts as a copy of the teacher; otherwise it takes the
        teacher's weights where names and shapes agree (all but the attention blocks when
        only attention is dropped) and random ones (seeded by `rng`) elsewhere, and then
        wants more `train_steps` and a larger `lr`.
    teacher_steps, teacher_sampler :
        The teacher's run that the student reproduces.
    pairs : int
        Training pairs (patches refined by the teacher); drawn once, then reused.
    train_steps, batch_size, lr :
        Student optimisation (AdamW, cosine decay to zero).
    bf16 : bool, optional
        bfloat16 autocast for both networks; automatic when None (see `use_bf16`).
    rng : int or numpy.random.Generator
        Seeds patches, noise and batches.
    callback : callable, optional
        ``callback(done, total, stage=..., loss=...)`` as pairs are made and steps taken.

    Returns
    -------
    student : Denoiser
        In eval mode; ``student.extra["distilled"]`` is the record.
    record : dict
        ``teacher_sha256`` (of its weights file, None in memory), ``t_starts``, ``steps``, ``sampler``,
        ``channels``, ``attention_levels``, ``from_teacher`` (share of the student's weight tensors
        copied from the teacher), ``teacher_steps``, ``teacher_sampler``, ``pairs``, ``train_steps``,
        ``lr``, ``first_loss``, ``final_loss`` (mean squared error to the teacher in the model's [-1, 1] range, at
        the start and end) and ``seconds``.

    Examples
    --------
    >>> from synthscope.diffusion import build_denoiser, refine, Stage
    >>> teacher = build_denoiser(channels=(8, 8, 8), patch_size=(16, 16)).eval()
    >>> sketches = [np.random.default_rng(0).random((32, 32)).astype(np.float32)]
    >>> student, record = distill(teacher, sketches, t_starts=[100], pairs=8, train_steps=2, batch_size=4)
    >>> record["steps"], record["sampler"]
    (1, 'ddim')
    >>> refine(student, sketches[0], stages=[Stage(t_start=100)], sampler="ddim", steps=1, rng=0).shape
    (32, 32)
    """
    config = teacher.config
    t_starts = _check(config, t_starts, steps, channels, attention_levels, pairs, train_steps, batch_size)
    patches = PatchSampler(
        list(sketches),
        patch_size=config.patch_size,
        conditions=None if conditions is None else list(conditions),
        channels=config.in_channels,
        jitter=0,
    )
    if patches.condition_channels != config.condition_channels:
        raise InputError(
            f"conditions: the teacher takes {config.condition_channels} condition channels, "
            f"the data has {patches.condition_channels}"
        )
    bf16 = use_bf16(bf16)
    seed = as_seed(rng)
    began = time.perf_counter()
    bank = _teacher_pairs(teacher, patches, t_starts, pairs, teacher_steps, teacher_sampler, bf16, seed, callback)
    student, from_teacher = _student(teacher, channels, attention_levels, seed)
    student.train().requires_grad_(True)
    losses = _train_student(student, bank, steps, train_steps, batch_size, lr, bf16, seed, callback)
    tenth = max(1, len(losses) // 10)
    record = {
        "teacher_sha256": (getattr(teacher, "source", None) or {}).get("sha256"),
        "t_starts": t_starts,
        "steps": steps,
        "sampler": STUDENT_SAMPLER,
        "channels": list(student.config.channels),
        "attention_levels": list(student.config.attention_levels),
        "from_teacher": from_teacher,
        "teacher_steps": teacher_steps,
        "teacher_sampler": teacher_sampler,
        "pairs": pairs,
        "train_steps": train_steps,
        "lr": lr,
        "first_loss": float(np.mean(losses[:tenth])),
        "final_loss": float(np.mean(losses[-tenth:])),
        "seconds": time.perf_counter() - began,
    }
    student.eval().requires_grad_(False)
    student.extra = {"distilled": record}
    return student, record


def check_distilled(model: Denoiser, *, sampler: str, steps: int, t_starts: Sequence[int]) -> None:
    """Refuse settings a distilled student was not trained for; any settings pass for other models.

    Examples
    --------
    >>> from synthscope.diffusion import build_denoiser
    >>> model = build_denoiser(channels=(8, 8, 8))
    >>> model.extra = {"distilled": {"t_starts": [200], "steps": 1, "sampler": "ddim"}}
    >>> check_distilled(model, sampler="ddim", steps=1, t_starts=[200])
    >>> check_distilled(model, sampler="dpm", steps=10, t_starts=[400])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    synthscope.errors.InputError: refine.model in memory: distilled for sampler ddim, 1 step(s), ...
    """
    record = getattr(model, "extra", {}).get("distilled")
    if record is None:
        return
    if sampler == record["sampler"] and steps == record["steps"] and set(t_starts) <= set(record["t_starts"]):
        return
    name = (getattr(model, "source", None) or {"path": "in memory"})["path"]
    teacher = record.get("teacher_name")
    hint = "or use its teacher"
    if teacher:
        hint = f"or use its teacher: --model {teacher} --sampler {record['teacher_sampler']} --steps K"
    raise InputError(
        f"refine.model {name}: distilled for sampler {record['sampler']}, {record['steps']} step(s), "
        f"t_start in {record['t_starts']}; got {sampler}, {steps} step(s), t_start {list(t_starts)}; "
        f"set those, {hint}"
    )


def _student(teacher, channels, attention_levels, seed):
    """The student network and the share of its weight tensors taken from `teacher`."""
    config = teacher.config
    changes = {}
    if channels is not None and tuple(channels) != tuple(config.channels):
        changes["channels"] = tuple(int(c) for c in channels)
    if attention_levels is not None and tuple(attention_levels) != tuple(config.attention_levels):
        changes["attention_levels"] = tuple(bool(a) for a in attention_levels)
    if not changes:
        return copy.deepcopy(teacher), 1.0
    widths, attention = (
        changes.get("channels", config.channels),
        changes.get("attention_levels", config.attention_levels),
    )
    heads = min([config.num_head_channels, *(c for c, a in zip(widths, attention) if a)])
    torch.manual_seed(seed)
    student = build_denoiser(config, num_head_channels=heads, **changes)
    own = student.state_dict()
    shared = {k: v for k, v in teacher.state_dict().items() if k in own and own[k].shape == v.shape}
    student.load_state_dict(shared, strict=False)
    return student, len(shared) / len(own)


def _check(config, t_starts, steps, channels, attention_levels, pairs, train_steps, batch_size):
    t_starts = sorted({int(t) for t in t_starts})
    if attention_levels is not None and len(attention_levels) != len(config.attention_levels):
        raise InputError(
            f"attention_levels: expected {len(config.attention_levels)} values like the teacher's "
            f"{list(config.attention_levels)}, got {list(attention_levels)}"
        )
    if channels is not None and (
        len(channels) != len(config.channels) or not all(isinstance(c, (int, np.integer)) and c > 0 for c in channels)
    ):
        raise InputError(
            f"channels: expected {len(config.channels)} positive widths like the teacher's {list(config.channels)}, "
            f"got {list(channels)}"
        )
    if not t_starts or not all(0 < t <= config.num_train_timesteps for t in t_starts):
        raise InputError(f"t_starts: expected noise levels in (0, {config.num_train_timesteps}], got {t_starts}")
    if steps not in (1, 2, 3):
        raise InputError(f"steps: a student takes 1, 2 or 3 network evaluations, got {steps!r}")
    for name, value in (("pairs", pairs), ("train_steps", train_steps), ("batch_size", batch_size)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise InputError(f"{name}: expected a positive integer, got {value!r}")
    return t_starts


@torch.inference_mode()
def _teacher_pairs(teacher, patches, t_starts, pairs, teacher_steps, sampler, bf16, seed, callback, chunk=64):
    """Return ``{t: (x_t, condition or None, teacher's result)}``, tensors in the model's range."""
    rng, generator = np.random.default_rng(seed), torch.Generator().manual_seed(seed)
    add_noise = training_scheduler(teacher.config).add_noise
    counts = np.diff(np.linspace(0, pairs, len(t_starts) + 1).round().astype(int))
    bank, done = {}, 0
    for t_start, count in zip(t_starts, counts):
        parts = []
        for size in np.diff(np.r_[0:count:chunk, count]):
            images, conditions = patches.draw(int(size), rng=rng)
            condition = None if conditions is None else to_model_range(torch.from_numpy(conditions))
            scheduler, timesteps = make_scheduler(teacher.config, sampler, steps=teacher_steps, t_start=t_start)
            x_t = add_noise(
                to_model_range(torch.from_numpy(images)), torch.randn(images.shape, generator=generator), timesteps[:1]
            )
            x = x_t
            for t in timesteps:
                with autocast(bf16):
                    output = teacher(x, t.expand(len(x)), condition).float()
                x = scheduler.step(output, t, x).prev_sample
            parts.append((x_t, condition, x))
            done += int(size)
            if callback is not None:
                callback(done, pairs, stage="teacher")
        x_t, condition, target = (None if parts[0][i] is None else torch.cat([p[i] for p in parts]) for i in range(3))
        bank[t_start] = (x_t, condition, target)
    return bank


def _train_student(student, bank, steps, train_steps, batch_size, lr, bf16, seed, callback):
    """Train `student` in place so that `steps` DDIM steps from each ``x_t`` reach the teacher's result."""
    rng = np.random.default_rng(seed + 1)
    optimizer = torch.optim.AdamW(student.parameters(), lr=lr)
    decay = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=train_steps)
    levels, losses = sorted(bank), []
    for step in range(train_steps):
        t_start = levels[rng.integers(len(levels))]
        x_t, condition, target = bank[t_start]
        chosen = torch.from_numpy(rng.choice(len(x_t), size=min(batch_size, len(x_t)), replace=False))
        scheduler, timesteps = make_scheduler(student.config, STUDENT_SAMPLER, steps=steps, t_start=t_start)
        x = x_t[chosen]
        given = None if condition is None else condition[chosen]
        for t in timesteps:
            with autocast(bf16):
                output = student(x, t.expand(len(x)), given).float()
            x = scheduler.step(output, t, x).prev_sample
        loss = F.mse_loss(x, target[chosen])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        decay.step()
        losses.append(loss.item())
        if callback is not None:
            callback(step + 1, train_steps, stage="student", loss=float(np.mean(losses[-20:])))
    return losses
