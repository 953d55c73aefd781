"""What the CLI tests share: the ``synthscope`` command run in-process, folder snapshots, tiny inputs."""

from pathlib import Path

import numpy as np
import pytest

from synthscope.cli import main
from synthscope.io import DatasetWriter, write_image
from synthscope.item import Item


def run(capsys, *args):
    """Run ``synthscope ARGS`` as the console script does; return (exit status, stdout, stderr)."""
    with pytest.raises(SystemExit) as stop:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return stop.value.code, out, err


def assert_one_error(result, *, status=2, says):
    """Assert that a run ended with `status` and one ``error:`` line on stderr holding `says`."""
    code, _, err = result
    assert code == status and err.count("\n") == 1 and err.startswith("error: "), err
    assert says in err, err


def snapshot(folder):
    """Return ``{relative path: bytes}`` of every file under `folder` (``{}`` when it does not exist)."""
    folder = Path(folder)
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def labels_2d(size=16):
    """Return a label image with two objects."""
    labels = np.zeros((size, size), np.uint16)
    labels[2:7, 2:7], labels[9:14, 8:14] = 1, 2
    return labels


def tiny_dataset(root, *, count=2):
    """Write a sketch-only data set of `count` 16x16 items; return its folder."""
    writer = DatasetWriter(root, info={"generator": "test", "seed": 0})
    for index in range(count):
        labels = labels_2d()
        writer.write(index, Item(labels=labels, axes="YX", sketch=(labels > 0) * np.float32(0.8)), record={})
    return writer.root


def image_folder(folder, arrays):
    """Write each 2D array as ``folder/{i:03d}.tif``; return the folder."""
    for i, array in enumerate(arrays):
        write_image(Path(folder) / f"{i:03d}.tif", array, axes="YX")
    return Path(folder)
