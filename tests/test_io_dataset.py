"""The data set writer and reader: round trip, resume byte for byte, bad input."""

import csv
import json
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from synthscope.errors import InputError
from synthscope.io import DatasetWriter, read_dataset, read_image
from synthscope.item import Item

INFO = {"generator": "test", "parameters": {"count": 4}, "seed": 7, "version": "0.1.0", "model": None}


def _labels(shape, rng):
    labels = np.zeros(shape, np.uint16)
    for label in range(1, 4):
        corner = [int(rng.integers(0, n - 2)) for n in shape[-2:]]
        labels[..., corner[0] : corner[0] + 3, corner[1] : corner[1] + 3] = label
    return labels


def make_item(index):
    """Item `index` of the test data set: 2D, 3D, multi-channel and time-lapse in turn."""
    rng = np.random.default_rng(index)
    kind = index % 4
    if kind == 0:
        labels = _labels((12, 14), rng)
        return Item(
            labels=labels,
            axes="YX",
            sketch=rng.random(labels.shape, dtype=np.float32),
            image=rng.random(labels.shape, dtype=np.float32),
            classes=(labels > 1).astype(np.uint8),
            class_names={1: "nucleus"},
            masks={"membrane": labels == 1, "spots": labels.astype(np.uint16)},
            spacing={"Y": 0.26, "X": 0.26},
            metadata={"kind": "2d", "index": index},
        )
    if kind == 1:
        labels = _labels((4, 12, 14), rng)
        return Item(labels, "ZYX", sketch=rng.random(labels.shape, dtype=np.float32), spacing={"Z": 0.29})
    if kind == 2:
        labels = _labels((12, 14), rng)
        image = rng.random((2, *labels.shape), dtype=np.float32)
        return Item(labels, "YX", sketch=image / 2, image=image, metadata={"kind": "channels"})
    labels = _labels((3, 12, 14), rng)
    tracks = np.array([[1, 0, 2, 0], [2, 0, 2, 0], [3, 0, 2, 0]])
    return Item(labels, "TYX", sketch=rng.random(labels.shape, dtype=np.float32), tracks=tracks, spacing={"T": 5.0})


def write_all(root, count=4):
    writer = DatasetWriter(root, info=INFO)
    for index in range(count):
        if not writer.is_complete(index):
            writer.write(index, make_item(index), record={"seed": 100 + index, "parameters": {"i": index}})
    return writer


def _tree(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(Path(root).rglob("*")) if p.is_file()}


