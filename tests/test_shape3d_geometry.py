"""Cells on the model's grid, shape features against analytic solids, and the geometric baselines."""

import numpy as np
import pytest

from synthscope.errors import InputError
from synthscope.shape3d import phantom_cells, shape_features
from synthscope.shape3d.baselines import ellipsoid, revolve
from synthscope.shape3d.cells import complete_at_edge, grid_input, typical_diameter
from synthscope.shape3d.geometry import FILL, cell_frame, from_grid, to_grid


def spheroid(shape, semi, center=None):
    center = (np.asarray(shape) - 1) / 2 if center is None else np.asarray(center)
    grid = np.indices(shape).astype(float)
    return sum(((g - c) / s) ** 2 for g, c, s in zip(grid, center, semi)) <= 1


def iou(a, b):
    return np.sum(a & b) / np.sum(a | b)


def test_a_volume_goes_onto_the_grid_and_back_at_its_size_with_anisotropic_planes():
    truth = spheroid((21, 80, 90), (6, 14, 20), center=(10, 37, 45))  # planes twice the pixel size
    frame = cell_frame(truth[10], size=32)
    grid = to_grid(truth, frame, z_center=10, z_ratio=2.0) > 0.5
    assert abs(np.mean(grid[15:17].any(axis=0)) - np.pi * FILL**2 / 4) < 0.02  # the section fills FILL
    back = from_grid(grid.astype(np.float32), frame, truth.shape, z_center=10, z_ratio=2.0) > 0.5
    assert iou(back, truth) > 0.9


def test_cell_frame_refuses_an_empty_mask():
    with pytest.raises(InputError, match="mask"):
        cell_frame(np.zeros((8, 8), bool), size=16)


def test_features_of_a_spheroid_match_its_formulas():
    semi = (6.0, 10.0, 20.0)
    features = shape_features(spheroid((20, 30, 50), semi), spacing=(2.0, 1.0, 1.0))
    physical = np.array(semi) * (2, 1, 1)  # 12, 10, 20 um
    assert features["volume"] == pytest.approx(4 / 3 * np.pi * np.prod(physical), rel=0.05)
    assert [features[k] for k in ("axis_major", "axis_minor", "axis_least")] == pytest.approx([40, 24, 20], rel=0.06)
    assert features["elongation"] == pytest.approx(np.sqrt(24**2 / 40**2), rel=0.06)
    assert features["solidity"] > 0.9 and features["extent"] == pytest.approx(np.pi / 6, rel=0.06)
    assert features["sphericity"] == pytest.approx(0.940, abs=0.06)  # 12:10:20 (Knud Thomsen), voxels 2:1:1


def test_revolving_recovers_a_spheroid_of_revolution_and_the_ellipsoid_its_moments():
    truth = spheroid((48, 48, 48), (7, 7, 16))  # long axis in the plane, round across it
    section = truth[23] | truth[24]
    assert iou(revolve(section), truth) > 0.85
    assert iou(ellipsoid(section), truth) > 0.85
    flat = spheroid((48, 48, 48), (3, 7, 16))  # the same section, a flatter cell: both guess too tall
    assert iou(revolve(section), flat) < 0.6


def test_phantom_cells_are_reproducible_and_sized_to_the_grid():
    cells = phantom_cells("nuclei", 3, size=16, rng=4)
    again = phantom_cells("nuclei", 2, size=16, rng=4)
    assert np.array_equal(cells.shapes[:2], again.shapes) and np.array_equal(cells.images[:2], again.images)
    assert cells.images.min() >= 0 and cells.images.max() == 1
    assert np.mean(cells.masks.sum(axis=(1, 2))) == pytest.approx(np.pi * (FILL * 16 / 2) ** 2, rel=0.15)
    section = cells.shapes[:, 7] | cells.shapes[:, 8]
    assert np.mean(section == (cells.masks > 0.5)) > 0.95
    with pytest.raises(InputError, match="cell_class"):
        phantom_cells("nuclei", 1, cell_class="sde")


@pytest.mark.parametrize("radius", [4, 6, 12])
def test_a_ball_is_about_as_spherical_at_every_size(radius):
    ball = spheroid((2 * radius + 5,) * 3, (radius,) * 3)
    assert 0.93 < shape_features(ball)["sphericity"] <= 1.01


def test_a_section_cut_by_the_image_edge_goes_onto_the_grid_whole():
    whole = spheroid((60, 60), (12, 18), center=(30, 30))
    cut = whole[:, 22:]  # a third of the cell lies beyond the left edge
    image = np.where(cut, 100.0, 10.0)
    picture, mask, frame = grid_input(image, cut, size=32)
    reference = grid_input(np.where(whole, 100.0, 10.0), whole, size=32)
    assert frame.scale == pytest.approx(reference[2].scale, rel=0.05)  # scaled as the whole cell
    assert frame.center == pytest.approx((30, 30 - 22), abs=0.5)  # centred where the whole cell is
    assert iou(mask > 0.5, reference[1] > 0.5) > 0.9 and picture[16, :4].max() == 0  # no image beyond the edge
    sliver = whole[:, 44:]  # a short arc fixes no ellipse: kept as it is
    completed, pad = complete_at_edge(sliver)
    assert pad == 0 and np.array_equal(completed, sliver)


def test_a_sliver_at_the_edge_is_completed_by_the_circle_of_the_images_typical_size():
    labels = np.zeros((60, 80), np.uint16)
    for label, (cy, cx, radius) in enumerate([(15, 30, 11), (40, 55, 13), (45, 20, 12), (30, -9, 12)], 1):
        labels[spheroid(labels.shape, (radius, radius), center=(cy, cx))] = label
    diameter = typical_diameter(labels)  # label 4 touches the edge: not counted
    assert diameter == pytest.approx(24, abs=0.5)
    sliver = labels == 4  # 3 px of a disc of radius 12: its arc fixes no ellipse
    assert np.array_equal(complete_at_edge(sliver)[0], sliver)
    completed, pad = complete_at_edge(sliver, diameter=diameter)
    truth = spheroid(completed.shape, (12, 12), center=(30 + pad, -9 + pad))
    assert iou(completed, truth) > 0.9 and np.array_equal(completed[pad:-pad, pad:-pad], sliver)
    # 5 px of it: an ellipse is accepted but falls far short; under a fifth of the circle, the circle wins
    short = spheroid(labels.shape, (12, 12), center=(30, -7))
    assert complete_at_edge(short)[0].sum() < 0.4 * truth.sum()
    assert complete_at_edge(short, diameter=diameter)[0].sum() == pytest.approx(truth.sum(), rel=0.1)
    half = spheroid(labels.shape, (12, 12), center=(30, 0))  # half of it: the ellipse, whatever the diameter
    assert np.array_equal(complete_at_edge(half, diameter=30)[0], complete_at_edge(half)[0])
    assert typical_diameter(sliver.astype(np.uint8)) is None
