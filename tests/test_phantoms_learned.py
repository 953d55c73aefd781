"""The learned generator: mask crops, the mask model, decoding, composition without collisions, presets."""

import numpy as np
import pytest
import torch
from scipy import ndimage as ndi
from skimage.draw import disk, ellipse

from synthscope.diffusion import build_denoiser, save_denoiser, train_denoiser
from synthscope.errors import InputError
from synthscope.item import Item
from synthscope.phantoms import load_preset, render, sketch_item
from synthscope.phantoms.compose import GAP, compose
from synthscope.phantoms.learned import LearnedRecipe, as_learned, learned
from synthscope.phantoms.mask_crops import decode, is_simple, mask_crops
from synthscope.phantoms.mask_model import load_mask_model, model_specimens, sample_masks, train_mask_model
from synthscope.phantoms.measure import measure


def _disc(radius):
    r = int(np.ceil(radius))
    return np.hypot(*np.mgrid[-r : r + 1, -r : r + 1]) <= radius


def _least_distance(labels):
    """The least Euclidean distance between pixels of two different objects of `labels`."""
    least = np.inf
    for index in range(1, labels.max() + 1):
        others = (labels > 0) & (labels != index)
        least = min(least, ndi.distance_transform_edt(~others)[labels == index].min())
    return least


def test_mask_crops_keep_whole_simple_objects_centred_at_one_radius():
    labels = np.zeros((80, 80), np.uint16)
    labels[ellipse(20, 20, 6, 10, rotation=0.4)] = 1  # kept
    labels[ellipse(78, 40, 5, 8, shape=labels.shape)] = 2  # cut by the border
    ring = np.zeros((80, 80), bool)
    ring[disk((50, 55), 8)] = True
    ring[disk((50, 55), 3)] = False
    labels[ring] = 3  # a hole
    labels[disk((20, 60), 2)] = 4  # too small
    crops = mask_crops([labels], size=32, radius=10)
    assert crops.shape == (1, 32, 32)
    centre = ndi.center_of_mass(crops[0])
    assert np.allclose(centre, 15.5, atol=0.5)
    assert abs(np.sqrt(crops[0].sum() / np.pi) - 10) < 0.3
    with pytest.raises(InputError, match="2D integer label images"):
        mask_crops([labels.astype(float)])