def _assert_items_equal(a, b):
    assert a.axes == b.axes and a.image_axes == b.image_axes
    for name in ("labels", "sketch", "image", "classes", "tracks"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        if x is not None:
            assert x.dtype == y.dtype or name == "tracks", name
            np.testing.assert_array_equal(x, y)
    assert a.masks.keys() == b.masks.keys()
    for name in a.masks:
        assert a.masks[name].dtype == b.masks[name].dtype
        np.testing.assert_array_equal(a.masks[name], b.masks[name])
    assert (a.class_names, a.spacing, a.metadata) == (b.class_names, b.spacing, b.metadata)


def test_round_trip_of_every_kind_of_item(tmp_path):
    write_all(tmp_path / "set")
    dataset = read_dataset(tmp_path / "set")
    assert dataset.info == INFO
    assert dataset.ids == ["00000", "00001", "00002", "00003"] and len(dataset) == 4
    for index, item in enumerate(dataset):  # in id order
        _assert_items_equal(item, make_item(index))
    assert dataset.load(3).tracks.shape == (3, 4)
    image = read_image(tmp_path / "set/images/00001.tif")  # the sketch, as the item has no image
    np.testing.assert_array_equal(image.data, make_item(1).picture)
    assert (image.axes, image.spacing, image.data.dtype) == ("ZYX", {"Z": 0.29}, np.float32)
    assert read_image(tmp_path / "set/previews/00002.png").data.shape == (12, 14, 3)


def test_manifest_and_records(tmp_path):
    write_all(tmp_path)
    rows = list(csv.DictReader((tmp_path / "manifest.csv").open()))
    assert [row["id"] for row in rows] == ["00000", "00001", "00002", "00003"]
    assert rows[0]["image"] == "images/00000.tif" and rows[0]["classes"] == "classes/00000.tif"
    assert rows[0]["masks"] == "masks/membrane/00000.tif;masks/spots/00000.tif"
    assert rows[3]["tracks"] == "tracks/00003.txt" and rows[1]["sketch"] == "sketches/00001.tif"
    assert rows[2]["seed"] == "102" and len({row["params_hash"] for row in rows}) == 4
    record = read_dataset(tmp_path).record(1)
    assert record["record"] == {"seed": 101, "parameters": {"i": 1}} and record["refined"] is False
    assert json.loads((tmp_path / "dataset.json").read_text()) == INFO


def test_labels_above_65535_are_uint32(tmp_path):
    labels = np.zeros((4, 4), np.int64)
    labels[0, 0] = 70_000
    DatasetWriter(tmp_path, info={}).write(0, Item(labels, "YX"), record={})
    assert read_dataset(tmp_path).load(0).labels.dtype == np.uint32
    assert read_dataset(tmp_path).load("00000").labels[0, 0] == 70_000


@pytest.mark.parametrize("kill_at", [3, 11, 22])
def test_killed_run_resumes_to_the_same_bytes(tmp_path, kill_at):
    """A writer killed by SIGKILL at the kill_at-th file rename, then run again."""
    write_all(tmp_path / "whole")
    script = (
        "import os, signal, sys\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "import test_io_dataset\n"
        "replace, calls = os.replace, [0]\n"
        "def dying_replace(*args):\n"
        "    calls[0] += 1\n"
        f"    if calls[0] == {kill_at}:\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "    replace(*args)\n"
        "os.replace = dying_replace\n"
        f"test_io_dataset.write_all({str(tmp_path / 'resumed')!r})\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert run.returncode == -signal.SIGKILL, run.stderr.decode()
    assert any(p.name.startswith(".") for p in (tmp_path / "resumed").rglob("*"))  # a partial file is left
    write_all(tmp_path / "resumed")
    assert _tree(tmp_path / "resumed") == _tree(tmp_path / "whole")


def test_error_inside_write_then_resume(tmp_path, monkeypatch):
    write_all(tmp_path / "whole")
    import synthscope.io.dataset as dataset_module

    real_write_png = dataset_module.write_png
    monkeypatch.setattr(dataset_module, "write_png", lambda *a: (_ for _ in ()).throw(RuntimeError("disk full")))
    writer = DatasetWriter(tmp_path / "resumed", info=INFO)
    with pytest.raises(RuntimeError, match="disk full"):
        writer.write(0, make_item(0), record={"seed": 100, "parameters": {"i": 0}})
    assert not writer.is_complete(0)
    monkeypatch.setattr(dataset_module, "write_png", real_write_png)
    write_all(tmp_path / "resumed")
    assert _tree(tmp_path / "resumed") == _tree(tmp_path / "whole")


def test_folder_with_another_data_set_is_refused(tmp_path):
    write_all(tmp_path, count=1)
    before = _tree(tmp_path)
    with pytest.raises(InputError, match=rf"{tmp_path}: holds a different data set \(dataset.json differs in seed\)"):
        DatasetWriter(tmp_path, info={**INFO, "seed": 8})
    assert _tree(tmp_path) == before


def test_non_empty_folder_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="folder is not empty and holds no synthscope data set"):
        DatasetWriter(tmp_path, info=INFO)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda item: {"labels": item.labels.astype(np.float32)}, "labels must be integers, got float32"),
        (lambda item: {"labels": item.labels.astype(np.int32) - 1}, "labels must not be negative"),
        (lambda item: {"image": item.image[:5]}, r"image has shape \(5, 14\) but the labels have shape \(12, 14\)"),
        (lambda item: {"sketch": item.sketch[:, :3]}, "sketch has shape"),
        (lambda item: {"classes": item.classes.astype(np.int16) * 300}, "classes go up to 300, more than uint8 holds"),
        (lambda item: {"masks": {"membrane": item.labels[:2]}}, "mask 'membrane' has shape"),
        (lambda item: {"masks": {"../x": item.labels}}, "must be a plain word"),
        (lambda item: {"tracks": np.zeros((2, 3), int)}, "tracks must be integer rows"),
        (lambda item: {"metadata": {"a": object()}}, "not JSON-serialisable"),
        (lambda item: {"spacing": {"Z": 1.0}}, "spacing names axis 'Z'"),
    ],
)
def test_bad_items_are_refused_before_writing(tmp_path, change, message):
    import dataclasses

    writer = DatasetWriter(tmp_path, info=INFO)
    item = dataclasses.replace(make_item(0), **change(make_item(0)))
    with pytest.raises(InputError, match=rf"items/00000: .*{message}"):
        writer.write(0, item, record={})
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["dataset.json"]


def test_reading_what_is_not_a_data_set(tmp_path):
    with pytest.raises(InputError, match="not a synthscope data set"):
        read_dataset(tmp_path)
    write_all(tmp_path, count=1)
    with pytest.raises(InputError, match="has no complete item '00005'"):
        read_dataset(tmp_path).load(5)
