import numpy as np
import pytest
from skimage.draw import disk
from skimage.filters import gaussian

from synthscope.annotate import find_empty_labels, find_mismatches, find_unlabeled, reconcile_labels, update_labels
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


# Judged against the sketch: a planted unlabeled blob, a planted empty label, a dim object.


def _ball(shape, centre, radius):
    grid = np.ogrid[tuple(slice(0, n) for n in shape)]
    return sum((g - c) ** 2 for g, c in zip(grid, centre)) <= radius**2


def _scene(ndim, polarity, *, seed=0):
    """Labels 1-6 (4 drawn dim), their sketch, and a refined image that lost object 2 and gained one at `new`."""
    if ndim == 2:
        shape, radius, new = (96, 96), 8, (75, 75)
        centres = [(18, 18), (18, 48), (18, 78), (48, 18), (48, 48), (78, 18)]
    else:
        shape, radius, new = (24, 64, 64), 6, (12, 50, 50)
        centres = [(12, 12, 12), (12, 12, 32), (12, 12, 52), (12, 32, 12), (12, 32, 32), (12, 52, 12)]
    labels = np.zeros(shape, np.uint16)
    for i, c in enumerate(centres, start=1):
        labels[_ball(shape, c, radius)] = i
    rng = np.random.default_rng(seed)

    def draw(levels, extra=None):
        image = np.full(shape, 0.1)
        for i, level in enumerate(levels, start=1):
            image[labels == i] = level
        if extra is not None:
            image[_ball(shape, new, radius)] = extra
        image = gaussian(image, 1.0) + rng.normal(0, 0.02, shape)
        return (image if polarity == "bright" else 1 - image).astype(np.float32)

    sketch = draw([0.7, 0.7, 0.7, 0.2, 0.7, 0.7])
    image = draw([0.7, 0.1, 0.7, 0.2, 0.7, 0.7], extra=0.7)
    return labels, sketch, image, new


@pytest.mark.parametrize("ndim", [2, 3])
@pytest.mark.parametrize("polarity", ["bright", "dark"])
def test_against_the_sketch_a_planted_blob_and_an_empty_label_are_found(ndim, polarity):
    labels, sketch, image, new = _scene(ndim, polarity)
    blobs = find_unlabeled(image, labels, reference=sketch, polarity=polarity)
    assert blobs.max() == 1 and blobs[new] == 1
    assert find_empty_labels(image, labels, reference=sketch, polarity=polarity) == [2]
    # The dim object 4 is as dim as the sketch drew it: only an absolute judgement calls it empty.
    assert find_empty_labels(image, labels, polarity=polarity) == [2, 4]
    # Nothing is found when the image shows what the sketch showed.
    assert find_unlabeled(sketch, labels, reference=sketch, polarity=polarity).max() == 0
    assert find_empty_labels(sketch, labels, reference=sketch, polarity=polarity) == []
    blobs, empty = find_mismatches(image, labels, reference=sketch, polarity=polarity)
    assert blobs.max() == 1 and empty == [2]


def test_a_structure_the_sketch_drew_without_a_label_is_not_new():
    labels, sketch, image, new = _scene(2, "bright")
    drawn = sketch.copy()
    drawn[_ball(labels.shape, new, 6)] += 0.6  # e.g. debris drawn on purpose, unlabeled ...
    image[_ball(labels.shape, new, 8)] = 0.7  # ... its edge moved out by 2 px in the refined image
    assert find_unlabeled(image, labels).max() == 1
    assert find_unlabeled(image, labels, reference=drawn).max() == 0
    assert find_unlabeled(image, labels, reference=sketch).max() == 1  # a sketch that did not draw it


def test_unlabelled_light_left_as_drawn_is_not_new_when_refinement_dims_the_objects():
    labels, _, _, free = _scene(2, "bright")
    light = _ball(labels.shape, free, 7)
    levels = np.array([0.05, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8], np.float32)
    sketch = levels[labels]
    sketch[light] = 0.3  # dim unlabelled light, drawn
    image = sketch.copy()
    image[labels > 0] = 0.45  # refined objects come out dimmer; the light is held as drawn
    # Judged by the image's own levels alone the light would pass the midpoint (0.3 > 0.25) ...
    assert find_unlabeled(image, labels).max() == 1
    # ... but the sketch showed the same light by those levels: nothing new.
    assert find_unlabeled(image, labels, reference=sketch).max() == 0
    assert find_unlabeled(image, labels, reference=levels[labels]).max() == 1  # a sketch without the light


def test_an_object_drawn_very_bright_need_only_stay_a_typical_object():
    labels = _scene(2, "bright")[0]
    levels = np.array([0.1, 1.0, 0.3, 0.3, 0.3, 0.3, 0.3], np.float32)
    sketch = levels[labels]  # object 1 drawn saturated (mitotic), far above the typical object
    levels[1] = 0.3
    image = levels[labels]  # refined as a typical nucleus: a third of the contrast drawn
    assert find_empty_labels(image, labels, reference=sketch) == []
    levels[1] = 0.12
    assert find_empty_labels(levels[labels], labels, reference=sketch) == [1]


@pytest.mark.parametrize("ndim", [2, 3])
def test_reconcile_adds_and_removes_exactly_the_mismatches(ndim):
    labels, sketch, image, new = _scene(ndim, "bright")
    fixed, report = reconcile_labels(image, labels, reference=sketch, band=2)
    assert report == {"added": [7], "lost": [2]}
    assert fixed.dtype == labels.dtype and set(np.unique(fixed)) == {0, 1, 3, 4, 5, 6, 7}
    truth = _ball(labels.shape, new, 8 if ndim == 2 else 6)
    assert _iou(fixed == 7, truth) > 0.8
    for i in (1, 3, 4, 5, 6):  # kept labels are not touched
        np.testing.assert_array_equal(fixed == i, labels == i)
    blobs, empty = find_mismatches(image, fixed, reference=sketch)
    assert blobs.max() == 0 and empty == []


def test_reconcile_a_time_lapse_frame_by_frame():
    labels, sketch, image, new = _scene(2, "bright")
    stack = np.stack([labels] * 3)
    sketches = np.stack([sketch] * 3)
    images = np.stack([sketch, image, sketch])  # frame 1 lost object 2 and gained one
    blobs, empty = find_mismatches(images, stack, reference=sketches, frames=True)
    assert blobs.max() == 1 and blobs[1][new] == 1 and empty == [2]
    fixed, report = reconcile_labels(images, stack, reference=sketches, frames=True)
    assert report == {"added": [7], "lost": [2]}
    assert not (fixed == 2).any()  # the whole track goes
    assert [bool((fixed[t] == 7).any()) for t in range(3)] == [False, True, False]


def test_new_ids_past_the_dtype_widen_the_labels():
    labels, sketch, image, _ = _scene(2, "bright")
    labels = labels.astype(np.uint8)
    labels[labels == 6] = 255
    fixed, report = reconcile_labels(image, labels, reference=sketch)
    assert report["added"] == [256] and fixed.dtype == np.uint32 and (fixed == 256).any()


def test_a_reference_of_another_shape_is_refused():
    labels, sketch, image, _ = _scene(2, "bright")
    with pytest.raises(InputError, match="reference shape"):
        find_unlabeled(image, labels, reference=sketch[:-1])
    with pytest.raises(InputError, match="reference shape"):
        reconcile_labels(image, labels, reference=sketch[:-1])
