"""Every exporter, read back; and the ``synthscope export`` command."""

import csv
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest
import tifffile
from test_io_dataset import make_item, write_all

from synthscope.errors import InputError
from synthscope.io import read_dataset, read_image
from synthscope.io.export import to_celldiffusion, to_cellpose, to_ctc, to_stardist


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("dataset")
    write_all(root)
    return read_dataset(root)


def _expected_frames(dataset):
    """(name, image, labels) per frame, as the exporters should cut the items."""
    for index, id_ in enumerate(dataset.ids):
        item = make_item(index)
        image = item.picture
        if "T" in item.axes:
            for t in range(item.labels.shape[0]):
                yield f"{id_}_t{t:03d}", image[t], item.labels[t]
        else:
            yield id_, image, item.labels


def test_cellpose(dataset, tmp_path):
    to_cellpose(dataset.root, tmp_path)
    expected = list(_expected_frames(dataset))
    assert len(list(tmp_path.glob("*_img.tif"))) == len(expected) == 6
    for name, image, labels in expected:
        np.testing.assert_array_equal(tifffile.imread(tmp_path / f"{name}_img.tif"), image)
        masks = tifffile.imread(tmp_path / f"{name}_masks.tif")
        assert masks.dtype == np.uint16
        np.testing.assert_array_equal(masks, labels)


def test_stardist_puts_channels_last(dataset, tmp_path):
    to_stardist(dataset.root, tmp_path)
    for name, image, labels in _expected_frames(dataset):
        read = read_image(tmp_path / "images" / f"{name}.tif")
        if image.ndim > labels.ndim:
            image = np.moveaxis(image, 0, -1)
            assert read.axes == "YXC"
        np.testing.assert_array_equal(read.data, image)
        np.testing.assert_array_equal(read_image(tmp_path / "masks" / f"{name}.tif").data, labels)
    assert read_image(tmp_path / "images/00001.tif").spacing == {"Z": 0.29}


def test_ctc(dataset, tmp_path):
    to_ctc(dataset.root, tmp_path)
    timelapse = make_item(3)
    for t in range(3):
        np.testing.assert_array_equal(tifffile.imread(tmp_path / f"04/t{t:03d}.tif"), timelapse.sketch[t])
        np.testing.assert_array_equal(tifffile.imread(tmp_path / f"04_GT/SEG/man_seg{t:03d}.tif"), timelapse.labels[t])
        np.testing.assert_array_equal(
            tifffile.imread(tmp_path / f"04_GT/TRA/man_track{t:03d}.tif"), timelapse.labels[t]
        )
    tracks = np.loadtxt(tmp_path / "04_GT/TRA/man_track.txt", dtype=int, ndmin=2)
    np.testing.assert_array_equal(tracks, timelapse.tracks)
    # A 3D item is a sequence of one frame with one track per object.
    volume = make_item(1)
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "02/t000.tif"), volume.sketch)
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "02_GT/SEG/man_seg000.tif"), volume.labels)
    ids = np.unique(volume.labels[volume.labels > 0])
    expected = np.stack([ids, 0 * ids, 0 * ids, 0 * ids], axis=1)
    np.testing.assert_array_equal(np.loadtxt(tmp_path / "02_GT/TRA/man_track.txt", dtype=int, ndmin=2), expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["01", "01_GT", "02", "02_GT", "03", "03_GT", "04", "04_GT"]


def test_celldiffusion(dataset, tmp_path):
    to_celldiffusion(dataset.root, tmp_path, split=(0.5, 0.25, 0.25), rng=3)
    expected = {f"{name}.h5": (image, labels) for name, image, labels in _expected_frames(dataset)}
    lists = {}
    for part in ("train", "val", "test"):
        with open(tmp_path / f"{part}.csv", newline="") as f:
            lists[part] = [row for row in csv.reader(f, delimiter=";")]
    assert [len(rows) for rows in lists.values()] == [4, 1, 1]
    assert sorted(row[0] for rows in lists.values() for row in rows) == sorted(expected)
    for name, (image, labels) in expected.items():
        with h5py.File(tmp_path / name, "r") as f:
            np.testing.assert_array_equal(f["data/image"][()], image)
            np.testing.assert_array_equal(f["data/instances"][()], labels)
            assert {"boundary", "distance", "seeds"} <= set(f["data"])
            assert f["data/seeds"][()].sum() == len(np.unique(labels)) - 1
            assert (f["data/distance"][()] > 0).sum() == (labels > 0).sum()
    again = tmp_path.parent / "again"
    to_celldiffusion(dataset.root, again, split=(0.5, 0.25, 0.25), rng=3)
    assert all((again / name).read_bytes() == (tmp_path / name).read_bytes() for name in os.listdir(tmp_path))


def test_export_refuses_a_non_empty_folder_and_a_non_data_set(dataset, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "x").write_text("")
    with pytest.raises(InputError, match="exists and is not an empty folder"):
        to_cellpose(dataset.root, tmp_path / "out")
    with pytest.raises(InputError, match="not a synthscope data set"):
        to_stardist(tmp_path / "out", tmp_path / "new")
    with pytest.raises(InputError, match="split"):
        to_celldiffusion(dataset.root, tmp_path / "new", split=(0.5, 0.5, 0.5))
    assert not (tmp_path / "new").exists()


def _synthscope(*args):
    # rich may wrap the one error line at the terminal width; the tests join it again.
    code = "import sys; from synthscope.cli import main; sys.argv = ['synthscope', *sys.argv[1:]]; main()"
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True)


def test_cli_export(dataset, tmp_path):
    run = _synthscope("export", dataset.root, "--to", "stardist", tmp_path / "out")
    assert run.returncode == 0, run.stderr
    assert sorted(p.name for p in (tmp_path / "out" / "masks").iterdir())[0] == "00000.tif"
    run = _synthscope("export", dataset.root, "--to", "imagej", tmp_path / "other")
    assert run.returncode == 2
    assert "--to 'imagej': choose one of cellpose, stardist, ctc, celldiffusion" in " ".join(run.stderr.split())
    run = _synthscope("export", tmp_path / "missing", "--to", "ctc", tmp_path / "other")
    assert run.returncode == 2 and "not a synthscope data set" in " ".join(run.stderr.split())
