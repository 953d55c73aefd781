"""``synthscope app`` in a real browser (headless Chromium driven by Playwright): an image is
uploaded, segmented by a tiny model trained here, its pictures shown and its labels downloaded
and checked; the Generate tab makes a sketch-only data set and its zip downloads; a file that is
not an image gets its one-line message; files outside the work folder are not served."""

import socket
import subprocess
import sys
import time
import urllib.request
import zipfile

import numpy as np
import pytest
from scipy import ndimage

from synthscope.diffusion import DenoiserConfig
from synthscope.io import read_image, write_image
from synthscope.segment import CoarseConfig, SegmenterConfig, Training, train_segmenter

playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
WAIT_MS = 120_000  # a shared CPU: segmentation or generation may take a while


def discs(rng, shape=(96, 96)):
    """A raw uint16 image of separate bright discs and its instance labels."""
    rng = np.random.default_rng(rng)
    labels = np.zeros(shape, np.uint16)
    grid = np.indices(shape)
    for index in range(1, 7):
        centre, radius = rng.uniform(12, np.array(shape) - 12), rng.uniform(6, 10)
        disc = np.linalg.norm(grid - centre[:, None, None], axis=0) < radius
        labels[disc & ~ndimage.binary_dilation(labels > 0, iterations=3)] = index
    image = 300 + 900 * ndimage.gaussian_filter((labels > 0) * 1.0, 1.2) + rng.normal(0, 40, shape)
    return np.clip(image, 0, 4000).astype(np.uint16), labels


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app serving a tiny model trained on disc images, on a free port of 127.0.0.1."""
    root = tmp_path_factory.mktemp("app")
    images, labels = zip(*(discs(seed) for seed in range(4)))
    config = SegmenterConfig(coarse=CoarseConfig(channels=(8, 16, 16), patch_size=(32, 32)))
    refiner = DenoiserConfig(channels=(8, 8, 8), attention_levels=(False,) * 3, patch_size=(32, 32))
    training = Training(coarse_steps=150, refiner_steps=150, batch_size=8, refiner_lr=2e-3)
    train_segmenter(images, labels, root / "model", config=config, refiner=refiner, training=training, rng=0)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "synthscope.cli", "app", "--model", root / "model", "--port", str(port)]
    process = subprocess.Popen([*map(str, command), "--work", str(root / "work")], stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 180
    while True:
        try:
            urllib.request.urlopen(url, timeout=5)
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"the app did not start: {process.stderr.read()}")
            time.sleep(1)
    yield url, root
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def page(server):
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(accept_downloads=True, viewport={"width": 1400, "height": 1100})
        page.goto(server[0])
        yield page
        browser.close()


def test_an_uploaded_image_is_segmented_and_its_labels_download(page, server, tmp_path):
    image, truth = discs(100)
    write_image(tmp_path / "cells.tif", image, axes="YX")
    page.locator("#upload input[type=file]").set_input_files(str(tmp_path / "cells.tif"))
    page.locator("#upload [aria-label='cells.tif']").wait_for(timeout=WAIT_MS)
    page.locator("#ensemble input[type=number]").fill("3")
    page.click("#segment-button")
    for kind in ("coarse", "refined", "uncertainty", "overlay"):
        page.locator(f"#{kind}-picture img").wait_for(timeout=WAIT_MS)
    page.get_by_text("refined, 3 draws").wait_for(timeout=WAIT_MS)
    with page.expect_download(timeout=WAIT_MS) as download:
        page.locator("#labels-file a").first.click()
    assert download.value.suggested_filename == "cells_labels.tif"
    download.value.save_as(tmp_path / "labels.tif")
    labels = read_image(tmp_path / "labels.tif").data
    assert labels.shape == truth.shape and labels.dtype == np.uint16
    overlap = np.logical_and(labels > 0, truth > 0).sum() / max((truth > 0).sum(), 1)
    assert labels.max() >= 3 and overlap > 0.6, (labels.max(), overlap)


def test_the_generate_tab_makes_a_data_set_zip(page, server, tmp_path):
    page.get_by_role("tab", name="Generate").click()
    page.locator("#settings textarea").fill("refine.model: null\nshape: [48, 48]")
    page.click("#generate-button")
    page.locator("#previews img").nth(1).wait_for(timeout=WAIT_MS)
    with page.expect_download(timeout=WAIT_MS) as download:
        page.locator("#dataset-file a").first.click()
    download.value.save_as(tmp_path / "set.zip")
    with zipfile.ZipFile(tmp_path / "set.zip") as archive:
        names = archive.namelist()
    assert "nuclei-2d-seed0/dataset.json" in names and "nuclei-2d-seed0/labels/00001.tif" in names


def test_a_file_that_is_not_an_image_gets_one_line(page, server, tmp_path):
    notes = tmp_path / "notes.png"
    notes.write_text("not a picture")
    page.get_by_role("tab", name="Segment").click()
    page.locator("#upload button[aria-label='Clear']").first.click()
    page.locator("#upload input[type=file]").set_input_files(str(notes))
    page.locator("#upload [aria-label='notes.png']").wait_for(timeout=WAIT_MS)
    page.click("#segment-button")
    page.get_by_text("notes.png: not a readable PNG file").first.wait_for(timeout=WAIT_MS)


def test_files_outside_the_work_folder_are_not_served(page, server):
    url, root = server
    for path in ("/etc/passwd", str(root / "model" / "config.json")):
        assert page.request.get(f"{url}gradio_api/file={path}").status == 403, path
