"""Instance matching, SEG, Dice and boundary F1 against hand-computed values and a brute force."""

import itertools

import numpy as np
import pytest

from synthscope.errors import InputError
from synthscope.evaluate import THRESHOLDS, boundary_f1, dice, match_instances, seg_score


def squares(shape, boxes):
    labels = np.zeros(shape, np.uint16)
    for i, box in enumerate(boxes, 1):
        labels[tuple(slice(a, b) for a, b in box)] = i
    return labels


def at(scores, threshold):
    k = int(np.flatnonzero(np.isclose(scores["threshold"], threshold))[0])
    return {key: value[k] for key, value in scores.items()}


def test_perfect_prediction_scores_one_with_other_ids():
    true = squares((20, 20), [((0, 5), (0, 5)), ((10, 15), (10, 18))])
    pred = np.where(true == 1, 7, np.where(true == 2, 3, 0)).astype(np.int32)
    scores = match_instances(true, pred)
    assert np.all(scores["ap"] == 1) and np.all(scores["mean_matched_iou"] == 1)
    assert seg_score(true, pred) == 1.0


def test_merge_hand_computed():
    # Two true 4x4 squares side by side, predicted as one 4x8 object: IoU 0.5 with each.
    true = squares((8, 8), [((0, 4), (0, 4)), ((0, 4), (4, 8))])
    pred = (true > 0).astype(np.uint8)
    s = at(match_instances(true, pred), 0.5)
    assert (s["tp"], s["fp"], s["fn"]) == (1, 0, 1)
    assert s["precision"] == 1 and s["recall"] == 0.5 and s["f1"] == pytest.approx(2 / 3) and s["ap"] == 0.5
    assert s["mean_matched_iou"] == 0.5
    s = at(match_instances(true, pred), 0.55)
    assert (s["tp"], s["fp"], s["fn"], s["ap"]) == (0, 1, 2, 0)
    assert seg_score(true, pred) == 0.5  # each true object is covered by the merge, IoU 0.5


def test_split_hand_computed():
    # One 4x8 true object cut into a 4x6 and a 4x2 piece: IoU 0.75 and 0.25.
    true = squares((4, 8), [((0, 4), (0, 8))])
    pred = squares((4, 8), [((0, 4), (0, 6)), ((0, 4), (6, 8))])
    s = at(match_instances(true, pred), 0.7)
    assert (s["tp"], s["fp"], s["fn"], s["ap"], s["mean_matched_iou"]) == (1, 1, 0, 0.5, 0.75)
    assert at(match_instances(true, pred), 0.8)["tp"] == 0
    assert seg_score(true, pred) == 0.75  # the 4x6 piece covers more than half


def test_empty_prediction_and_empty_truth():
    true = squares((10, 10), [((0, 3), (0, 3)), ((5, 9), (5, 9))])
    empty = np.zeros_like(true)
    s = match_instances(true, empty)
    assert np.all(s["tp"] == 0) and np.all(s["fn"] == 2) and np.all(s["ap"] == 0) and np.all(s["precision"] == 0)
    assert seg_score(true, empty) == 0.0
    s = match_instances(empty, true)
    assert np.all(s["fp"] == 2) and np.all(s["recall"] == 0)
    assert np.isnan(seg_score(empty, true))
    assert np.all(match_instances(empty, empty)["ap"] == 0)  # StarDist's convention


def test_3d_hand_computed():
    true = squares((6, 10, 10), [((0, 4), (0, 4), (0, 4))])
    pred = squares((6, 10, 10), [((1, 5), (0, 4), (0, 4)), ((5, 6), (8, 10), (8, 10))])
    s = at(match_instances(true, pred), 0.6)  # IoU 48 / 80
    assert (s["tp"], s["fp"], s["fn"]) == (1, 1, 0) and s["mean_matched_iou"] == pytest.approx(0.6)
    assert at(match_instances(true, pred), 0.65)["tp"] == 0
    assert seg_score(true, pred) == pytest.approx(0.6)


