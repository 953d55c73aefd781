"""Nuclei: layout, overlap, scale, determinism and bad input."""

import numpy as np
import pytest
from scipy import ndimage as ndi

from synthscope.errors import InputError
from synthscope.phantoms import load_preset, nuclei, render, sketch_item
from synthscope.phantoms.placement import _Crowded


def _check_labels(labels, count):
    assert labels.dtype == np.uint16
    assert np.array_equal(np.unique(labels), np.arange(count + 1))  # unique and contiguous
    for index, where in enumerate(ndi.find_objects(labels), start=1):
        assert ndi.label(labels[where] == index)[1] == 1  # one piece each


@pytest.mark.parametrize("shape", [(96, 96), (24, 64, 64)])
def test_labels_are_contiguous_and_overlap_is_bounded(shape):
    item = nuclei(shape, count=12, radius=(5, 8), max_overlap=0.15, rng=1)
    _check_labels(item.labels, 12)
    assert item.axes == "ZYX"[-len(shape) :]
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
    a, b, c = (sketch_item(load_preset("nuclei-2d", settings={"shape": [96, 96]}), rng=s) for s in (5, 5, 6))
    assert np.array_equal(a.labels, b.labels) and np.array_equal(a.sketch, b.sketch)
    assert not np.array_equal(a.labels, c.labels) and not np.array_equal(a.sketch, c.sketch)


def test_anisotropic_spacing_flattens_nuclei_in_voxels():
    item = nuclei((40, 64, 64), count=6, radius=8, roughness=0, elongation=1, spacing=(2.0, 0.5, 0.5), rng=0)
    extents = np.array([[s.stop - s.start for s in where] for where in ndi.find_objects(item.labels)])
    assert np.median(extents[:, 0] / extents[:, 2]) == pytest.approx(0.25, abs=0.1)
    assert item.spacing == {"Z": 2.0, "Y": 0.5, "X": 0.5}


def test_min_distance_clusters_and_region_are_kept():
    item = nuclei(
        (128, 128), count=15, radius=5, min_distance=14, region="ellipsoid", clusters=2, cluster_spread=25, rng=2
    )
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
    # Too many for the space their spacing needs: named before any placement.
    with pytest.raises(InputError, match=r"cannot place 12 nuclei: at most about 7 fit .* and min_distance 20"):
        nuclei((64, 64), count=12, radius=4, max_overlap=0, min_distance=20, rng=0)
    # Enough space for the smallest, not for the drawn sizes: named after placement.
    with pytest.raises(InputError, match=r"cannot place 60 nuclei: only \d+ fit with max_overlap=0 and min_distance=0"):
        nuclei((64, 64), count=60, radius=(3, 12), max_overlap=0, rng=0)


def _equivalent_radii(labels):
    return np.sqrt(np.bincount(labels.ravel())[1:] / np.pi)


def test_lognormal_radii_have_a_long_upper_tail():
    radii = {}
    for law in ("uniform", "lognormal"):
        items = [
            nuclei(
                (192, 192),
                count=40,
                radius=(6, 10),
                radius_distribution=law,
                mitotic_fraction=0,
                max_overlap=0,
                rng=seed,
            )
            for seed in range(8)
        ]
        drawn = np.concatenate([[o["radius"] for o in item.metadata["objects"]] for item in items])
        radii[law] = np.concatenate([_equivalent_radii(item.labels) for item in items])
        if law == "uniform":
            assert drawn.min() >= 6 and drawn.max() <= 10
        else:
            assert drawn.min() >= 3 and drawn.max() <= 20  # truncated to [0.5 low, 2 high]
            assert np.percentile(drawn, 99) > 10 and np.mean(drawn > 10) == pytest.approx(0.05, abs=0.04)
    # in the label images too (placement favours small nuclei a little, so the tail is a bit shorter than drawn)
    assert np.percentile(radii["lognormal"], 99) > max(10, np.percentile(radii["uniform"], 99) + 0.3)


