"""Tissue tessellations, membranes, and cells with nuclei (multi-channel)."""

import numpy as np
import pytest
from scipy import ndimage as ndi

from synthscope.errors import InputError
from synthscope.phantoms import nuclei_membrane, render, tissue


@pytest.mark.parametrize(("shape", "spacing"), [((96, 96), None), ((20, 48, 48), (2.0, 1.0, 1.0))])
def test_cells_tile_the_image_with_one_piece_each(shape, spacing):
    item = tissue(shape, radius=9, spacing=spacing, rng=0)
    labels = item.labels
    count = int(labels.max())
    assert labels.min() == 1 and np.array_equal(np.unique(labels), np.arange(1, count + 1))
    full = np.ones((3,) * len(shape))
    for index, where in enumerate(ndi.find_objects(labels), start=1):
        assert ndi.label(labels[where] == index, full)[1] == 1
    assert len(item.metadata["objects"]) == count
    expected = np.prod(shape) / ((np.pi if len(shape) == 2 else 4 / 3 * np.pi) * 9 ** len(shape))
    if spacing:
        expected *= np.prod(spacing)
    assert 0.6 * expected <= count <= 1.2 * expected


def test_membrane_lies_on_cell_borders_with_its_thickness():
    item = tissue((128, 128), radius=12, thickness=4, rng=1)
    membrane, labels = item.masks["membrane"], item.labels
    other = ndi.maximum_filter(labels, size=5) != ndi.minimum_filter(labels, size=5)
    assert np.all(other[membrane])  # every membrane pixel is within 2 px of another cell
    border = ndi.maximum_filter(labels, size=3) != ndi.minimum_filter(labels, size=3)
    assert membrane[border].mean() > 0.95  # and every cell border is membrane
    thin = tissue((128, 128), radius=12, thickness=2, rng=1).masks["membrane"]
    assert 1.6 < membrane.sum() / thin.sum() < 2.4


def test_region_limits_the_tissue():
    item = tissue((96, 96), radius=8, region="ellipsoid", rng=2)
    corner = np.zeros((96, 96), bool)
    corner[:8, :8] = True
    assert not item.labels[corner].any() and item.labels[48, 48] > 0


def test_nuclei_sit_inside_their_cells_off_the_membrane():
    item = nuclei_membrane((128, 128), radius=14, rng=3)
    nuclei, cells, membrane = item.masks["nuclei"], item.labels, item.masks["membrane"]
    inside = nuclei > 0
    assert np.all(nuclei[inside] == cells[inside]) and not (inside & membrane).any()
    with_nucleus = set(np.unique(nuclei)) - {0}
    assert len(with_nucleus) >= 0.9 * cells.max()
    sketch = render(item, modality="multichannel", channels=["nuclei", "membrane"], rng=0)
    assert sketch.shape == (2, 128, 128) and sketch.dtype == np.float32
    assert sketch[0][inside].mean() > sketch[0][~inside].mean() + 0.2
    assert sketch[1][membrane].mean() > sketch[1][~membrane].mean() + 0.2


def test_same_seed_same_tissue():
    a, b, c = (tissue((64, 64), radius=8, rng=s) for s in (1, 1, 2))
    assert np.array_equal(a.labels, b.labels) and not np.array_equal(a.labels, c.labels)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"radius": 0.5}, r"radius must be in \[2, "),
        ({"relax": -1}, "relax must be in"),
        ({"count": 10**6}, r"count must be in \[1, "),
        ({"thickness": 0}, "thickness must be in"),
    ],
)
def test_bad_tissue_parameters_are_named(options, message):
    with pytest.raises(InputError, match=message):
        tissue((64, 64), **options, rng=0)