def test_sequences_pool_counts():
    true = squares((8, 8), [((0, 4), (0, 4)), ((0, 4), (4, 8))])
    merged = (true > 0).astype(np.uint16)
    s = at(match_instances([true, true], [true, merged]), 0.5)
    assert (s["tp"], s["fp"], s["fn"]) == (3, 0, 1) and s["ap"] == 0.75
    assert seg_score([true, true], [true, merged]) == 0.75


def brute_force(true, pred, threshold):
    """Largest number of one-to-one pairs with IoU >= threshold, by trying every assignment."""
    t_ids, p_ids = [i for i in np.unique(true) if i], [i for i in np.unique(pred) if i]
    iou = np.array(
        [[np.sum((true == a) & (pred == b)) / np.sum((true == a) | (pred == b)) for b in p_ids] for a in t_ids]
    )
    best = 0
    if len(t_ids) <= len(p_ids):
        for perm in itertools.permutations(range(len(p_ids)), len(t_ids)):
            best = max(best, sum(iou[i, j] >= threshold for i, j in enumerate(perm)))
    else:
        for perm in itertools.permutations(range(len(t_ids)), len(p_ids)):
            best = max(best, sum(iou[i, j] >= threshold for j, i in enumerate(perm)))
    return best, len(t_ids), len(p_ids)


def brute_seg(true, pred):
    scores = []
    for a in (i for i in np.unique(true) if i):
        r = true == a
        covering = [b for b in np.unique(pred[r]) if b and np.sum(r & (pred == b)) > 0.5 * r.sum()]
        scores.append(np.sum(r & (pred == covering[0])) / np.sum(r | (pred == covering[0])) if covering else 0.0)
    return np.mean(scores)


@pytest.mark.parametrize("seed", range(6))
def test_against_brute_force_on_random_overlapping_blobs(seed):
    rng = np.random.default_rng(seed)

    def blobs():
        labels = np.zeros((24, 24), np.uint16)
        for i in range(1, rng.integers(2, 6)):
            y, x, h, w = rng.integers(0, 18, 2).tolist() + rng.integers(3, 9, 2).tolist()
            labels[y : y + h, x : x + w] = i
        return labels

    true, pred = blobs(), blobs()
    scores = match_instances(true, pred)
    for k, threshold in enumerate(THRESHOLDS):
        tp, n_true, n_pred = brute_force(true, pred, threshold)
        assert (scores["tp"][k], scores["fn"][k], scores["fp"][k]) == (tp, n_true - tp, n_pred - tp)
    assert seg_score(true, pred) == pytest.approx(brute_seg(true, pred))


def test_dice_and_boundary_f1():
    a = squares((10, 10), [((0, 4), (0, 4))])
    b = squares((10, 10), [((0, 4), (2, 6))])
    assert dice(a, b) == 0.5 and dice(a, a) == 1.0 and dice(a * 0, b * 0) == 1.0 and dice(a, b * 0) == 0.0
    cube = squares((8, 8, 8), [((2, 6), (2, 6), (2, 6))])
    assert boundary_f1(cube, cube) == 1.0
    assert boundary_f1(cube, np.roll(cube, 1, axis=0), tolerance=1) == 1.0
    assert boundary_f1(cube, np.roll(cube, 3, axis=0), tolerance=1) < 1
    assert boundary_f1(cube, np.zeros_like(cube)) == 0.0


def test_bad_input():
    labels = np.zeros((4, 4), np.uint16)
    with pytest.raises(InputError, match="integers"):
        match_instances(labels, labels.astype(float))
    with pytest.raises(InputError, match="shape"):
        seg_score(labels, labels[:3])
    with pytest.raises(InputError, match="2 true label images but 1"):
        match_instances([labels, labels], [labels])
    with pytest.raises(InputError, match="both"):
        match_instances(labels, [labels])
    with pytest.raises(InputError, match="thresholds"):
        match_instances(labels, labels, thresholds=(0.0,))
    with pytest.raises(InputError, match="shape"):
        dice(labels, labels[:2])
