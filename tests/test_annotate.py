import numpy as np
import pytest
from skimage.draw import disk
from skimage.filters import gaussian

from synthscope.annotate import find_empty_labels, find_unlabeled, update_labels
from synthscope.errors import InputError


def _disks(shape, centres, radius):
    labels = np.zeros(shape, np.uint16)
    for i, c in enumerate(centres, start=1):
        labels[disk(c, radius, shape=shape)] = i
    return labels


def _iou(a, b):
    return (a & b).sum() / (a | b).sum()


def test_update_moves_edges_to_the_image_and_keeps_ids():
    rng = np.random.default_rng(0)
    centres = [(30, 30), (30, 80), (80, 50)]
    truth = _disks((110, 110), centres, 14)
    image = gaussian((truth > 0).astype(np.float32), 1.0) + rng.normal(0, 0.03, truth.shape)
    drawn = _disks((110, 110), centres, 11)  # masks 3 px too small
    updated, report = update_labels(image, drawn, band=4)
    assert set(np.unique(updated)) == set(np.unique(drawn))
    assert updated.dtype == drawn.dtype
    for i in (1, 2, 3):
        assert _iou(updated == i, truth == i) > 0.9 > _iou(drawn == i, truth == i)
    assert report["refused"] == []
    assert 0.5 < report["mean_iou"] < 0.9


def test_touching_objects_stay_apart_in_3d():
    labels = np.zeros((12, 40, 40), np.uint16)
    labels[2:10, 5:35, 5:20] = 1
    labels[2:10, 5:35, 20:35] = 2
    image = gaussian((labels > 0).astype(np.float32), 1.0)
    updated, report = update_labels(image, labels, band=2)
    assert sorted(report["iou"]) == [1, 2]
    for i in (1, 2):
        assert (updated == i).sum() > 0.7 * (labels == i).sum()


def test_a_change_that_would_lose_an_object_is_refused():
    labels = _disks((60, 60), [(30, 30)], 10)
    image = np.zeros((60, 60), np.float32)
    image[disk((30, 30), 3, shape=image.shape)] = 1.0  # the object shrank to a dot
    updated, report = update_labels(image, labels, band=8, min_iou=0.5)
    assert report["refused"] == [1]
    np.testing.assert_array_equal(updated, labels)


def test_planted_unlabeled_blob_and_empty_label_are_found():
    rng = np.random.default_rng(1)
    labels = _disks((128, 128), [(30, 30), (30, 90), (90, 30)], 10)
    image = 0.1 + rng.normal(0, 0.02, labels.shape)
    image[labels == 1] += 0.6
    image[labels == 2] += 0.5
    image[disk((95, 95), 9, shape=image.shape)] += 0.6  # painted object, no label
    blobs = find_unlabeled(image, labels)
    assert blobs.max() == 1 and blobs[95, 95] == 1
    assert find_empty_labels(image, labels) == [3]  # label 3 has no object


def test_dark_objects_on_a_light_background():
    labels = _disks((64, 64), [(20, 20)], 8)
    image = np.full((64, 64), 0.8, np.float32)
    image[labels > 0] = 0.2
    image[disk((45, 45), 8, shape=image.shape)] = 0.2
    assert find_unlabeled(image, labels, polarity="dark").max() == 1
    assert find_unlabeled(image, labels, polarity="bright").max() == 0


@pytest.mark.parametrize("function", [update_labels, find_unlabeled, find_empty_labels])
def test_shape_mismatch_is_refused(function):
    with pytest.raises(InputError, match="differs from labels shape"):
        function(np.zeros((8, 8)), np.zeros((8, 9), np.uint16))
