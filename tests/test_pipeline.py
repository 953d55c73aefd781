"""The generate job end to end, with a tiny denoiser trained here on rendered sketches."""

import dataclasses
import json
import subprocess
import sys
import types

import numpy as np
import pytest
import tifffile
from scipy import ndimage as ndi
from skimage.draw import disk

import synthscope
import synthscope.diffusion
from synthscope.annotate import find_mismatches
from synthscope.diffusion import PatchSampler, build_denoiser, save_denoiser, train_denoiser
from synthscope.errors import InputError
from synthscope.io import read_dataset
from synthscope.models import bundled_models
from synthscope.phantoms import load_preset, preset_names, sketch_item
from synthscope.pipeline import generate
from synthscope.refine import RefineSpec, condition, refine_item
from synthscope.seeds import item_seed

SMALL_2D = {"shape": [64, 64]}


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    small = {"nuclei-2d": SMALL_2D, "cilia": {"shape": [128, 128], "cilia.scale": 0.2, "cilia.neighbours": 0}}
    sketches = [sketch_item(load_preset(name, settings=settings), rng=0).sketch for name, settings in small.items()]
    model = build_denoiser(channels=(8, 8, 8), attention_levels=(False, False, False), patch_size=(32, 32))
    stats = train_denoiser(model, PatchSampler(sketches, patch_size=(32, 32)), steps=30, batch_size=4, rng=0)
    assert stats["final_loss"] < stats["first_loss"]
    folder = tmp_path_factory.mktemp("model")
    save_denoiser(model, folder)
    return folder


def _ids(labels):
    return set(np.unique(labels)) - {0}


def test_sketch_only_data_set(tmp_path):
    root = generate("nuclei-2d", count=2, out=tmp_path / "set", settings={**SMALL_2D, "refine.model": None})
    info = json.loads((root / "dataset.json").read_text())
    assert info["refined"] is False and info["model"] is None
    image = tifffile.imread(root / "images" / "00000.tif")
    labels = tifffile.imread(root / "labels" / "00000.tif")
    assert image.shape == labels.shape == (64, 64) and labels.dtype == np.uint16
    assert len(_ids(labels)) > 3
    assert (root / "previews" / "00000.png").is_file()


def test_refined_2d_items_keep_their_label_ids(tmp_path, tiny_model):
    settings = {**SMALL_2D, "refine.model": str(tiny_model), "refine.condition": None, "refine.steps": 3}
    root = generate("nuclei-2d", count=2, out=tmp_path / "set", rng=3, settings=settings)
    plain = generate("nuclei-2d", count=2, out=tmp_path / "plain", rng=3, settings={**SMALL_2D, "refine.model": None})
    for name in ("00000", "00001"):
        refined = tifffile.imread(root / "images" / f"{name}.tif")
        sketch = tifffile.imread(root / "sketches" / f"{name}.tif")
        assert refined.dtype == np.float32 and 0 <= refined.min() and refined.max() <= 1
        assert np.abs(refined - sketch).mean() > 1e-3
        labels = tifffile.imread(root / "labels" / f"{name}.tif")
        record = json.loads((root / "items" / f"{name}.json").read_text())
        report = record["metadata"]["refinement"]
        assert set(report) >= {"iou", "refused", "added", "lost", "attempts", "unlabeled_objects", "empty_labels"}
        assert report["mismatch"] == "retry" and 1 <= report["attempts"] <= 3
        # Ids are never renumbered: only the mismatch policy adds or drops objects, and it says which.
        drawn = _ids(tifffile.imread(plain / "labels" / f"{name}.tif"))
        assert _ids(labels) == (drawn - set(report["lost"])) | set(report["added"])
        assert set(report["iou"]) == {str(i) for i in _ids(labels) - set(report["added"])}
        # The written item agrees with its labels.
        blobs, empty = find_mismatches(refined, labels, reference=sketch)
        assert blobs.max() == 0 and empty == []
    info = json.loads((root / "dataset.json").read_text())
    assert info["refined"] is True and len(info["model"]["sha256"]) == 64


