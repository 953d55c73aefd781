"""The README's napari screenshot: the plugin's Generate widget beside the items it made.

    xvfb-run -a .venv/bin/python scripts/napari_screenshot.py docs/images/napari.png

Opens a viewer, docks ``Generate`` (synthscope), makes 3 refined ``nuclei-2d`` items
with it, shows the labels over the image and saves a picture of the whole window.
"""

import sys
import time

import napari
from qtpy.QtWidgets import QApplication


def main(out):
    viewer = napari.Viewer(title="synthscope in napari")
    viewer.window.resize(1280, 800)
    _, widget = viewer.window.add_plugin_dock_widget("synthscope", "Generate")
    form = {child.name: child for child in widget}
    form["count"].value = 3
    form["generate"].native.click()
    while "nuclei-2d labels" not in viewer.layers:
        QApplication.processEvents()
        time.sleep(0.05)
    viewer.layers["nuclei-2d labels"].contour = 2
    viewer.dims.set_point(0, 1)
    for _ in range(20):
        QApplication.processEvents()
        time.sleep(0.05)
    viewer.screenshot(out, canvas_only=False, flash=False)
    viewer.close()


if __name__ == "__main__":
    main(sys.argv[1])
