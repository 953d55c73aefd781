"""Scores of a predicted segmentation against the truth, for 2D and 3D label images.

Instance scores follow StarDist's ``matching``: objects are paired one-to-one by
`scipy.optimize.linear_sum_assignment` on their intersection over union (IoU); a pair
counts as a true positive when its IoU reaches the threshold. "Average precision" is
StarDist's (and the Data Science Bowl 2018's) ``TP / (TP + FP + FN)``.
"""

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from scipy import ndimage
from scipy.optimize import linear_sum_assignment

from synthscope.errors import InputError

# One or a sequence of label images, as every score here takes them.
Labels = npt.ArrayLike | Sequence[npt.ArrayLike]

THRESHOLDS = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)


def _pairs(true, pred):
    """Return `true` and `pred` as equally long lists of checked integer label images."""
    single = isinstance(true, np.ndarray)
    if single != isinstance(pred, np.ndarray):
        raise InputError("true and pred must both be label images or both be sequences of them")
    trues, preds = ([true], [pred]) if single else (list(true), list(pred))
    if len(trues) != len(preds):
        raise InputError(f"{len(trues)} true label images but {len(preds)} predicted ones")
    for i, (t, p) in enumerate(zip(trues, preds)):
        for name, a in (("true", t), ("pred", p)):
            if not np.issubdtype(np.asarray(a).dtype, np.integer):
                raise InputError(
                    f"{name} label image {i} has dtype {np.asarray(a).dtype}; instance labels must be integers"
                )
        if np.shape(t) != np.shape(p):
            raise InputError(f"label image {i}: true has shape {np.shape(t)} but pred has {np.shape(p)}")
    return trues, preds


def _overlap(true, pred):
    """Return the pixel counts of every (true object, pred object) pair, background excluded."""
    t_ids, t_index = np.unique(true, return_inverse=True)
    p_ids, p_index = np.unique(pred, return_inverse=True)
    counts = np.bincount(t_index.ravel() * len(p_ids) + p_index.ravel(), minlength=len(t_ids) * len(p_ids))
    counts = counts.reshape(len(t_ids), len(p_ids))
    return counts[t_ids > 0][:, p_ids > 0], counts[t_ids > 0].sum(1), counts[:, p_ids > 0].sum(0)


def _iou(true, pred):
    inter, t_size, p_size = _overlap(true, pred)
    union = t_size[:, None] + p_size[None, :] - inter
    return inter / np.maximum(union, 1), inter, t_size


def _safe_divide(a, b):
    return a / b if b > 0 else 0.0


def match_instances(true: Labels, pred: Labels, *, thresholds: Sequence[float] = THRESHOLDS) -> dict[str, np.ndarray]:
    """Match predicted objects to true objects at several IoU thresholds.

    Parameters
    ----------
    true, pred : ndarray of int, or sequence of them
        Instance labels (0 = background) of the same shape, 2D or 3D. Given sequences,
        the counts of all pairs are pooled before the ratios are taken (StarDist's
        ``matching_dataset``).
    thresholds : sequence of float, optional
        IoU thresholds in (0, 1].

    Returns
    -------
    scores : dict of str to ndarray
        One value per threshold under each key: ``"threshold"``, ``"tp"``, ``"fp"``,
        ``"fn"``, ``"precision"``, ``"recall"``, ``"f1"``, ``"ap"`` (TP / (TP + FP + FN)),
        ``"mean_matched_iou"`` (mean IoU of the true positives). Ratios whose
        denominator is 0 are 0, as in StarDist.

    Examples
    --------
    A split: the truth has one object, the prediction cuts it in two halves.

    >>> true = np.zeros((4, 8), np.uint16); true[:, :] = 1
    >>> pred = np.zeros((4, 8), np.uint16); pred[:, :4] = 1; pred[:, 4:] = 2
    >>> s = match_instances(true, pred, thresholds=(0.5,))
    >>> int(s["tp"][0]), int(s["fp"][0]), int(s["fn"][0]), float(s["ap"][0])
    (1, 1, 0, 0.5)
    """
    trues, preds = _pairs(true, pred)
    thresholds = np.asarray(thresholds, float)
    if thresholds.ndim != 1 or len(thresholds) == 0 or np.any((thresholds <= 0) | (thresholds > 1)):
        raise InputError(f"thresholds must be a non-empty sequence of numbers in (0, 1], got {thresholds.tolist()}")
    tp, n_true, n_pred, iou_sum = (np.zeros(len(thresholds)) for _ in range(4))
    for t, p in zip(trues, preds):
        iou = _iou(t, p)[0]
        n_true += iou.shape[0]
        n_pred += iou.shape[1]
        n_matched = min(iou.shape)
        if n_matched == 0:
            continue
        for k, thr in enumerate(thresholds):
            # As StarDist: maximise the number of pairs above thr, break ties by IoU.
            rows, cols = linear_sum_assignment(-(iou >= thr).astype(float) - iou / (2 * n_matched))
            matched = iou[rows, cols][iou[rows, cols] >= thr]
            tp[k] += len(matched)
            iou_sum[k] += matched.sum()
    fp, fn = n_pred - tp, n_true - tp
    ratio = np.vectorize(_safe_divide, otypes=[float])
    precision, recall = ratio(tp, tp + fp), ratio(tp, tp + fn)
    return {
        "threshold": thresholds,
        "tp": tp.astype(int),
        "fp": fp.astype(int),
        "fn": fn.astype(int),
        "precision": precision,
        "recall": recall,
        "f1": ratio(2 * tp, 2 * tp + fp + fn),
        "ap": ratio(tp, tp + fp + fn),
        "mean_matched_iou": ratio(iou_sum, tp),
    }


