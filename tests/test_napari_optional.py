"""synthscope without its optional extras: no napari, Qt, magicgui or Dask installed."""

import subprocess
import sys

ABSENT = (
    "napari",
    "magicgui",
    "qtpy",
    "PyQt5",
    "PyQt6",
    "PySide2",
    "PySide6",
    "superqt",
    "vispy",
    "dask",
    "distributed",
)


def test_import_synthscope_the_plugin_modules_and_a_serial_run_need_no_extras(tmp_path):
    code = f"""
import sys
for name in {ABSENT!r}:
    sys.modules[name] = None  # as if not installed: importing it raises ImportError
import synthscope
import synthscope.napari.layers, synthscope.napari.reader, synthscope.napari.writer, synthscope.napari.widgets
import synthscope.napari.running, synthscope.napari.segment_widget, synthscope.napari.shape3d_widget
from synthscope.errors import InputError
settings = {{"refine.model": None, "shape": [64, 64]}}
synthscope.generate("nuclei-2d", count=1, out={str(tmp_path / "serial")!r}, settings=settings)
try:
    synthscope.generate("nuclei-2d", count=1, out={str(tmp_path / "dask")!r}, settings=settings, workers=2)
except InputError as error:
    print(error)
"""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == 'generating on Dask needs dask.distributed: pip install "synthscope[dask]"'
    assert (tmp_path / "serial" / "items" / "00000.json").is_file() and not (tmp_path / "dask").exists()