def test_out_of_focus_nuclei_are_smaller_dimmer_blurrier_and_recorded():
    item = nuclei((256, 256), count=60, radius=(8, 12), out_of_focus_fraction=0.3, mitotic_fraction=0, rng=0)
    objects = item.metadata["objects"]
    defocus = np.array([o["defocus"] for o in objects])
    assert np.sum(defocus > 0) == round(0.3 * 60)  # exactly that share, however dense
    assert np.all((defocus == 0) | ((defocus > 0.5) & (defocus < 0.95)))
    out, sharp = defocus > 0, defocus == 0
    radius = np.array([o["radius"] for o in objects])
    brightness = np.array([o["brightness"] for o in objects])
    assert radius[out].mean() < 0.75 * radius[sharp].mean() and radius.min() >= 2
    assert brightness[out].mean() < 0.7 * brightness[sharp].mean()
    _check_labels(item.labels, 60)  # labelled like every nucleus
    sketch = render(item, texture=0, photons=1e6, read_noise=0, rng=0)
    means = ndi.mean(sketch, item.labels, index=np.arange(1, 61))
    assert means[out].mean() < 0.7 * means[sharp].mean()
    with pytest.raises(InputError, match="out_of_focus_fraction applies to 2D"):
        nuclei((16, 32, 32), count=3, radius=5, out_of_focus_fraction=0.1)


def test_out_of_plane_nuclei_are_whole_unlabelled_blurred_light():
    item = nuclei(
        (256, 256),
        count=60,
        radius=(8, 12),
        out_of_focus_fraction=0.3,
        out_of_plane=0.5,
        out_of_plane_brightness=(0.4, 0.6),
        mitotic_fraction=0,
        rng=0,
    )
    beyond, labels = item.masks["out_of_plane"], item.labels
    records = item.metadata["out_of_plane"]
    assert len(records) == int(beyond.max()) == round(0.5 * 60)  # that share of the nuclei, taken from whole ones
    _check_labels(labels, 60 - len(records))
    assert not ((beyond > 0) & (labels > 0)).any()  # packed with the others (max_overlap 0.1 of the smaller)
    sections = sum(o["defocus"] > 0 for o in item.metadata["objects"])
    assert sections == round(0.3 * 60)  # every section stays labelled
    assert all(o["defocus"] > 1 for o in records) and [o["id"] for o in records] == list(range(1, 31))
    brightness = np.array([o["brightness"] for o in records])
    sketch = render(item, texture=0, photons=1e6, read_noise=0, haze=0, background=0.05, rng=0)
    light = ndi.mean(sketch - 0.05, beyond, index=np.arange(1, len(records) + 1))
    assert np.all((light > 0.6 * brightness) & (light < brightness))  # its brightness, spread by the blur
    cores = ndi.binary_erosion(beyond > 0, iterations=3)
    edge = (beyond > 0) & ~ndi.binary_erosion(beyond > 0, iterations=1)
    assert sketch[edge].mean() < sketch[cores].mean() - 0.03  # blurred: no sharp edge
    drawn = nuclei((128, 128), count=20, radius=(6, 9), out_of_plane=(0.0, 0.9), rng=1)
    assert [
        nuclei((128, 128), count=20, radius=(6, 9), out_of_plane=(0.0, 0.9), rng=s).labels.max() for s in range(6)
    ] != [drawn.labels.max()] * 6  # the share is drawn per image
    with pytest.raises(InputError, match="out_of_plane applies to 2D"):
        nuclei((16, 32, 32), count=3, radius=5, out_of_plane=0.1)


def test_dividing_pairs_are_two_bright_labels_side_by_side():
    count, fraction = 50, 0.25
    item = nuclei((256, 256), count=count, radius=(8, 12), dividing_fraction=fraction, max_overlap=0.1, rng=4)
    _check_labels(item.labels, count)  # a pair counts as two nuclei: count is the number of labels
    objects = {o["id"]: o for o in item.metadata["objects"]}
    daughters = [o for o in objects.values() if o["pair"] is not None]
    assert len(daughters) == 2 * round(fraction * count / (1 + fraction))
    visible = np.bincount(item.labels.ravel())[1:]
    for o in objects.values():
        assert visible[o["id"] - 1] >= 0.9 * o["area"] - 1  # pairs obey max_overlap like every nucleus
    for o in daughters:
        other = objects[o["pair"]]
        assert other["pair"] == o["id"] and abs(other["id"] - o["id"]) == 1
        assert o["mitotic"] and o["brightness"] >= 0.9 and 1.3 <= o["elongation"] <= 1.8
        assert o["radius"] == other["radius"] <= 0.55 * 12 + 1e-3
        gap = ndi.distance_transform_edt(item.labels != o["id"])[item.labels == other["id"]].min()
        assert gap <= 3
    sketch = render(item, blur=0, texture=0, photons=1e6, read_noise=0, rng=0)
    means = ndi.mean(sketch, item.labels, index=np.arange(1, count + 1))
    paired = np.array([objects[i]["pair"] is not None for i in range(1, count + 1)])
    interphase = np.array([not objects[i]["mitotic"] for i in range(1, count + 1)])
    assert means[paired].min() > 0.88 > 0.82 > means[interphase].max()  # at their brightness: 0.9-1.0 vs 0.35-0.8


