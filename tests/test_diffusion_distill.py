"""Few-step students: one network evaluation reproduces the teacher's run; settings it was not
trained for are refused; ``synthscope distill`` writes a preset that `generate` runs."""

import numpy as np
import pytest
import safetensors
import torch
from cli_helpers import assert_one_error, run

from synthscope.diffusion import Stage, build_denoiser, load_denoiser, refine, save_denoiser, train_denoiser
from synthscope.diffusion.distill import distill
from synthscope.errors import InputError
from synthscope.io import read_dataset
from synthscope.refine import RefineSpec, load_model


def _sketches(count, size=32, seed=0):
    """Blobs on a dark background, like nuclei sketches."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    images = []
    for _ in range(count):
        image = np.full((size, size), 0.1, np.float32)
        for cy, cx, r in rng.uniform((4, 4, 3), (size - 4, size - 4, 7), (3, 3)):
            image[(yy - cy) ** 2 + (xx - cx) ** 2 < r**2] = 0.8
        images.append(image)
    return images


@pytest.fixture(scope="module")
def teacher():
    """A tiny denoiser trained briefly on textured blobs, so that its 10-step run differs from one step."""
    torch.manual_seed(0)
    model = build_denoiser(channels=(8, 8, 8), patch_size=(16, 16))
    rng = np.random.default_rng(3)
    textured = [np.clip(s + rng.normal(0, 0.08, s.shape), 0, 1).astype(np.float32) for s in _sketches(8, seed=2)]
    train_denoiser(model, textured, steps=120, batch_size=4, lr=3e-3, rng=0)
    return model.eval()


def _distance(a, b):
    return float(np.sqrt(np.mean((a - b) ** 2)))


def test_a_one_step_student_lands_closer_to_the_teacher_than_the_teacher_in_one_step(teacher):
    stages = [Stage(t_start=300)]
    student, record = distill(
        teacher, _sketches(8), t_starts=[300], pairs=128, train_steps=120, batch_size=8, lr=2e-3, rng=0
    )
    assert record["final_loss"] < 0.5 * record["first_loss"]
    for sketch in _sketches(3, seed=1):  # sketches the student never saw
        target = refine(teacher, sketch, stages=stages, sampler="dpm", steps=10, rng=5)
        one_step = refine(teacher, sketch, stages=stages, sampler="ddim", steps=1, rng=5)
        fast = refine(student, sketch, stages=stages, sampler="ddim", steps=1, rng=5)
        assert _distance(one_step, target) > 0.01  # the teacher's one step is not its run ...
        assert _distance(fast, target) < 0.6 * _distance(one_step, target)  # ... the student's is closer


def test_a_narrower_student_starts_new_and_learns_the_teachers_run(teacher):
    student, record = distill(
        teacher, _sketches(8), t_starts=[300], channels=(4, 8, 8), pairs=128, train_steps=150, batch_size=8, lr=3e-3
    )
    assert student.config.channels == (4, 8, 8) and record["channels"] == [4, 8, 8]
    assert sum(p.numel() for p in student.parameters()) < 0.8 * sum(p.numel() for p in teacher.parameters())
    assert record["final_loss"] < 0.5 * record["first_loss"]
    assert record["from_teacher"] < 1  # the first level is narrower: its tensors start new


def test_a_student_without_attention_starts_from_every_other_weight_of_the_teacher(teacher):
    options = {"t_starts": [300], "pairs": 8, "train_steps": 1}
    student, record = distill(teacher, _sketches(2), attention_levels=(False,) * 3, **options)
    assert not any(student.config.attention_levels) and record["attention_levels"] == [False] * 3
    assert record["from_teacher"] == 1.0  # every tensor of the student has its twin in the teacher
    assert len(student.state_dict()) < len(teacher.state_dict())


def test_a_saved_student_is_refused_for_settings_it_was_not_trained_for(tmp_path, teacher):
    student, _ = distill(teacher, _sketches(2), t_starts=[200], steps=2, pairs=8, train_steps=1)
    save_denoiser(student, tmp_path / "student", extra=student.extra)
    assert load_denoiser(tmp_path / "student").extra["distilled"]["steps"] == 2
    model, _ = load_model(RefineSpec(model=str(tmp_path / "student"), sampler="ddim", steps=2, t_start=200))
    assert model.extra["distilled"]["t_starts"] == [200]
    for wrong in ({"steps": 10}, {"t_start": 400}, {"sampler": "dpm"}):
        spec = RefineSpec(
            **{"model": str(tmp_path / "student"), "sampler": "ddim", "steps": 2, "t_start": 200, **wrong}
        )
        with pytest.raises(InputError, match="distilled for sampler ddim, 2 step"):
            load_model(spec)


@pytest.mark.parametrize(
    "wrong", [{"steps": 4}, {"t_starts": []}, {"pairs": 0}, {"channels": (8, 8)}, {"attention_levels": (True,)}]
)
def test_distill_refuses_bad_options_before_any_work(teacher, wrong):
    options = {"t_starts": [200], **wrong}
    with pytest.raises(InputError):
        distill(teacher, _sketches(1), **options)


def test_the_distill_command_writes_a_preset_that_generate_runs(tmp_path, capsys, teacher):
    save_denoiser(teacher, tmp_path / "teacher")
    settings = ["--set", f"refine.model={tmp_path / 'teacher'}", "--set", "refine.condition=null"]
    settings += ["--set", "shape=[48,48]", "--set", "refine.t_start=200"]
    out = tmp_path / "fast"
    code, _, err = run(
        capsys, "distill", "nuclei-2d", "-o", out, "--items", 2, "--pairs", 16, "--train-steps", 2, *settings
    )
    assert code == 0, err
    assert (out / "model" / "card.md").read_text().startswith("# Distilled student")
    with safetensors.safe_open(out / "model" / "model.safetensors", "pt") as weights:  # half the size of float32
        assert {weights.get_tensor(key).dtype for key in weights.keys()} == {torch.bfloat16}
    code, _, err = run(capsys, "generate", out / "preset.yaml", "-n", 1, "-o", tmp_path / "set")
    assert code == 0, err
    info = read_dataset(tmp_path / "set").info
    assert info["refined"] and info["preset"]["refine"]["steps"] == 1
    result = run(capsys, "generate", out / "preset.yaml", "-n", 1, "-o", tmp_path / "slow", "--steps", 10)
    assert_one_error(result, says="distilled for sampler ddim, 1 step(s)")
    assert not (tmp_path / "slow").exists()
    assert_one_error(run(capsys, "distill", "nuclei-2d", "-o", out, *settings), says="not empty")
    bad = run(capsys, "distill", "nuclei-2d", "-o", tmp_path / "new", "--channels", "16,a,32", *settings)
    assert_one_error(bad, says="--channels: expected comma-separated integers")
    assert not (tmp_path / "new").exists()
