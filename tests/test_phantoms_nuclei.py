"""Nuclei: layout, overlap, scale, determinism and bad input."""

import numpy as np
import pytest
from scipy import ndimage as ndi

from synthscope.errors import InputError
from synthscope.phantoms import load_preset, make_item, nuclei


def _check_labels(labels, count):
    assert labels.dtype == np.uint16
    assert np.array_equal(np.unique(labels), np.arange(count + 1))  # unique and contiguous
    for index, where in enumerate(ndi.find_objects(labels), start=1):
        assert ndi.label(labels[where] == index)[1] == 1  # one piece each


@pytest.mark.parametrize("shape", [(96, 96), (24, 64, 64)])
def test_labels_are_contiguous_and_overlap_is_bounded(shape):
    item = nuclei(shape, count=12, radius=(5, 8), max_overlap=0.15, rng=1)
    _check_labels(item.labels, 12)
    assert item.axes == "ZYX"[-len(shape):]
    visible = np.bincount(item.labels.ravel())[1:]
    full = np.array([o["area"] for o in item.metadata["objects"]])
    assert np.all(visible >= (1 - 0.15) * full - 1)  # earlier nuclei lie on top; none loses more than allowed
    assert np.any(visible < full)  # and touching/overlap does happen at this density


def test_default_preset_matches_the_model_scale():
    item = nuclei((256, 256), **load_preset("nuclei-2d")["nuclei"], rng=3)
    areas = np.bincount(item.labels.ravel())[1:]
    diameters = 2 * np.sqrt(np.array([o["area"] for o in item.metadata["objects"]]) / np.pi)
    assert 17 <= np.median(diameters) <= 25 and np.percentile(diameters, 90) <= 30
    assert 0.25 <= (item.labels > 0).mean() <= 0.45
    assert areas.size > 40
    mitotic = [o for o in item.metadata["objects"] if o["mitotic"]]
    normal = [o for o in item.metadata["objects"] if not o["mitotic"]]
    assert mitotic and min(o["brightness"] for o in mitotic) > max(o["brightness"] for o in normal)
    assert np.mean([o["radius"] for o in mitotic]) < np.mean([o["radius"] for o in normal])


def test_same_seed_same_item_and_different_seeds_differ():
    a, b, c = (make_item(load_preset("nuclei-2d", settings={"shape": [96, 96]}), rng=s) for s in (5, 5, 6))
    assert np.array_equal(a.labels, b.labels) and np.array_equal(a.sketch, b.sketch)
    assert not np.array_equal(a.labels, c.labels) and not np.array_equal(a.sketch, c.sketch)


def test_anisotropic_spacing_flattens_nuclei_in_voxels():
    item = nuclei((40, 64, 64), count=6, radius=8, roughness=0, elongation=1, spacing=(2.0, 0.5, 0.5), rng=0)
    extents = np.array([[s.stop - s.start for s in where] for where in ndi.find_objects(item.labels)])
    assert np.median(extents[:, 0] / extents[:, 2]) == pytest.approx(0.25, abs=0.1)
    assert item.spacing == {"Z": 2.0, "Y": 0.5, "X": 0.5}


def test_min_distance_clusters_and_region_are_kept():
    item = nuclei((128, 128), count=15, radius=5, min_distance=14, region="ellipsoid", clusters=2, cluster_spread=25,
                  rng=2)
    centres = np.array([o["center"] for o in item.metadata["objects"]])
    gaps = np.linalg.norm(centres[:, None] - centres[None], axis=-1) + np.eye(len(centres)) * 1e9
    assert gaps.min() >= 14
    inside = (((centres + 0.5 - 64) / (0.45 * 128)) ** 2).sum(axis=1) <= 1.05
    assert inside.all()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"radius": -3}, r"radius must be in \[1, "),
        ({"max_overlap": 0.9}, r"max_overlap must be in \[0, 0.5\]"),
        ({"count": 3, "density": 0.2}, "count and density"),
        ({"count": 500, "radius": 10}, r"cannot place 500 nuclei: at most about \d+ fit"),
        ({"region": "cube"}, "region must be"),
    ],
)
def test_impossible_parameters_are_named(options, message):
    with pytest.raises(InputError, match=message):
        nuclei((64, 64), **options, rng=0)


def test_cannot_place_reports_how_many_fit():
    message = r"cannot place 20 nuclei: only \d+ fit with max_overlap=0 and min_distance=30"
    with pytest.raises(InputError, match=message):
        nuclei((64, 64), count=20, radius=4, max_overlap=0, min_distance=30, rng=0)