def test_dividing_pairs_are_parallel_and_across_the_line_joining_them():
    from skimage.measure import regionprops

    item = nuclei(
        (200, 200),
        count=6,
        radius=20,
        roughness=0,
        dividing_fraction=0.5,
        mitotic_fraction=0,
        max_overlap=0,
        region="ellipsoid",
        rng=2,
    )  # whole shapes: none cut by the image's edge
    regions = {r.label: r for r in regionprops(item.labels)}
    pairs = [o for o in item.metadata["objects"] if o["pair"] and o["pair"] > o["id"]]
    assert len(pairs) == 2 and all(regions[o["id"]].area == o["area"] for o in item.metadata["objects"])
    for o in pairs:
        a, b = regions[o["id"]], regions[o["pair"]]
        long_a, long_b = ([np.cos(r.orientation), np.sin(r.orientation)] for r in (a, b))
        joining = np.subtract(b.centroid, a.centroid) / np.linalg.norm(np.subtract(b.centroid, a.centroid))
        assert abs(np.dot(long_a, long_b)) > np.cos(np.radians(15))  # parallel
        assert abs(np.dot(long_a, joining)) < np.sin(np.radians(15))  # across the line joining them


def test_new_options_work_in_3d_and_keep_density_as_coverage():
    item = nuclei(
        (24, 96, 96),
        count=16,
        radius=(5, 8),
        radius_distribution="lognormal",
        dividing_fraction=0.3,
        spacing=(2, 1, 1),
        rng=0,
    )
    _check_labels(item.labels, 16)
    assert sum(o["pair"] is not None for o in item.metadata["objects"]) == 2 * round(0.3 * 16 / 1.3)
    covered = [
        np.mean(nuclei((192, 192), density=0.3, **options, rng=1).labels > 0)
        for options in (
            {},
            {"out_of_focus_fraction": 0.3, "dividing_fraction": 0.2, "radius_distribution": "lognormal"},
        )
    ]
    assert covered[1] == pytest.approx(covered[0], abs=0.05)  # smaller sections and daughters: more of them


def test_a_density_is_a_target_but_a_count_is_a_promise():
    crowded = dict(radius=(8, 9), max_overlap=0, min_distance=17, rng=0)
    item = nuclei((96, 96), density=0.6, **crowded)  # implies 24 nuclei; 23 fit with this seed
    assert int(item.labels.max()) == len(item.metadata["objects"]) == 23
    with pytest.raises(InputError, match="cannot place 24 nuclei: only 23 fit"):
        nuclei((96, 96), count=24, **crowded)


@pytest.mark.parametrize(("shape", "scale"), [((64, 64), (1.0, 1.0)), ((12, 40, 40), (2.5, 1.0, 1.0))])
def test_the_crowded_pixels_refuse_only_centres_the_distance_refuses(shape, scale):
    rng = np.random.default_rng(0)
    crowded, scale = _Crowded(shape, 9.0, np.asarray(scale)), np.asarray(scale)
    centres = rng.uniform(0, shape, size=(6, len(shape)))
    for centre in centres:
        crowded.add(centre)
    near = np.argwhere(crowded.near)
    assert len(near) > 0.05 * np.prod(shape)  # the raster does refuse most of what the distance refuses
    # every corner of a marked pixel is closer than min_distance to some centre, so every point in it is
    for offset in np.indices((2,) * len(shape)).reshape(len(shape), -1).T:
        corners = near + offset
        distances = np.linalg.norm((corners[:, None] - centres[None]) * scale, axis=2).min(axis=1)
        assert np.all(distances < 9.0)
    # and the exact distance it falls back on is numpy's
    probe = rng.uniform(0, shape, size=len(shape))
    assert crowded.distance(centres, probe) == np.min(np.linalg.norm((centres - probe) * scale, axis=1))
