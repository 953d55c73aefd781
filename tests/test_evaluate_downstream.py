"""The segmenter and the downstream benchmark, end to end on tiny sizes."""

import json

import numpy as np
import pytest

from synthscope.errors import InputError
from synthscope.evaluate import downstream_benchmark, match_instances, segment, train_segmenter, write_report
from synthscope.evaluate.report import downstream_chart, downstream_table

TINY = dict(steps=10, batch_size=4, patch_size=32, channels=(8, 16, 16))


def blobs(n, seed, size=48):
    """Discs of varied brightness on a jittered grid, some touching, with their labels."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    images, labels = [], []
    for _ in range(n):
        label, image = np.zeros((size, size), np.uint16), np.zeros((size, size))
        centres = [(y, x) for y in range(8, size - 4, 14) for x in range(8, size - 4, 14)]
        for i, (y, x) in enumerate(centres, 1):
            disc = (yy - y - rng.uniform(-2, 2)) ** 2 + (xx - x - rng.uniform(-2, 2)) ** 2 < rng.uniform(5, 7.5) ** 2
            label[disc & (label == 0)] = i
            image[disc] = rng.uniform(0.4, 1)
        images.append(image + rng.normal(0, 0.05, image.shape))
        labels.append(label)
    return images, labels


def test_segmenter_learns_separate_objects_in_2d():
    images, labels = blobs(4, 0)
    model = train_segmenter(images, labels, steps=80, batch_size=4, patch_size=32, channels=(8, 16, 16), rng=0)
    predicted = [segment(model, image) for image in images]
    assert predicted[0].dtype == np.uint16
    assert match_instances(labels, predicted)["ap"][0] > 0.5


def test_segmenter_runs_in_3d_and_is_deterministic():
    label = np.zeros((16, 16, 16), np.uint16)
    label[3:9, 3:9, 3:9], label[8:14, 8:14, 8:14] = 1, 2
    image = (label > 0) + np.random.default_rng(0).normal(0, 0.1, label.shape)
    options = dict(steps=3, batch_size=2, patch_size=16, channels=(4, 8), rng=1)
    first, second = (segment(train_segmenter([image], [label], **options), image) for _ in range(2))
    assert first.shape == label.shape and np.array_equal(first, second)


def test_benchmark_end_to_end_with_k_real_and_report(tmp_path):
    train, test, synthetic = blobs(3, 1), blobs(2, 2), blobs(3, 3)
    steps = []
    report = downstream_benchmark(
        train,
        test,
        synthetic=synthetic,
        k_real=1,
        seeds=(0, 1),
        real_fraction=0.5,
        callback=lambda done, total, **f: steps.append((done, total, f["condition"])),
        **TINY,
    )
    assert list(report["conditions"]) == ["real", "synthetic", "real+synthetic"]
    assert steps[-1][:2] == (2 * 3 * TINY["steps"], 2 * 3 * TINY["steps"])
    for condition in report["conditions"].values():
        assert len(condition["runs"]) == 2
        assert all(0 <= r["ap50"] <= 1 and 0 <= r["seg"] <= 1 and len(r["ap"]) == 10 for r in condition["runs"])
        assert condition["ap50"]["min"] <= condition["ap50"]["mean"] <= condition["ap50"]["max"]
    assert [len(r["real_images"]) for r in report["conditions"]["real+synthetic"]["runs"]] == [1, 1]
    assert report["settings"]["n_test_objects"] == sum(len(np.unique(la)) - 1 for la in test[1])
    again = downstream_benchmark(train, test, k_real=1, seeds=(0,), **TINY)
    same = [
        {k: v for k, v in r["conditions"]["real"]["runs"][0].items() if "seconds" not in k} for r in (report, again)
    ]
    assert same[0] == same[1]
    paths = write_report(
        report, tmp_path, name="downstream", table=downstream_table(report), figure=downstream_chart(report)
    )
    assert [p.name for p in paths] == ["downstream.json", "downstream.md", "downstream.png"]
    assert json.loads(paths[0].read_text())["settings"]["k_real"] == 1
    assert "real+synthetic" in paths[1].read_text()


def test_benchmark_conditions_follow_the_data():
    train, test = blobs(2, 1), blobs(1, 2)
    assert list(downstream_benchmark(train, test, seeds=(0,), **{**TINY, "steps": 1})["conditions"]) == ["real"]
    only = downstream_benchmark(train, test, synthetic=blobs(1, 3), k_real=0, seeds=(0,), **{**TINY, "steps": 1})
    assert list(only["conditions"]) == ["synthetic"]


def test_bad_input():
    (images, labels), test = blobs(2, 1), blobs(1, 2)
    with pytest.raises(InputError, match="a label image for every image"):
        train_segmenter(images, labels[:1])
    with pytest.raises(InputError, match="share one 2D or 3D shape"):
        train_segmenter(images, [labels[0], labels[1][:40]])
    with pytest.raises(InputError, match="integers"):
        train_segmenter(images, [la.astype(np.float32) for la in labels])
    with pytest.raises(InputError, match="k_real=5"):
        downstream_benchmark((images, labels), test, k_real=5)
    with pytest.raises(InputError, match="nothing to train on"):
        downstream_benchmark((images, labels), test, k_real=0)
    with pytest.raises(InputError, match="synthetic: 0 images"):
        downstream_benchmark((images, labels), test, synthetic=([], []))
    with pytest.raises(InputError, match="real_fraction"):
        downstream_benchmark((images, labels), test, synthetic=(images, labels), real_fraction=1.5)
