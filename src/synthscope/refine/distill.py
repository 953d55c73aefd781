"""A preset's refinement in one network evaluation: its model distilled on its own sketches.

`distill_preset` draws sketches of a preset (its ``vary`` section included), distils the
preset's model for its stage noise levels (`synthscope.diffusion.distill`), and writes
``OUT/model/`` (the student, with a card) and ``OUT/preset.yaml`` (the preset refining with
it: ``sampler: ddim``, ``steps``: the student's). The teacher stays where it was: the
original preset, or ``--set refine.model=TEACHER`` with its sampler and steps.
"""

import json
import os
import time
from pathlib import Path

import torch
import yaml

from synthscope.errors import InputError
from synthscope.io import write_text
from synthscope.phantoms import load_preset, sketch_item
from synthscope.refine.conditions import condition
from synthscope.refine.item import load_model
from synthscope.refine.spec import RefineSpec
from synthscope.seeds import item_seed


def distill_preset(
    preset,
    out: str | os.PathLike,
    *,
    settings: dict | None = None,
    items: int = 48,
    steps: int = 1,
    channels: tuple[int, ...] | None = None,
    attention_levels: tuple[bool, ...] | None = None,
    pairs: int = 1024,
    train_steps: int = 400,
    lr: float = 1e-4,
    rng: int = 0,
    callback=None,
) -> Path:
    """Distil the model of `preset` on `items` of its sketches; return ``OUT/preset.yaml``.

    Parameters
    ----------
    preset : str or path
        A bundled preset name or a preset file whose ``refine.model`` is set.
    out : path
        Folder to write; it must be empty or missing.
    settings : dict, optional
        Preset overrides by dotted key, as for `synthscope.generate`.
    items : int
        Sketches the training patches are cut from.
    steps, channels, attention_levels, pairs, train_steps, lr :
        See `synthscope.diffusion.distill.distill`.
    rng : int
        Seed of the sketches (item ``i`` uses ``item_seed(rng, i)``) and of the training.
    callback : callable, optional
        ``callback(done, total, stage=..., ...)``.

    Returns
    -------
    Path
        ``OUT/preset.yaml``.
    """
    from synthscope.diffusion import save_denoiser
    from synthscope.diffusion.distill import STUDENT_SAMPLER, distill

    loaded = load_preset(preset, settings=settings)
    spec = RefineSpec.from_mapping(loaded["refine"])
    if spec.model is None:
        raise InputError(f"{preset}: refine.model is null; there is no model to distil")
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise InputError(f"{out}: not empty; give a new folder")
    teacher, info = load_model(spec)
    began = time.process_time()
    made = [sketch_item(loaded, rng=item_seed(rng, index)) for index in range(items)]
    sketches = [item.sketch for item in made]
    conditions = None if spec.condition is None else [condition(item, spec.condition) for item in made]
    student, record = distill(
        teacher,
        sketches,
        conditions=conditions,
        t_starts=[stage.start(teacher.config) for stage in spec.plan],
        steps=steps,
        channels=channels,
        attention_levels=attention_levels,
        teacher_steps=spec.steps,
        teacher_sampler=spec.sampler,
        pairs=pairs,
        train_steps=train_steps,
        lr=lr,
        rng=rng,
        callback=callback,
    )
    record = {**record, "teacher_name": str(spec.model), "preset": str(preset), "settings": settings or {}}
    record["items"] = items
    record["cpu_seconds"] = time.process_time() - began
    save_denoiser(student, out / "model", extra={"distilled": record}, dtype=torch.bfloat16)
    write_text(out / "model" / "card.md", _card(record, info))
    refined = {**loaded, "refine": {**loaded["refine"], "model": "model", "sampler": STUDENT_SAMPLER, "steps": steps}}
    path = out / "preset.yaml"
    write_text(path, yaml.safe_dump(refined, sort_keys=False))
    return path


def _set_options(settings):
    """``{"refine.steps": 10}`` -> ``" --set refine.steps=10"``, as the command line takes them."""
    return "".join(f" --set {key}={value}" for key, value in settings.items())


def _card(record, teacher):
    lines = [
        "# Distilled student",
        "",
        f"Student of `{teacher['name']}` (sha256 {teacher['sha256'][:12]}) made by `synthscope distill "
        f"{record['preset']}{_set_options(record['settings'])} --steps {record['steps']} --pairs {record['pairs']}"
        f" --train-steps {record['train_steps']}"
        f" --channels {','.join(map(str, record['channels']))}"
        f" --attention {','.join(str(int(a)) for a in record['attention_levels'])} --lr {record['lr']:g}` on "
        f"{record['items']} sketches of the preset; {record['from_teacher']:.0%} of its weight tensors started as "
        "the teacher's.",
        f"It refines a stage at t_start in {record['t_starts']} in {record['steps']} network evaluation(s) "
        f"({record['sampler']}), reproducing the teacher's {record['teacher_steps']}-step "
        f"{record['teacher_sampler']} run.",
        f"Mean squared error to the teacher (model range [-1, 1]) on training pairs: "
        f"{record['first_loss']:.4g} at the start, {record['final_loss']:.4g} at the end.",
        f"CPU time: {record['cpu_seconds'] / 60:.1f} min.",
        "",
        "```json",
        json.dumps(record, indent=2, default=float),
        "```",
        "",
    ]
    return "\n".join(lines)
