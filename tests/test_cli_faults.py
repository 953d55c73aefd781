"""Faults of the machine (a full disk, a denied permission, an interruption) and outputs in the way.

Rows 10 and 11 of the reliability catalogue (issue 16): one line, no half-written file, and the
same command resumes once the cause is fixed.
"""

import errno
import os

import pytest
import tifffile
from cli_helpers import assert_one_error, image_folder, labels_2d, run, snapshot, tiny_dataset

SKETCH = ["sketch", "nuclei-2d", "-n", 2, "--set", "shape=[32,32]"]


def break_writes(monkeypatch, fault):
    """Make every TIFF write raise `fault` (an `OSError` of a full disk, say) until the test undoes it."""

    def write(*args, **kwargs):
        raise fault

    monkeypatch.setattr(tifffile, "imwrite", write)


def partials(folder):
    return sorted(p.name for p in folder.rglob(".*partial*"))


@pytest.mark.parametrize("number", [errno.ENOSPC, errno.EACCES])
def test_a_failed_write_is_one_line_and_the_job_resumes(tmp_path, capsys, monkeypatch, number):
    out = tmp_path / "set"
    break_writes(monkeypatch, OSError(number, os.strerror(number)))
    result = run(capsys, *SKETCH, "-o", out)
    assert_one_error(result, status=1, says=f"{out}/labels/00000.tif: {os.strerror(number)}; fix this")
    assert sorted(snapshot(out)) == ["dataset.json"] and not partials(tmp_path)
    monkeypatch.undo()
    assert run(capsys, *SKETCH, "-o", out)[0] == 0
    assert run(capsys, *SKETCH, "-o", tmp_path / "uninterrupted")[0] == 0
    assert snapshot(out) == snapshot(tmp_path / "uninterrupted")


def test_an_export_onto_a_full_disk_leaves_nothing_and_runs_again(tmp_path, capsys, monkeypatch):
    root = tiny_dataset(tmp_path / "set")
    break_writes(monkeypatch, OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
    result = run(capsys, "export", root, "--to", "stardist", tmp_path / "out")
    assert_one_error(result, status=1, says="No space left on device")
    assert not (tmp_path / "out").exists() and not partials(tmp_path)
    monkeypatch.undo()
    assert run(capsys, "export", root, "--to", "stardist", tmp_path / "out")[0] == 0
    assert sorted(snapshot(tmp_path / "out")) == [f"{part}/0000{i}.tif" for part in ("images", "masks") for i in (0, 1)]


def test_an_interrupted_job_says_how_to_resume(tmp_path, capsys, monkeypatch):
    break_writes(monkeypatch, KeyboardInterrupt())
    code, _, err = run(capsys, *SKETCH, "-o", tmp_path / "set")
    assert code == 130 and err == "interrupted; run the same command again to resume\n"
    assert not partials(tmp_path)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["evaluate", "segmentation", "{labels}", "{labels}", "-o", "{file}"], "is a file; name a folder"),
        ([*SKETCH, "-o", "{file}"], "is a file, not a folder"),
        (["export", "{dataset}", "--to", "cellpose", "{file}"], "exists and is not an empty folder"),
    ],
)
def test_a_file_where_a_folder_goes_is_refused_and_kept(tmp_path, capsys, args, says):
    paths = {
        "file": tmp_path / "report",
        "labels": image_folder(tmp_path / "labels", [labels_2d()]),
        "dataset": tiny_dataset(tmp_path / "set"),
    }
    paths["file"].write_text("mine")
    assert_one_error(run(capsys, *(arg.format(**paths) if isinstance(arg, str) else arg for arg in args)), says=says)
    assert paths["file"].read_text() == "mine"
