"""The downstream benchmark: does synthetic data help a segmenter on real images?

The same small segmenter (`synthscope.evaluate.segmenter`) is trained with the same
budget and seeds on (a) real annotated images, (b) synthetic images only, (c) both,
and scored on held-out real images by AP at IoU 0.5 (pooled over the images, as
StarDist's ``matching_dataset``) and the Cell Tracking Challenge SEG score. It is the
judge of every refinement setting: a data set that looks real but teaches a segmenter
less scores lower here.
"""

import functools
import time
from collections.abc import Callable, Sequence

import numpy as np

from synthscope.errors import InputError
from synthscope.evaluate.matching import match_instances, seg_score
from synthscope.evaluate.segmenter import SegmenterNetwork, segment, train_segmenter

CONDITIONS = ("real", "synthetic", "real+synthetic")
# Images and their instance labels, as every data set here is given.
Pairs = tuple[Sequence[np.ndarray], Sequence[np.ndarray]]


def _summary(values):
    values = np.asarray(values, float)
    return {
        "mean": float(values.mean()),
        "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
        "min": float(values.min()),
        "max": float(values.max()),
    }


def downstream_benchmark(
    train: Pairs,
    test: Pairs,
    *,
    synthetic: Pairs | None = None,
    k_real: int | None = None,
    seeds: Sequence[int] = (0, 1, 2),
    steps: int = 600,
    batch_size: int = 8,
    patch_size: int = 96,
    channels: Sequence[int] = SegmenterNetwork.channels,
    real_fraction: float | None = None,
    callback: Callable[..., None] | None = None,
) -> dict:
    """Train the fixed segmenter on real, synthetic and mixed data; score it on real test images.

    Parameters
    ----------
    train : (sequence of ndarray, sequence of ndarray)
        Real training images and their instance labels (2D or 3D, at the pixel size
        of the synthetic data; e.g. ``synthscope.sample_data.nuclei_2d("train")``).
    test : (sequence of ndarray, sequence of ndarray)
        Held-out real images and labels (e.g. ``nuclei_2d("test")``).
    synthetic : (sequence of ndarray, sequence of ndarray), optional
        Synthetic images and labels. Without them only the real condition runs.
    k_real : int, optional
        Use only `k_real` real training images, drawn anew for every seed (the same
        draw for both conditions with real data); 0 runs the synthetic condition only.
        By default all of them.
    seeds : sequence of int, optional
        One training run per seed and condition; seeds fix the weights, the patches
        and the `k_real` draw.
    steps, batch_size, patch_size, channels : optional
        The training budget and network, as in `train_segmenter`.
    real_fraction : float, optional
        In the mixed condition, the share of training patches drawn from real images.
        By default every image is equally likely, real or synthetic.
    callback : callable, optional
        ``callback(done, total, condition=..., seed=..., loss=...)`` after every
        training step of every run.

    Returns
    -------
    report : dict
        ``"conditions"``: for each condition run, ``"runs"`` (seed, AP at every IoU
        threshold, AP@0.5, SEG, training wall and CPU seconds, the real images used) and
        ``"ap50"``/``"seg"`` summaries (mean, sample std, min, max over seeds);
        ``"settings"``: everything above that fixes the result.

    Examples
    --------
    >>> labels = np.zeros((2, 32, 32), np.uint16); labels[:, 4:14, 4:14] = 1; labels[:, 18:28, 16:30] = 2
    >>> images = (labels > 0) + np.random.default_rng(0).normal(0, 0.1, labels.shape)
    >>> r = downstream_benchmark((images, labels), (images, labels), synthetic=(images, labels),
    ...                          seeds=(0,), steps=5, batch_size=2, patch_size=32, channels=(8, 8, 8))
    >>> sorted(r["conditions"])
    ['real', 'real+synthetic', 'synthetic']
    """
    (train_images, train_labels), (test_images, test_labels) = train, test
    if len(test_images) == 0 or len(test_images) != len(test_labels):
        raise InputError(
            f"test: {len(test_images)} images and {len(test_labels)} label images; need one each, at least one"
        )
    k = len(train_images) if k_real is None else k_real
    if not 0 <= k <= len(train_images):
        raise InputError(f"k_real={k_real}: there are {len(train_images)} real training images")
    if real_fraction is not None and not 0 < real_fraction < 1:
        raise InputError(f"real_fraction must lie strictly between 0 and 1, got {real_fraction}")
    conditions = [c for c in CONDITIONS if (k > 0 or c == "synthetic") and (synthetic is not None or c == "real")]
    if not conditions:
        raise InputError("nothing to train on: k_real=0 and no synthetic data")
    synthetic = ([], []) if synthetic is None else synthetic
    if len(synthetic[0]) != len(synthetic[1]) or (conditions != ["real"] and len(synthetic[0]) == 0):
        raise InputError(
            f"synthetic: {len(synthetic[0])} images and {len(synthetic[1])} label images; need one each, at least one"
        )
    total = len(seeds) * len(conditions) * steps
    # One training budget for every run: only the data, the sampling and the seed change.
    budget = dict(steps=steps, batch_size=batch_size, patch_size=patch_size, channels=channels)
    report = {"conditions": {c: {"runs": []} for c in conditions}}
    for run, (seed, condition) in enumerate((s, c) for s in seeds for c in conditions):
        chosen = np.sort(np.random.default_rng(seed).choice(len(train_images), k, replace=False))
        real = ([train_images[i] for i in chosen], [train_labels[i] for i in chosen])
        parts = [part for name, part in (("real", real), ("synthetic", synthetic)) if name in condition.split("+")]
        images, labels = [im for p in parts for im in p[0]], [la for p in parts for la in p[1]]
        sampling = None
        if condition == "real+synthetic" and real_fraction is not None:
            sampling = [real_fraction / k] * k + [(1 - real_fraction) / len(synthetic[0])] * len(synthetic[0])
        progress = (
            None
            if callback is None
            else functools.partial(_progress, callback, offset=run * steps, total=total, condition=condition, seed=seed)
        )
        scores = _train_and_score(images, labels, test, **budget, sampling=sampling, rng=seed, callback=progress)
        used = chosen.tolist() if "real" in condition.split("+") else []
        report["conditions"][condition]["runs"].append({"seed": seed, **scores, "real_images": used})
    for entry in report["conditions"].values():
        entry["ap50"] = _summary([r["ap50"] for r in entry["runs"]])
        entry["seg"] = _summary([r["seg"] for r in entry["runs"]])
    report["settings"] = {
        "seeds": list(seeds),
        "steps": steps,
        "batch_size": batch_size,
        "patch_size": patch_size,
        "channels": list(channels),
        "k_real": k,
        "real_fraction": real_fraction,
        "n_real_train": len(train_images),
        "n_synthetic": len(synthetic[0]),
        "n_test": len(test_images),
        "n_test_objects": int(sum(len(np.unique(la[la > 0])) for la in test_labels)),
    }
    return report


def _train_and_score(images, labels, test, **options):
    """Train one segmenter and return its scores on `test` and its training time."""
    start, cpu_start = time.perf_counter(), time.process_time()
    model = train_segmenter(images, labels, **options)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    predicted = [segment(model, image) for image in test[0]]
    ap = match_instances(list(test[1]), predicted)["ap"]
    return {
        "ap50": float(ap[0]),
        "seg": seg_score(list(test[1]), predicted),
        "ap": ap.tolist(),
        "train_seconds": round(seconds, 2),
        "train_cpu_seconds": round(cpu_seconds, 2),
    }


def _progress(callback, step, _steps, *, offset, total, **fields):
    callback(offset + step, total, **fields)
