"""The web app's handlers called directly (no server, no browser): the Segment and Generate tabs'
files, bad uploads refused with one line, every file inside the work folder; the page builds."""

import importlib.util
import zipfile

import numpy as np
import pytest
from cli_helpers import assert_one_error, run
from PIL import Image

from synthscope.app import build_app, generate_dataset, read_upload, segment_upload, work_folder
from synthscope.diffusion import build_denoiser
from synthscope.errors import InputError
from synthscope.io import read_image, write_image
from synthscope.segment import CoarseConfig, Segmenter, SegmenterConfig


@pytest.fixture(scope="module")
def segmenter():
    """An untrained tiny model: the handlers' plumbing does not need a good one."""
    config = SegmenterConfig(coarse=CoarseConfig(channels=(8, 8), patch_size=(16, 16)))
    net = dict(channels=(8, 8), attention_levels=(False, False), patch_size=(16, 16))
    refiner = build_denoiser(**net, condition_channels=2)
    return Segmenter(config, config.coarse.build(rng=0), refiner)


def test_segment_writes_the_four_pictures_and_the_labels_inside_the_work_folder(segmenter, tmp_path):
    work = work_folder(tmp_path / "work")
    upload = tmp_path / "upload" / "cells.tif"
    write_image(upload, np.random.default_rng(0).random((40, 48)).astype(np.float32), axes="YX")
    view = segment_upload(upload, segmenter=segmenter, work=work, ensemble=2, rng=1)
    for kind in ("coarse", "refined", "uncertainty", "overlay"):
        picture = read_image(getattr(view, kind)).data
        assert picture.shape[:2] == (40, 48) and picture.dtype == np.uint8, kind
    labels = read_image(view.labels)
    assert labels.data.shape == (40, 48) and labels.data.dtype == np.uint16 and labels.axes == "YX"
    assert view.labels.name == "cells_labels.tif" and "2 draws" in view.summary
    assert all(work in path.parents for path in (view.coarse, view.overlay, view.labels))


def test_bad_uploads_are_refused_with_one_line_before_any_work(segmenter, tmp_path):
    work = work_folder(tmp_path / "work")
    notes = tmp_path / "notes.png"
    notes.write_text("not a picture")
    with pytest.raises(InputError, match=r"^notes.png: ") as error:
        segment_upload(notes, segmenter=segmenter, work=work)
    assert str(tmp_path) not in str(error.value)  # named as uploaded, not by the cache path
    big = tmp_path / "big.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (600, 600), dtype=np.uint8)).save(big)
    with pytest.raises(InputError, match=r"big.png: 0.3 MB is more than the 0.1 MB"):
        segment_upload(big, segmenter=segmenter, work=work, max_mb=0.1)
    volume = tmp_path / "volume.tif"
    write_image(volume, np.zeros((3, 16, 16), np.float32), axes="ZYX")
    with pytest.raises(InputError, match=r"^volume.tif: image: axes 'ZYX' do not fit a 2D model"):
        segment_upload(volume, segmenter=segmenter, work=work)
    with pytest.raises(InputError, match="no file"):
        read_upload(None)
    with pytest.raises(InputError, match="--model PATH"):
        segment_upload(big, segmenter=None, work=work)
    assert not (work / "jobs").exists()


def test_generate_makes_previews_and_a_zip_of_the_data_set(tmp_path):
    work = work_folder(tmp_path / "work")
    settings = "refine.model: null\nshape: [48, 48]"
    view = generate_dataset("nuclei-2d", settings=settings, count=2, rng=3, work=work)
    assert [p.name for p in view.previews] == ["00000.png", "00001.png"] and "not refined" in view.summary
    with zipfile.ZipFile(view.archive) as archive:
        names = archive.namelist()
    assert "nuclei-2d-seed3/dataset.json" in names and "nuclei-2d-seed3/labels/00001.tif" in names
    assert work in view.archive.parents
    with pytest.raises(InputError, match="count must be in"):
        generate_dataset("nuclei-2d", count=99, work=work)
    with pytest.raises(InputError, match="settings: expected one 'key: value' per line"):
        generate_dataset("nuclei-2d", settings="[1, 2]", work=work)


def test_the_page_builds_with_and_without_a_model(segmenter, tmp_path, monkeypatch):
    pytest.importorskip("gradio")
    for name in ("GRADIO_TEMP_DIR", "GRADIO_EXAMPLES_CACHE", "GRADIO_ANALYTICS_ENABLED"):
        monkeypatch.setenv(name, "")  # build_app sets them; undone after the test
    for model in (segmenter, None):
        app = build_app(model, work=tmp_path)
        assert app.title == "synthscope"
    text = str(app.config)
    assert "No segmentation model is available" in text and "Generate" in text


def test_the_command_refuses_a_missing_model_with_one_line_before_serving(capsys, tmp_path):
    gradio = importlib.util.find_spec("gradio") is not None
    result = run(capsys, "app", "--model", tmp_path / "nothing", "--port", "1")
    assert_one_error(result, says="no segmentation model folder" if gradio else "needs Gradio")
