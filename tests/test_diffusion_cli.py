"""``synthscope train`` and ``synthscope refine`` end to end on tiny models."""

import numpy as np
import pytest
import torch
import yaml
from typer.testing import CliRunner

from synthscope.cli import app
from synthscope.diffusion import load_denoiser
from synthscope.errors import InputError
from synthscope.io import read_image, write_image

# Tiny networks gain nothing from a second thread, and on shared cores a busy neighbour
# makes two OpenMP threads 10x slower (measured); one thread keeps the suite fast.
torch.set_num_threads(1)

SPEC = {
    "model": {"channels": [8, 8, 8], "patch_size": [16, 16]},
    "data": {"path": "images", "percentiles": [1, 99]},
    "training": {"steps": 4, "batch_size": 2, "checkpoint_every": 2},
    "out": "model",
}


def _write_spec(tmp_path, **changes):
    (tmp_path / "images").mkdir(exist_ok=True)
    for i in range(2):
        write_image(
            tmp_path / "images" / f"{i}.tif",
            (np.arange(24 * 24).reshape(24, 24) * (i + 1)).astype(np.uint16),
            axes="YX",
        )
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump({**SPEC, **changes}))
    return path


def _invoke(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def test_train_then_resume_then_refine(tmp_path):
    spec = _write_spec(tmp_path)
    assert _invoke("train", spec).exit_code == 0
    model = load_denoiser(tmp_path / "model")
    assert model.extra["steps"] == 4 and model.config.normalisation["method"] == "percentile"
    with pytest.raises(InputError, match="--resume"):
        _invoke("train", spec)
    _write_spec(tmp_path, training={**SPEC["training"], "steps": 6})
    assert _invoke("train", spec, "--resume").exit_code == 0
    assert load_denoiser(tmp_path / "model").extra["steps"] == 6

    sketch = tmp_path / "sketch.tif"
    write_image(sketch, np.full((20, 28), 0.5, np.float32), axes="YX", spacing={"Y": 0.5, "X": 0.5})
    out = tmp_path / "refined.tif"
    assert (
        _invoke("refine", sketch, "--model", tmp_path / "model", "--out", out, "--steps", 2, "--t-start", 200).exit_code
        == 0
    )
    refined = read_image(out)
    assert (
        refined.data.shape == (20, 28) and refined.data.dtype == np.float32 and refined.spacing == {"Y": 0.5, "X": 0.5}
    )


def test_the_seed_of_a_training_file_seeds_the_run(tmp_path):
    def weights(folder, seed):
        spec = _write_spec(tmp_path, training={**SPEC["training"], "steps": 2, "seed": seed}, out=folder)
        _invoke("train", spec)
        return torch.cat([p.flatten() for p in load_denoiser(tmp_path / folder).parameters()])

    torch.manual_seed(0)
    first = weights("a", 1)
    torch.manual_seed(0)
    assert torch.equal(first, weights("b", 1))
    torch.manual_seed(0)
    assert not torch.equal(first, weights("c", 2))


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"colour": "red"}, "unknown keys"),
        ({"training": {"batch_size": 2}}, "steps is required"),
        ({"data": {"path": "images"}}, "in \\[0, 1\\]"),
        ({"data": {"path": "nowhere"}}, "no such file"),
        ({"model": {"channels": [8, 8, 8], "patch_size": [15, 15]}}, "multiple"),
    ],
)
def test_bad_training_files_are_refused(tmp_path, changes, message):
    with pytest.raises(InputError, match=message):
        _invoke("train", _write_spec(tmp_path, **changes))


def test_refine_refuses_a_missing_model_and_a_pickle(tmp_path):
    sketch = tmp_path / "sketch.tif"
    write_image(sketch, np.zeros((16, 16), np.float32), axes="YX")
    with pytest.raises(InputError, match="no bundled model"):
        _invoke("refine", sketch, "--model", "nothing-here", "--out", tmp_path / "o.tif")
    torch.save({}, tmp_path / "weights.ckpt")
    with pytest.raises(InputError, match="not a safetensors"):
        _invoke("refine", sketch, "--model", tmp_path / "weights.ckpt", "--out", tmp_path / "o.tif")
