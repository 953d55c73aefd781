"""``synthscope.io.read_annotated``: the layouts in which users keep annotated images."""

import numpy as np
import pytest

from synthscope.errors import InputError
from synthscope.io import DatasetWriter, read_annotated, write_image
from synthscope.item import Item

IMAGE = np.linspace(0, 1, 256, dtype=np.float32).reshape(16, 16)
LABELS = np.zeros((16, 16), np.uint16)
LABELS[2:6, 2:6] = 1


def test_stardist_layout_pairs_images_with_masks_by_name(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    for name in ("b", "a"):
        write_image(tmp_path / "images" / f"{name}.tif", IMAGE, axes="YX", spacing={"Y": 0.5, "X": 0.5})
        write_image(tmp_path / "masks" / f"{name}.tif", LABELS, axes="YX")
    pairs = read_annotated(tmp_path)
    assert [name for name, _, _ in pairs] == ["a", "b"]
    name, image, labels = pairs[0]
    assert np.array_equal(image.data, IMAGE) and np.array_equal(labels, LABELS) and image.spacing["X"] == 0.5


def test_cellpose_layout_and_a_missing_mask(tmp_path):
    write_image(tmp_path / "x.png", (IMAGE * 255).astype(np.uint8), axes="YX")
    write_image(tmp_path / "x_masks.png", LABELS.astype(np.uint8), axes="YX")
    ((name, image, labels),) = read_annotated(tmp_path)
    assert name == "x" and image.data.dtype == np.uint8 and labels.max() == 1
    write_image(tmp_path / "y.png", (IMAGE * 255).astype(np.uint8), axes="YX")
    with pytest.raises(InputError, match="no label image for y"):
        read_annotated(tmp_path)


def test_synthscope_data_set(tmp_path):
    writer = DatasetWriter(tmp_path / "data", info={"preset": "test"})
    writer.write(0, Item(labels=LABELS, axes="YX", sketch=IMAGE), record={"seed": 0})
    ((name, image, labels),) = read_annotated(tmp_path / "data")
    assert name == "00000" and np.array_equal(image.data, IMAGE) and np.array_equal(labels, LABELS)


def test_refuses_float_labels_and_shape_mismatch(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "labels").mkdir()
    write_image(tmp_path / "images" / "a.tif", IMAGE, axes="YX")
    write_image(tmp_path / "labels" / "a.tif", LABELS.astype(np.float32), axes="YX")
    with pytest.raises(InputError, match="labels must be integers"):
        read_annotated(tmp_path)
    write_image(tmp_path / "labels" / "a.tif", LABELS[:8], axes="YX")
    with pytest.raises(InputError, match="differs from its image"):
        read_annotated(tmp_path)
    with pytest.raises(InputError, match="not a folder"):
        read_annotated(tmp_path / "nothing")