def test_refined_3d_volume_with_a_2d_model(tmp_path, tiny_model):
    settings = {"shape": [8, 32, 32], "refine.model": str(tiny_model), "refine.steps": 2, "refine.slice_rho": 1.0}
    root = generate("nuclei-3d", count=1, out=tmp_path / "set", settings=settings)
    image = tifffile.imread(root / "images" / "00000.tif")
    labels = tifffile.imread(root / "labels" / "00000.tif")
    assert image.shape == labels.shape == (8, 32, 32)


def test_cilia_region_held_stages(tmp_path, tiny_model):
    stages = [{"t": 650, "hold": "axoneme"}, {"t": 350, "hold": "axoneme_minus_tubules"}, {"t": 250, "hold": None}]
    settings = {
        "shape": [128, 128],
        "cilia.scale": 0.2,
        "cilia.neighbours": 0,
        "refine.model": str(tiny_model),
        "refine.steps": 2,
        "refine.stages": stages,
        "refine.mismatch": "retry",  # the preset keeps mismatches; retries refine windows through every stage
    }
    root = generate("cilia", count=1, out=tmp_path / "set", settings=settings)
    record = json.loads((root / "items" / "00000.json").read_text())
    assert [s["t_start"] for s in record["metadata"]["refinement"]["stages"]] == [650, 350, 250]
    assert record["metadata"]["diagnostic_class"] == "normal"
    # Dark (TEM) objects: the written item agrees with its labels, whatever the barely trained model painted.
    image, sketch, labels = (tifffile.imread(root / f / "00000.tif") for f in ("images", "sketches", "labels"))
    blobs, empty = find_mismatches(image, labels, reference=sketch, polarity="dark")
    assert blobs.max() == 0 and empty == []


CILIA = {
    "shape": [128, 128],
    "cilia.scale": 0.2,
    "cilia.neighbours": 0,
    "refine.steps": 2,
    "refine.stages": [{"t": 650, "hold": "axoneme"}, {"t": 250, "hold": None}],
}


# nuclei-2d: clean at the first seed; cilia: the barely trained model paints, so retries and relabelling run.
@pytest.mark.parametrize(
    ("preset", "small"), [("nuclei-2d", {**SMALL_2D, "refine.condition": None, "refine.steps": 2}), ("cilia", CILIA)]
)
def test_interrupted_job_resumes_to_the_same_bytes(tmp_path, tiny_model, preset, small):
    settings = {**small, "refine.model": str(tiny_model)}

    def stop_after_two(done, total):
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        generate(preset, count=4, out=tmp_path / "resumed", settings=settings, callback=stop_after_two)
    generate(preset, count=4, out=tmp_path / "resumed", settings=settings)
    generate(preset, count=4, out=tmp_path / "whole", settings=settings)
    resumed = sorted(p.relative_to(tmp_path / "resumed") for p in (tmp_path / "resumed").rglob("*") if p.is_file())
    whole = sorted(p.relative_to(tmp_path / "whole") for p in (tmp_path / "whole").rglob("*") if p.is_file())
    assert resumed == whole and len(whole) > 10
    for path in whole:
        assert (tmp_path / "resumed" / path).read_bytes() == (tmp_path / "whole" / path).read_bytes(), path


def test_a_folder_holding_another_job_is_refused(tmp_path):
    generate("nuclei-2d", count=1, out=tmp_path / "set", settings={**SMALL_2D, "refine.model": None})
    with pytest.raises(InputError, match="set"):
        generate("nuclei-2d", count=1, out=tmp_path / "set", rng=5, settings={**SMALL_2D, "refine.model": None})


