"""Cilia cross-sections: the 9+2 geometry and exactly one defect per diagnostic class."""

import numpy as np
import pytest
from scipy import ndimage as ndi

from synthscope.errors import InputError
from synthscope.phantoms import cilia, render
from synthscope.phantoms.cilia import RING
from synthscope.phantoms.cilia_rules import rule_names

PLAIN = {"scale": 1.0, "ellipticity": 1.0, "neighbours": 0}


def _tubules(item):
    """Per tubule: (class, distance of its centroid from the cilium centre, angle, offset)."""
    ids = np.arange(1, item.labels.max() + 1)
    kinds = ndi.maximum(item.classes, item.labels, ids)
    assert np.array_equal(kinds, ndi.minimum(item.classes, item.labels, ids))  # one class per tubule
    offset = np.array(ndi.center_of_mass(item.labels > 0, item.labels, ids)) - item.metadata["cilia"][0]["center"]
    return np.asarray(kinds), np.hypot(*offset.T), np.arctan2(*offset.T), offset


def _counts(item):
    kinds = _tubules(item)[0]
    return [int(np.sum(kinds == k)) for k in (1, 2, 3)]


def test_normal_cilium_has_nine_doublets_and_a_central_pair():
    item = cilia(rng=0, **PLAIN)
    assert _counts(item) == [9, 9, 2] and item.labels.max() == 20
    assert np.array_equal(np.unique(item.labels), np.arange(21))
    assert item.class_names == {1: "A", 2: "B", 3: "central"}
    kinds, distance, _, _ = _tubules(item)
    assert np.all(np.abs(distance[kinds != 3] - RING) < 15) and np.all(distance[kinds == 3] < 25)
    a_and_b = ndi.binary_dilation(item.classes == 1) & (item.classes == 2)
    assert ndi.label(a_and_b, np.ones((3, 3)))[1] == 9  # every B tubule touches its A tubule
    tubules = item.labels > 0
    for name in ("outer_arms", "inner_arms", "spokes"):
        assert item.masks[name].any() and not (item.masks[name] & tubules).any()
    assert np.all(item.masks["axoneme"][tubules]) and np.all(item.masks["membrane"][item.masks["axoneme"]])
    assert item.metadata["diagnostic_class"] == "normal"


def _ring(item):
    kinds, distance, angle, offset = _tubules(item)
    return kinds, distance, angle, offset, (kinds == 1) & (distance > 15)  # the centre holds only a transposed doublet


EXPECTED = {  # rule: (A tubules, B tubules, central tubules)
    "normal": ([9], [9], [2]),
    "no-central-pair": ([9], [9], [0]),
    "single-central-tubule": ([9], [9], [1]),
    "central-pair-periphery": ([9], [9], [2]),
    "extra-central-tubules": ([9], [9], [3, 4]),
    "transposition-gap": ([9], [9], [0]),
    "transposition-no-gap": ([9], [9], [0]),
    "peripheral-singlets": ([9], [6, 7, 8], [2]),
    "disarranged-doublets": ([9], [9], [2]),
    "oda-absent": ([9], [9], [2]),
    "ida-absent": ([9], [9], [2]),
    "oda-ida-absent": ([9], [9], [2]),
}


@pytest.mark.parametrize("rule", rule_names())
def test_each_class_has_exactly_its_defect(rule):
    item = cilia(rule=rule, rng=7, **PLAIN)
    a, b, central = _counts(item)
    assert a in EXPECTED[rule][0] and b in EXPECTED[rule][1] and central in EXPECTED[rule][2]
    kinds, distance, angle, offset, ring = _ring(item)
    assert ring.sum() == (8 if rule.startswith("transposition") else 9)
    if rule.startswith("transposition"):  # the ninth doublet sits in the centre
        assert np.sum((distance < 15) & (kinds == 1)) == 1 and np.sum((distance < 25) & (kinds == 2)) == 1
        steps = np.diff(np.sort(angle[ring]), append=np.sort(angle[ring])[0] + 2 * np.pi)
        assert (steps.max() > np.radians(70)) == (rule == "transposition-gap")
    if central:
        central_shift = np.hypot(*offset[kinds == 3].mean(axis=0))
        assert (central_shift > 0.25 * RING) == (rule == "central-pair-periphery")
    steps = np.diff(np.sort(angle[ring]), append=np.sort(angle[ring])[0] + 2 * np.pi)
    irregular = np.std(distance[ring]) > 3 or np.std(steps) > 0.12
    assert irregular == (rule == "disarranged-doublets") or rule == "transposition-gap"
    assert item.masks["outer_arms"].any() == (rule not in ("oda-absent", "oda-ida-absent"))
    assert item.masks["inner_arms"].any() == (rule not in ("ida-absent", "oda-ida-absent"))
    assert item.masks["spokes"].any()
    assert item.metadata["diagnostic_class"] == rule


def test_global_variation_and_neighbours_do_not_overlap():
    item = cilia(neighbours=(2, 2), ellipticity=(1.3, 1.3), rng=3)
    records = item.metadata["cilia"]
    assert len(records) >= 2
    assert ndi.label(item.masks["membrane"])[1] == len(records)  # separate, non-overlapping cilia
    assert records[0]["ellipticity"] == pytest.approx(1.3, abs=0.01)
    first, last = records[0]["tubules"]
    assert last - first + 1 == 20 and item.labels.max() == records[-1]["tubules"][1]


def test_uncropped_cilium_stays_inside_and_crop_cuts():
    border = np.ones((512, 512), bool)
    border[1:-1, 1:-1] = False
    assert not cilia(crop=0.0, rng=1, **PLAIN).masks["membrane"][border].any()
    cut = [cilia(crop=0.5, rng=s, **PLAIN).masks["membrane"][border].any() for s in range(6)]
    assert any(cut)


def test_same_seed_same_cilium():
    a, b, c = cilia(rng=4), cilia(rng=4), cilia(rng=5)
    assert np.array_equal(a.labels, b.labels) and not np.array_equal(a.labels, c.labels)


def test_tem_sketch_is_dark_structure_on_light_cytoplasm():
    item = cilia(rng=0, **PLAIN)
    sketch = render(item, modality="tem", rng=0)
    assert sketch.dtype == np.float32 and 0 <= sketch.min() and sketch.max() <= 1
    outside = np.median(sketch[~item.masks["membrane"]])
    walls = np.median(sketch[item.labels > 0])
    assert walls < np.median(sketch[item.masks["membrane"]]) < outside


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"rule": "broken"}, "rule must be one of normal, "),
        ({"axoneme": {"arms": 0}}, "axoneme.arms is not a key"),
        ({"axoneme": {"singlets": 10}}, r"axoneme.singlets must be in \[0, 9\]"),
        ({"scale": 3.0}, "scale: a cilium up to"),
        ({"shape": (64, 64, 64)}, "shape must have 2 axes"),
    ],
)
def test_bad_cilia_parameters_are_named(options, message):
    with pytest.raises(InputError, match=message):
        cilia(**{"shape": (512, 512), **options}, rng=0)
