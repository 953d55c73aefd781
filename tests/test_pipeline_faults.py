"""Faults of a generate job: a model that gives NaN, arrays out of range, and kills at random moments."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from synthscope.cli import main
from synthscope.diffusion import build_denoiser, save_denoiser
from synthscope.errors import InputError
from synthscope.io import DatasetWriter, write_image
from synthscope.item import Item
from synthscope.pipeline import generate

SKETCHES = {"shape": [64, 64], "refine.model": None}


def _tree(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(Path(root).rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def nan_model(tmp_path_factory):
    """A tiny model folder whose weights load but are all NaN: every byte after the safetensors header is 0xFF."""
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("nan-model")
    save_denoiser(build_denoiser(channels=(8, 8, 8), patch_size=(16, 16)), folder)
    weights = folder / "model.safetensors"
    data = bytearray(weights.read_bytes())
    start = 8 + int.from_bytes(data[:8], "little")
    data[start:] = b"\xff" * (len(data) - start)
    weights.write_bytes(bytes(data))
    return folder


def _one_error_line(capsys, *needles):
    """The command's stderr ends in its one error line (after any progress bar), naming `needles`."""
    err = capsys.readouterr().err.strip()
    assert err.splitlines()[-1].startswith("error:") and err.count("error:") == 1, err
    assert all(needle in err.splitlines()[-1] for needle in needles), err


def test_a_model_giving_nan_stops_generate_naming_it_and_leaves_no_item(nan_model, tmp_path, capsys):
    settings = {**SKETCHES, "refine.model": str(nan_model), "refine.condition": None, "refine.steps": 2}
    with pytest.raises(InputError, match=rf"model {nan_model}: gives NaN or infinite values"):
        generate("nuclei-2d", count=2, out=tmp_path / "api", settings=settings)
    assert not list((tmp_path / "api").glob("*/*"))  # dataset.json only: no item, no file of one
    args = ["generate", "nuclei-2d", "-n", "2", "-o", str(tmp_path / "cli"), "--model", str(nan_model), "--steps", "2"]
    with pytest.raises(SystemExit) as exit:
        main([*args, "--set", "shape=[64,64]", "--set", "refine.condition=null"])
    assert exit.value.code == 2
    _one_error_line(capsys, str(nan_model), "NaN")
    assert not list((tmp_path / "cli").glob("*/*"))


def test_a_model_giving_nan_stops_refine_and_writes_nothing(nan_model, tmp_path, capsys):
    write_image(tmp_path / "sketch.tif", np.full((32, 32), 0.5, np.float32), axes="YX")
    out = tmp_path / "refined.tif"
    with pytest.raises(SystemExit) as exit:
        main(["refine", str(tmp_path / "sketch.tif"), "--model", str(nan_model), "--out", str(out), "--steps", "2"])
    assert exit.value.code == 2
    _one_error_line(capsys, str(nan_model), "NaN")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sketch.tif"]


def _picture(**arrays):
    labels = np.zeros((8, 8), np.uint16)
    labels[2:5, 2:5] = 1
    return Item(labels=labels, axes="YX", **{"sketch": np.full((8, 8), 0.5, np.float32), **arrays})


BAD_ITEMS = {
    "a NaN image": (_picture(image=np.full((8, 8), np.nan, np.float32)), "image holds NaN or infinite values"),
    "an infinite sketch": (
        _picture(image=np.zeros((8, 8), np.float32), sketch=np.full((8, 8), np.inf, np.float32)),
        "sketch holds NaN or infinite",
    ),
    "an image past 1": (_picture(image=np.full((8, 8), 1.5, np.float32)), r"image must be floats in \[0, 1\]"),
    "an integer image": (_picture(image=np.zeros((8, 8), np.uint8)), r"image must be floats in \[0, 1\], got uint8"),
    "a float mask": (_picture(masks={"m": np.zeros((8, 8))}), "mask 'm' must be booleans or non-negative integers"),
}


@pytest.mark.parametrize("case", BAD_ITEMS)
def test_the_writer_refuses_arrays_out_of_range_before_writing(tmp_path, case):
    item, message = BAD_ITEMS[case]
    writer = DatasetWriter(tmp_path, info={})
    with pytest.raises(InputError, match=message):
        writer.write(0, item, record={})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dataset.json"]


def test_a_job_killed_between_its_last_record_and_the_manifest_resumes(tmp_path):
    whole = generate("nuclei-2d", count=3, out=tmp_path / "whole", settings=SKETCHES)
    killed = generate("nuclei-2d", count=3, out=tmp_path / "killed", settings=SKETCHES)
    manifest = killed / "manifest.csv"
    manifest.write_text("".join(manifest.read_text().splitlines(keepends=True)[:-1]))  # the last row never came
    generate("nuclei-2d", count=3, out=killed, settings=SKETCHES)
    assert _tree(killed) == _tree(whole)


def test_a_job_killed_while_writing_its_first_dataset_json_resumes(tmp_path):
    whole = generate("nuclei-2d", count=1, out=tmp_path / "whole", settings=SKETCHES)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / "killed").mkdir()
    (tmp_path / "killed" / f".{dead.pid}.partial.dataset.json").write_text('{"generator": ')
    generate("nuclei-2d", count=1, out=tmp_path / "killed", settings=SKETCHES)
    assert _tree(tmp_path / "killed") == _tree(whole)


# Each run of the job is killed a random 0-2 items' time after it completes its next item, and at
# the latest when it has completed three, so that ten kills take at most 30 of the 48 items
# however the machine's load changes the time an item takes.
COUNT, KILLS = 48, 10
COMMAND = [sys.executable, "-m", "synthscope.cli", "generate", "nuclei-2d", "-n", str(COUNT), "--seed", "4"]
COMMAND += ["--set", "refine.model=null"]


def _complete(root):
    return len(list((root / "items").glob("*.json")))


def _kill_while_writing(root, delay):
    """Start the job on `root`, SIGKILL it `delay` seconds after it completes its next item (or on its
    third); return whether it died."""
    before = _complete(root) if root.exists() else 0
    process = subprocess.Popen([*COMMAND, "-o", str(root)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while process.poll() is None and (not root.exists() or _complete(root) == before):
        time.sleep(0.005)
    deadline = time.perf_counter() + delay
    while time.perf_counter() < deadline and _complete(root) < before + 3:
        time.sleep(0.005)
    process.kill()
    return process.wait() == -signal.SIGKILL


def test_generate_killed_at_random_moments_resumes_to_the_bytes_of_an_uninterrupted_run(tmp_path):
    start = time.perf_counter()
    whole = generate("nuclei-2d", count=COUNT, out=tmp_path / "whole", rng=4, settings={"refine.model": None})
    item_time = (time.perf_counter() - start) / COUNT
    rng = np.random.default_rng(16)
    kills = sum(_kill_while_writing(tmp_path / "killed", rng.uniform(0, 2 * item_time)) for _ in range(KILLS))
    assert kills == KILLS and _complete(tmp_path / "killed") < COUNT  # every run died before the job was done
    resumed = subprocess.run([*COMMAND, "-o", str(tmp_path / "killed")], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert _tree(tmp_path / "killed") == _tree(whole)