@pytest.mark.parametrize("radius", [3.0, 7.5, 14.0])
def test_decode_draws_the_asked_size_and_a_3d_ellipsoid_section_stack(radius):
    shape = np.zeros((32, 32), np.float32)
    shape[ellipse(15.5, 15.5, 8, 12, rotation=0.3)] = 1
    box = decode(shape, radius, scale=(1, 1), angle=1.0)
    assert is_simple(box) and all(s % 2 for s in box.shape)
    assert abs(np.sqrt(box.sum() / np.pi) - radius) < 0.15 * radius + 0.3
    volume = decode(shape, radius, scale=(2, 1, 1), height=0.8)
    planes = np.flatnonzero(volume.any(axis=(1, 2)))
    assert len(planes) == pytest.approx(2 * 0.8 * radius / 2, abs=1.5)  # half-height 0.8 r over z pixels of 2
    middle = volume[volume.shape[0] // 2]
    assert middle.sum() == pytest.approx(decode(shape, radius, scale=(1, 1)).sum(), rel=0.05)
    assert volume[planes[0]].sum() < middle.sum()


def test_compose_never_overlaps_and_obeys_touching():
    rng = np.random.default_rng(0)
    masks = [_disc(r) for r in rng.uniform(4, 8, 40)]
    shares = {}
    for touching in (0.0, 1.0):
        labels, records = compose((128, 128), masks, touching=touching, rng=1)
        assert labels.dtype == np.uint16 and labels.max() == len(records) > 20
        for record in records:  # every object whole where the image shows it: nothing lies on top
            own = labels == record["id"]
            cut = any(c < 9 or c > 118 for c in record["center"])
            assert ndi.label(own)[1] == 1 and (cut or own.sum() == record["area"])
        stats = measure([np.zeros((128, 128))], [labels])
        shares[touching] = np.mean(stats["touching"])
        assert np.mean([r["touching"] for r in records]) == pytest.approx(touching, abs=0.15)
    assert shares[0.0] == 0  # placed apart: at least GAP pixels of background from every other object
    assert GAP >= 2 and shares[1.0] > 0.8


@pytest.mark.parametrize("gap", [1, 3])
def test_compose_keeps_the_gap_between_objects_placed_apart(gap):
    masks = [_disc(r) for r in np.random.default_rng(0).uniform(3, 6, 60)]
    labels, records = compose((128, 128), masks, gap=gap, clustering=1.0, cluster_distance=2, rng=0)
    assert len(records) > 30 and not any(r["touching"] for r in records)
    least = _least_distance(labels)
    assert least >= gap + 1  # never closer, diagonals included
    assert least < gap + 2  # and clustering packs them that close: the gap is not larger than asked
    with pytest.raises(InputError, match=r"gap must be in \[1, inf\]"):
        compose((64, 64), masks, gap=0)


def test_compose_clustering_pulls_objects_together_and_respects_the_region():
    masks = [_disc(4)] * 30
    spread = {}
    for clustering in (0.0, 1.0):
        labels, records = compose((192, 192), masks, clustering=clustering, cluster_distance=4, rng=2)
        centres = np.array([r["center"] for r in records], float)
        distances = np.linalg.norm(centres[:, None] - centres[None], axis=-1)
        np.fill_diagonal(distances, np.inf)
        spread[clustering] = np.median(distances.min(axis=1))
    assert spread[1.0] < 0.8 * spread[0.0]
    labels, _ = compose((64, 64), masks[:10], region="ellipsoid", rng=0)
    from synthscope.phantoms.placement import region_mask

    assert labels.max() > 0 and not labels[~region_mask("ellipsoid", (64, 64))].any()


def test_compose_3d_with_anisotropic_pixels():
    ball = decode(np.pad(_disc(10).astype(np.float32), 5), 5.0, scale=(2, 1, 1), height=1.0)
    labels, records = compose((16, 48, 48), [ball] * 6, touching=0.5, scale=(2, 1, 1), rng=0)
    assert labels.shape == (16, 48, 48) and labels.max() == len(records) == 6
    with pytest.raises(InputError, match="odd sides"):
        compose((16, 48, 48), [np.ones((2, 3, 3), bool)])


def test_a_tiny_mask_model_trains_and_an_untrained_one_is_refused(tmp_path):
    labels = np.zeros((6, 64, 64), np.uint16)
    rng = np.random.default_rng(0)
    for image in labels:
        for i, (y, x) in enumerate([(16, 16), (16, 46), (46, 16), (46, 46)], start=1):
            image[ellipse(y, x, rng.uniform(5, 7), rng.uniform(7, 10), rotation=rng.uniform(0, np.pi))] = i
    crops = mask_crops(list(labels), size=16, radius=5)
    assert len(crops) == 24
    model = build_denoiser(channels=(8, 8, 8), attention_levels=(False, False, False), patch_size=(16, 16))
    stats = train_denoiser(model, [crops], steps=60, batch_size=8, rng=0)
    assert stats["final_loss"] < stats["first_loss"]
    save_denoiser(model, tmp_path / "plain")  # no mask_radius: not a mask model
    with pytest.raises(InputError, match="not a mask model"):
        load_mask_model(tmp_path / "plain")
    blank = build_denoiser(channels=(8, 8, 8), patch_size=(16, 16))
    last = [m for m in blank.modules() if isinstance(m, torch.nn.Conv2d)][-1]
    torch.nn.init.zeros_(last.weight)
    torch.nn.init.constant_(last.bias, 10.0)  # predicts noise so large that every sample comes out empty
    save_denoiser(blank, tmp_path / "blank", extra={"mask_radius": 5})
    with pytest.raises(InputError, match="only 0 of 32 sampled masks were one piece"):
        sample_masks(load_mask_model(tmp_path / "blank"), 4, steps=2, batch=4, rng=0)
    with pytest.raises(InputError, match="not conditioned on specimens"):
        sample_masks(load_mask_model(tmp_path / "blank"), 4, specimen="hela")


def test_a_tiny_specimen_conditioned_model_draws_each_class_its_own_way(tmp_path):
    yy, xx = np.mgrid[:16, :16] - 7.5
    rng = np.random.default_rng(0)
    crops = {  # two classes told apart by size alone, learned fastest
        name: np.stack([np.hypot(yy / rng.uniform(0.8, 1.2), xx) <= radius for _ in range(8)]).astype(np.float32)
        for name, radius in (("small", 3.5), ("large", 6.5))
    }
    model, stats = train_mask_model(crops, steps=150, channels=(8, 8, 8), batch_size=16, lr=2e-3, radius=5, rng=0)
    assert stats["final_loss"] < stats["first_loss"] and model.extra["specimens"] == ["small", "large"]
    areas = {
        name: (sample_masks(model, 12, specimen=name, steps=10, rng=1) > 0.5).sum(axis=(1, 2)).mean()
        for name in ("small", "large", "any")
    }
    assert areas["large"] > 1.1 * areas["small"]  # the same noise, another class: other shapes
    with pytest.raises(InputError, match=r"specimen must be one of \['small', 'large', 'any'\], got 'hela'"):
        sample_masks(model, 2, specimen="hela")
    save_denoiser(model, tmp_path / "conditioned", extra={"mask_radius": 5, "specimens": ["small"]})
    with pytest.raises(InputError, match="2 condition channels but 1 specimen classes"):
        load_mask_model(tmp_path / "conditioned")
    assert model_specimens(tmp_path / "conditioned") == ["small"]
    with pytest.raises(InputError, match="crops: expected named"):
        train_mask_model({"any": crops["small"]}, steps=1)


def test_learned_items_from_the_bundled_model():
    item = learned((128, 128), count=12, radius=(6, 9), touching=0.3, rng=0)
    again = learned((128, 128), count=12, radius=(6, 9), touching=0.3, rng=0)
    assert np.array_equal(item.labels, again.labels)  # one seed, one item
    assert item.labels.dtype == np.uint16 and item.labels.max() == 12
    records = item.metadata["objects"]
    assert [r["id"] for r in records] == list(range(1, 13))
    assert all(is_simple(item.labels == r["id"]) for r in records)
    radii = [r["radius"] for r in records]
    assert radii == sorted(radii, reverse=True)  # the largest placed first
    assert item.metadata["mask_model"]["sha256"]
    volume = learned((16, 64, 64), count=5, radius=6, height=0.6, spacing=(1.0, 0.5, 0.5), rng=0)
    assert volume.axes == "ZYX" and volume.labels.max() == 5 and "height" in volume.metadata["objects"][0]
    shared = learned((128, 128), count=30, radius=4, distinct=3, rng=0)  # three shapes, rotated and mirrored
    assert shared.labels.max() == 30


def test_learned_out_of_plane_objects_are_unlabelled_dimmer_and_rendered_as_light():
    options = dict(count=20, radius=(6, 9), brightness=0.4, mitotic_fraction=0, rng=0)
    item = learned((128, 128), out_of_plane=0.5, out_of_plane_brightness=0.5, **options)
    beyond = item.masks["out_of_plane"]
    assert item.labels.max() == 10 and beyond.max() == 10  # half of the 20 objects, each in one of the two
    assert not ((item.labels > 0) & (beyond > 0)).any()
    assert all(r["defocus"] == 0 and r["brightness"] == 0.4 for r in item.metadata["objects"])
    assert all(1.2 <= r["defocus"] <= 2.5 and r["brightness"] == 0.2 for r in item.metadata["out_of_plane"])
    assert "out_of_plane" not in learned((128, 128), **options).masks
    dark = Item(labels=item.labels, axes="YX", metadata={"objects": item.metadata["objects"]})
    picture = {
        name: render(it, background=0.1, photons=1e6, read_noise=0, rng=0)
        for name, it in (("with", item), ("dark", dark))
    }
    excess = picture["with"] - picture["dark"]
    assert 0.05 < excess[beyond > 0].mean() < 0.2  # their light on the background, blurred below its 0.2
    with pytest.raises(InputError, match="out_of_plane applies to 2D images"):
        learned((16, 64, 64), count=3, radius=5, out_of_plane=0.3)


def test_recipe_checks_and_presets():
    assert LearnedRecipe().resolve((128, 128))["count"] == LearnedRecipe(density=0.35).resolve((128, 128))["count"]
    assert (
        LearnedRecipe(density=0.3, height=0.5).resolve((32, 64, 64))["count"]
        > LearnedRecipe(density=0.3, height=1.0).resolve((32, 64, 64))["count"]
    )
    cases = [
        (lambda: LearnedRecipe(count=5, density=0.2), "count and density are alternatives"),
        (lambda: LearnedRecipe(touching=2), r"touching must be in \[0, 1\]"),
        (lambda: LearnedRecipe(count=500, radius=10).resolve((64, 64)), "cannot place 500 nuclei"),
        (lambda: LearnedRecipe.from_mapping({"roughness": 0.1}, section_name="learned"), "learned.roughness is not"),
        (lambda: learned((64, 64), count=3, model="no-such-model"), "no-such-model"),
        (lambda: LearnedRecipe(gap=0), r"gap must be in \[1, inf\]"),
        (
            lambda: LearnedRecipe.from_mapping({"specimen": "yeast"}, section_name="learned"),
            r"^learned.specimen must be one of \['cells3d', 'hela', 'cho', 'any'\] .*, got 'yeast'$",
        ),
    ]
    for call, message in cases:
        with pytest.raises(InputError, match=message):
            call()
    item = sketch_item(load_preset("nuclei-2d-learned", settings={"shape": [96, 96]}), rng=0)
    assert item.metadata["generator"] == "learned" and item.sketch.dtype == np.float32
    assert item.labels.max() + item.masks["out_of_plane"].max() > 5  # with unlabelled out-of-plane nuclei
    assert item.metadata["mask_model"]["specimen"] == "cells3d"
    with pytest.raises(InputError, match="learned.specimen must be one of"):
        load_preset("nuclei-2d-learned", settings={"learned.specimen": "yeast"})
    item = sketch_item(load_preset("nuclei-3d-learned", settings={"shape": [12, 48, 48]}), rng=0)
    assert item.labels.ndim == 3 and item.labels.max() > 0
    rule_based = load_preset("nuclei-2d")
    carried = as_learned(rule_based)["learned"]  # the unlabelled out-of-plane nuclei come along
    density = rule_based["nuclei"]["density"]
    assert carried["out_of_plane"] == rule_based["nuclei"]["out_of_plane"] and carried["density"] == density
    assert as_learned(rule_based, out_of_plane=0)["learned"]["density"] < density  # without them: the labelled one
    converted = as_learned(load_preset("nuclei-2d-broad"))
    assert all(not key.startswith("nuclei.") for key in converted.get("vary", {}))
    with pytest.raises(InputError, match="nuclei generator"):
        as_learned(load_preset("tissue-2d"))