def seg_score(true: Labels, pred: Labels) -> float:
    """Return the Cell Tracking Challenge SEG score of `pred` against `true`.

    Every true object R is paired with the predicted object S that covers more than
    half of it (at most one can); its score is the IoU of R and S, or 0 when no such S
    exists. SEG is the mean over all true objects.

    Parameters
    ----------
    true, pred : ndarray of int, or sequence of them
        Instance labels of the same shape, 2D or 3D; given sequences, the mean is
        taken over the true objects of all images together.

    Returns
    -------
    seg : float
        In [0, 1]; NaN when there is no true object.

    Examples
    --------
    A merge: the prediction joins two true objects of 4 pixels into one of 8, which
    covers each of them with IoU 0.5. A split: the prediction cuts one true object
    into two halves, neither covering more than half of it.

    >>> true = np.array([[1, 1, 2, 2], [1, 1, 2, 2]], np.uint8)
    >>> seg_score(true, (true > 0).astype(np.uint8))
    0.5
    >>> seg_score((true > 0).astype(np.uint8), true)
    0.0
    """
    scores = []
    for t, p in zip(*_pairs(true, pred)):
        iou, inter, t_size = _iou(t, p)
        covers = inter > 0.5 * t_size[:, None]
        scores.extend(np.where(covers.any(1), (iou * covers).max(1, initial=0.0), 0.0))
    return float(np.mean(scores)) if scores else float("nan")


def dice(true: npt.ArrayLike, pred: npt.ArrayLike) -> float:
    """Return the Dice coefficient of two masks (non-zero = foreground), 2D or 3D.

    Two empty masks agree perfectly: 1.0.

    Examples
    --------
    >>> dice(np.array([1, 1, 0, 0]), np.array([0, 1, 1, 0]))
    0.5
    """
    true, pred = _masks(true, pred)
    total = true.sum() + pred.sum()
    return float(2 * (true & pred).sum() / total) if total else 1.0


def boundary_f1(true: npt.ArrayLike, pred: npt.ArrayLike, *, tolerance: float = 2.0) -> float:
    """Return the boundary F1 score of two masks (non-zero = foreground), 2D or 3D.

    A boundary pixel of one mask counts as found when a boundary pixel of the other
    lies within `tolerance` pixels (Euclidean); precision and recall are the found
    fractions of the predicted and true boundary pixels.

    Parameters
    ----------
    true, pred : array_like
        Masks or label images of the same shape; only foreground versus background is
        scored (pass ``classes == c`` to score one semantic class).
    tolerance : float, optional
        Largest distance in pixels between matching boundary pixels.

    Returns
    -------
    f1 : float
        1.0 when both masks have no boundary.

    Examples
    --------
    A 5 x 5 square against itself, and against a copy moved by 2 pixels: 10 of the
    16 boundary pixels of each lie within 1 pixel of the other's.

    >>> a = np.zeros((9, 12), bool); a[2:7, 2:7] = True
    >>> boundary_f1(a, a)
    1.0
    >>> boundary_f1(a, np.roll(a, 2, axis=1), tolerance=1)
    0.625
    """
    true, pred = _masks(true, pred)
    if tolerance < 0:
        raise InputError(f"tolerance must be non-negative, got {tolerance}")
    edges = [m & ~ndimage.binary_erosion(m, border_value=0) for m in (true, pred)]
    if not edges[0].any() and not edges[1].any():
        return 1.0
    near = [ndimage.distance_transform_edt(~e) <= tolerance if e.any() else np.zeros_like(e) for e in edges]
    recall = _safe_divide((edges[0] & near[1]).sum(), edges[0].sum())
    precision = _safe_divide((edges[1] & near[0]).sum(), edges[1].sum())
    return float(_safe_divide(2 * precision * recall, precision + recall))


def _masks(true, pred):
    true, pred = np.asarray(true) != 0, np.asarray(pred) != 0
    if true.shape != pred.shape:
        raise InputError(f"true has shape {true.shape} but pred has {pred.shape}")
    return true, pred