def test_cli_bad_input_is_one_line_and_exit_code_2(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "synthscope.cli", "generate", "no-such-preset", "-o", str(tmp_path / "x")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "no-such-preset" in result.stderr
    assert not (tmp_path / "x").exists()


def test_cli_sketch_writes_a_data_set(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "synthscope.cli",
            "sketch",
            "tissue-2d",
            "-n",
            "2",
            "-o",
            str(tmp_path / "t"),
            "--set",
            "shape=[64, 64]",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert len(list((tmp_path / "t" / "labels").glob("*.tif"))) == 2


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_names_a_bundled_model_or_none(name):
    model = load_preset(name)["refine"].get("model")
    assert model is None or model in bundled_models()


def test_mask_conditioned_model(tmp_path):
    items = [sketch_item(load_preset("nuclei-2d", settings=SMALL_2D), rng=i) for i in range(2)]
    model = build_denoiser(
        channels=(8, 8, 8), attention_levels=(False, False, False), patch_size=(32, 32), condition_channels=1
    )
    patches = PatchSampler(
        [i.sketch for i in items], conditions=[(i.labels > 0).astype(np.float32) for i in items], patch_size=(32, 32)
    )
    train_denoiser(model, patches, steps=5, batch_size=2, rng=0)
    save_denoiser(model, tmp_path / "model")
    settings = {**SMALL_2D, "refine.model": str(tmp_path / "model"), "refine.steps": 2}
    with pytest.raises(InputError, match="refine.condition=mask"):
        generate("nuclei-2d", count=1, out=tmp_path / "refused", settings={**settings, "refine.condition": None})
    assert not (tmp_path / "refused").exists()
    root = generate("nuclei-2d", count=1, out=tmp_path / "set", settings={**settings, "refine.condition": "mask"})
    assert tifffile.imread(root / "images" / "00000.tif").shape == (64, 64)


def test_a_model_conditioned_on_out_of_plane_nuclei_is_given_them(tmp_path):
    item = sketch_item(load_preset("nuclei-2d", settings={**SMALL_2D, "nuclei.out_of_plane": 0.5}), rng=0)
    model = build_denoiser(
        channels=(8, 8, 8), attention_levels=(False, False, False), patch_size=(32, 32), condition_channels=2
    )
    conditions = [np.stack([item.labels > 0, item.masks["out_of_plane"] > 0]).astype(np.float32)]
    train_denoiser(
        model, PatchSampler([item.sketch], conditions=conditions, patch_size=(32, 32)), steps=2, batch_size=2, rng=0
    )
    save_denoiser(model, tmp_path / "model")
    settings = {**SMALL_2D, "nuclei.out_of_plane": 0.5, "refine.model": str(tmp_path / "model"), "refine.steps": 2}
    with pytest.raises(InputError, match="refine.condition=mask\\+out_of_plane"):
        generate("nuclei-2d", count=1, out=tmp_path / "refused", settings={**settings, "refine.condition": "mask"})
    root = generate(
        "nuclei-2d", count=1, out=tmp_path / "set", settings={**settings, "refine.condition": "mask+out_of_plane"}
    )
    assert tifffile.imread(root / "images" / "00000.tif").shape == (64, 64)
    channels = condition(item, "mask+out_of_plane")
    np.testing.assert_array_equal(channels, [item.labels > 0, item.masks["out_of_plane"] > 0])
    assert channels[1].any() and not (channels[0] * channels[1]).any()
    plain = dataclasses.replace(item, masks={})
    assert not condition(plain, "mask+out_of_plane")[1].any()


# The mismatch policy, with a refinement stub that paints an object into the background and erases one.


def _item(**settings):
    return sketch_item(load_preset("nuclei-2d", settings={"shape": [96, 96], "nuclei.count": 8, **settings}), rng=1)


def _stub_refine(monkeypatch, item, *, paint, erase=None):
    """Replace the model: the refined image is the sketch, with a bright disk painted in the emptiest
    background when ``paint(seed)``, and label `erase` set to the background level.

    A retry's window (2D items) is found in the sketch by its corner, which holds the previous result."""
    frame = item.labels[-1] if item.labels.ndim == 3 else item.labels
    depth = ndi.distance_transform_edt(np.pad(frame == 0, 1))[1:-1, 1:-1]  # from labels and the border
    centre = np.unravel_index(np.argmax(depth), depth.shape)
    assert depth[centre] > 12  # room for a disk of radius 7 far from every label
    calls, windows = [], []

    def refine(denoiser, sketch, *, rng, **_):
        calls.append(rng)
        image = sketch.copy()
        target = image[-1] if image.ndim == 3 else image  # a time-lapse: paint into the last frame
        top, left = (0, 0) if sketch.shape == item.sketch.shape else _corner(item.sketch, sketch)
        window = (slice(top, top + target.shape[0]), slice(left, left + target.shape[1]))
        windows.append(window)
        if paint(rng):
            target[disk((centre[0] - top, centre[1] - left), 7, shape=target.shape)] = 0.8
        if erase is not None:
            target[frame[window] == erase] = 0.1
        return image

    monkeypatch.setattr(synthscope.diffusion, "refine", refine)
    return calls, centre, windows


def _corner(full, window):
    """Where `window` lies in `full`: the one place its top-left 4 x 4 pixels match."""
    views = np.lib.stride_tricks.sliding_window_view(full, (4, 4))
    (place,) = np.argwhere((views == window[:4, :4]).all(axis=(-2, -1)))
    return tuple(int(i) for i in place)


#: A stand-in for the model where the stub replaces it: a retry reads only its patch size.
STUB_MODEL = types.SimpleNamespace(config=types.SimpleNamespace(patch_size=(32, 32)))


OPTIONS = {"t_start": 400, "hold": "background"}


def _agrees(item):
    blobs, empty = find_mismatches(item.image, item.labels, reference=item.sketch, frames="T" in item.axes)
    return blobs.max() == 0 and empty == []


def test_retry_keeps_the_first_clean_refinement(monkeypatch):
    item = _item()
    calls, centre, windows = _stub_refine(monkeypatch, item, paint=lambda seed: seed == 5)
    out = refine_item(item, STUB_MODEL, RefineSpec.from_mapping({**OPTIONS, "mismatch": "retry"}), rng=5)
    report = out.metadata["refinement"]
    assert calls == [5, item_seed(5, 1)]  # the second seed is derived from the item's
    assert report["attempts"] == 2 and report["unlabeled_objects"] == 1 and report["empty_labels"] == []
    # the retry refined a window around the painted disk, at least the model's patch, and held the rest
    window = windows[1]
    assert all(w.start <= c < w.stop and 32 <= w.stop - w.start < 96 for w, c in zip(window, centre))
    outside = np.ones(item.labels.shape, bool)
    outside[window] = False
    assert np.array_equal(out.image[outside], item.sketch[outside])
    assert report["added"] == [] and report["lost"] == []
    assert out.image[centre] < 0.5 and _ids(out.labels) == _ids(item.labels) and _agrees(out)


def test_retry_relabels_the_last_refinement_when_none_is_clean(monkeypatch):
    item = _item()
    calls, centre, windows = _stub_refine(monkeypatch, item, paint=lambda seed: True, erase=3)
    spec = RefineSpec.from_mapping({**OPTIONS, "retries": 3})  # retry is the default
    out = refine_item(item, STUB_MODEL, spec, rng=5)
    report = out.metadata["refinement"]
    new = int(item.labels.max()) + 1
    assert calls == [5, item_seed(5, 1), item_seed(5, 2), item_seed(5, 3)]
    assert report["mismatch"] == "retry" and report["attempts"] == 4
    assert report["unlabeled_objects"] == 1 and report["empty_labels"] == [3]
    assert report["added"] == [new] and report["lost"] == [3]
    assert out.labels[centre] == new and "3" not in report["iou"] and _agrees(out)
    # the same seed, the same bytes
    again = refine_item(item, STUB_MODEL, spec, rng=5)
    assert again.image.tobytes() == out.image.tobytes() and again.labels.tobytes() == out.labels.tobytes()
    assert json.dumps(again.metadata) == json.dumps(out.metadata)


@pytest.mark.parametrize("policy", ["relabel", "keep"])
def test_relabel_and_keep(monkeypatch, policy):
    item = _item()
    calls, centre, windows = _stub_refine(monkeypatch, item, paint=lambda seed: True, erase=3)
    out = refine_item(item, STUB_MODEL, RefineSpec.from_mapping({**OPTIONS, "mismatch": policy}), rng=5)
    report = out.metadata["refinement"]
    assert calls == [5] and report["attempts"] == 1
    assert report["unlabeled_objects"] == 1 and report["empty_labels"] == [3]
    if policy == "relabel":
        assert report["added"] == [int(item.labels.max()) + 1] and report["lost"] == [3] and _agrees(out)
        assert _ids(out.labels) == _ids(item.labels) - {3} | set(report["added"])
    else:
        assert report["added"] == [] and report["lost"] == [] and not _agrees(out)
        assert _ids(out.labels) == _ids(item.labels)


def test_relabel_keeps_time_lapse_tracks_consistent(monkeypatch):
    item = sketch_item(
        load_preset("timelapse-2d", settings={"shape": [96, 96], "timelapse.frames": 3, "timelapse.count": 6}), rng=0
    )
    lost = int(item.labels[-1][item.labels[-1] > 0][0])
    child = int(next(i for i in _ids(item.labels) if i != lost))
    tracks = item.tracks.copy()
    tracks[tracks[:, 0] == child, 3] = lost  # pretend `child` divided from the lost track
    item = dataclasses.replace(item, tracks=tracks)
    _stub_refine(monkeypatch, item, paint=lambda seed: True, erase=lost)
    out = refine_item(item, STUB_MODEL, RefineSpec.from_mapping({**OPTIONS, "mismatch": "relabel"}), rng=0)
    report = out.metadata["refinement"]
    new = int(item.labels.max()) + 1
    assert report["lost"] == [lost] and report["added"] == [new] and _agrees(out)
    rows = {int(r[0]): [int(x) for x in r[1:]] for r in out.tracks}
    assert lost not in rows and rows[child][2] == 0 and rows[new] == [2, 2, 0]
    assert set(rows) == _ids(out.labels)


def test_a_bad_mismatch_policy_is_refused_before_any_work(tmp_path):
    for key, value, message in (
        ("refine.mismatch", "fix", "refine.mismatch must be one of"),
        ("refine.retries", -1, r"refine.retries must be in \[0, 20\]"),
    ):
        with pytest.raises(InputError, match=message):
            generate("nuclei-2d", count=1, out=tmp_path / "x", settings={**SMALL_2D, key: value})
    assert not (tmp_path / "x").exists()


# The in-memory item API: item i of make_item equals item i of the written data set, byte for byte.

ITEM_CASES = {
    "nuclei-2d": {**SMALL_2D, "refine.condition": None, "refine.steps": 2},
    "nuclei-3d": {"shape": [8, 32, 32], "refine.steps": 2, "refine.slice_rho": 1.0},
    "timelapse-2d": {"shape": [64, 64], "timelapse.frames": 3, "timelapse.count": 4, "refine.steps": 2},
    "cilia": CILIA,
}


def _same_item(made, written):
    for name in ("labels", "sketch", "image", "classes", "tracks"):
        ours, theirs = getattr(made, name), getattr(written, name)
        assert (ours is None) == (theirs is None), name
        if ours is not None:
            assert ours.dtype == theirs.dtype and ours.tobytes() == theirs.tobytes(), name
    assert sorted(made.masks) == sorted(written.masks)
    for name, mask in made.masks.items():
        assert mask.tobytes() == written.masks[name].tobytes(), name
    assert made.axes == written.axes and made.spacing == written.spacing
    assert json.loads(json.dumps(made.metadata)) == written.metadata


@pytest.mark.parametrize("refined", [False, True], ids=["sketch", "refined"])
@pytest.mark.parametrize("preset", list(ITEM_CASES))
def test_make_item_equals_the_written_item(tmp_path, tiny_model, preset, refined):
    settings = {**ITEM_CASES[preset], "refine.model": str(tiny_model) if refined else None}
    root = generate(preset, count=2, out=tmp_path / "set", rng=7, settings=settings)
    written = read_dataset(root)
    maker = synthscope.ItemMaker(preset, rng=7, settings=settings)
    assert (maker.denoiser is not None) == refined
    for index in (1, 0):  # any order: item i depends only on (rng, i)
        _same_item(maker(index), written.load(index))
    _same_item(synthscope.make_item(preset, 1, rng=7, settings=settings), written.load(1))


def test_item_maker_refuses_bad_input_before_any_work():
    with pytest.raises(InputError, match="rng must be a non-negative integer"):
        synthscope.ItemMaker("nuclei-2d", rng=-1)
    maker = synthscope.ItemMaker("nuclei-2d", settings={**SMALL_2D, "refine.model": None})
    with pytest.raises(InputError, match="an item index is a non-negative integer"):
        maker(-1)
    seeded = [
        synthscope.ItemMaker("nuclei-2d", rng=np.random.default_rng(4), settings={**SMALL_2D, "refine.model": None})
        for _ in range(2)
    ]
    assert seeded[0].seed == seeded[1].seed and seeded[0](0).labels.tobytes() == seeded[1](0).labels.tobytes()
