"""2D sections lifted to 3D shapes by the bundled shape model."""

import numpy as np
import pytest

from synthscope.errors import InputError
from synthscope.phantoms.lift import lift_masks


def _ellipse(a, b):
    yy, xx = np.mgrid[-a - 2 : a + 3, -b - 2 : b + 3]
    return (yy / a) ** 2 + (xx / b) ** 2 <= 1


def test_each_section_becomes_the_middle_plane_of_a_nucleus_like_shape():
    sections = [_ellipse(8, 8), _ellipse(6, 11)]
    boxes = lift_masks(sections, z_ratio=0.58 / 0.52, steps=10, rng=0)
    for section, box in zip(sections, boxes):
        assert box.shape[1:] == section.shape and box.shape[0] % 2 == 1
        middle = box[box.shape[0] // 2]
        assert (middle & section).sum() / (middle | section).sum() > 0.75
        # A nucleus: thinner along z than across, but not a disc; no plane larger than the middle one.
        height = box.any(axis=(1, 2)).sum() * 0.58
        width = 2 * np.sqrt(section.sum() / np.pi) * 0.52
        assert 0.3 * width < height < 1.3 * width
        assert box.sum(axis=(1, 2)).max() <= 1.1 * middle.sum()


def test_a_seed_repeats_the_shapes_and_another_changes_them():
    sections = [_ellipse(7, 9)]
    first, again, other = (lift_masks(sections, z_ratio=1.0, steps=5, rng=seed)[0] for seed in (1, 1, 2))
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


@pytest.mark.parametrize("bad", [np.zeros((9, 9), bool), np.ones((3, 9, 9), bool)])
def test_empty_or_3d_sections_are_refused(bad):
    with pytest.raises(InputError, match="non-empty 2D masks"):
        lift_masks([bad], z_ratio=1.0)


def test_learned_3d_nuclei_lifted_by_the_shape_model_are_not_ellipsoids():
    from synthscope.phantoms.learned import learned

    options = {"count": 3, "radius": (6, 8), "specimen": "any", "rng": 0}
    lifted = learned((21, 64, 64), lift="shape3d", spacing=(1.2, 1, 1), **options)
    ellipsoid = learned((21, 64, 64), spacing=(1.2, 1, 1), **options)
    assert lifted.labels.max() == ellipsoid.labels.max() == 3
    for record in lifted.metadata["objects"]:
        assert 0.2 < record["height"] < 3  # the measured half-height over the radius
    assert not np.array_equal(lifted.labels > 0, ellipsoid.labels > 0)
