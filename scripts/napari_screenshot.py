"""The README's napari screenshots: the plugin's widgets beside what they made.

    xvfb-run -a .venv/bin/python scripts/napari_screenshot.py docs/images/napari.png
    xvfb-run -a .venv/bin/python scripts/napari_screenshot.py docs/images/napari-shape3d.png --analysis

The first docks ``Generate`` (synthscope), makes 3 refined ``nuclei-2d`` items with it and
shows the labels over the image. The second (``--analysis``) opens the ``nuclei-2d``
sample, segments its image with ``Segment``, predicts the 3D shape of every segmented
nucleus with ``Shape 3D`` and shows the shapes in 3D over the image. Each saves a picture
of the whole window.
"""

import sys
import time

import napari
from qtpy.QtWidgets import QApplication


def wait_for(viewer, layer):
    while layer not in viewer.layers:
        QApplication.processEvents()
        time.sleep(0.05)


def settle():
    for _ in range(20):
        QApplication.processEvents()
        time.sleep(0.05)


def dock(viewer, name):
    _, widget = viewer.window.add_plugin_dock_widget("synthscope", name)
    return {child.name: child for child in widget}


def generate(viewer):
    form = dock(viewer, "Generate")
    form["count"].value = 3
    form["generate"].native.click()
    wait_for(viewer, "nuclei-2d labels")
    viewer.layers["nuclei-2d labels"].contour = 2
    viewer.dims.set_point(0, 1)


def analysis(viewer):
    viewer.open_sample("synthscope", "nuclei-2d")
    for name in ("nuclei-2d sketch", "nuclei-2d labels", "nuclei-2d out_of_plane"):
        viewer.layers.remove(name)
    segment = dock(viewer, "Segment")
    segment["ensemble"].value = 4
    segment["segment"].native.click()
    wait_for(viewer, "nuclei-2d image labels")
    viewer.layers["nuclei-2d image uncertainty"].visible = False
    viewer.layers["nuclei-2d image labels"].contour = 1
    shapes = dock(viewer, "Shape 3D")
    shapes["labels"].value = viewer.layers["nuclei-2d image labels"]
    shapes["ensemble"].value, shapes["steps"].value = 2, 10
    shapes["features"].native.setMinimumHeight(120)
    shapes["predict"].native.click()
    wait_for(viewer, "nuclei-2d image labels 3D")
    viewer.layers["nuclei-2d image labels 3D uncertainty"].visible = False
    viewer.dims.ndisplay = 3
    viewer.camera.angles = (-10, -40, 120)


def main(out, *, show_analysis=False):
    viewer = napari.Viewer(title="synthscope in napari")
    viewer.window.resize(1280, 800)
    (analysis if show_analysis else generate)(viewer)
    settle()
    viewer.screenshot(out, canvas_only=False, flash=False)
    viewer.close()


if __name__ == "__main__":
    main(sys.argv[1], show_analysis="--analysis" in sys.argv[2:])
