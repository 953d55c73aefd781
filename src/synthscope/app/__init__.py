"""The web app (``synthscope app``): segment an uploaded image, or generate a small data set, in a browser.

Install with ``pip install "synthscope[app]"`` (Gradio). Served from 127.0.0.1 unless told
otherwise; it serves its own work folder only. The tabs' handlers (`segment_upload`,
`generate_dataset`) are plain functions of the public API; Gradio is imported only when
the page is built (`build_app`, `launch_app`), so this package imports without it.
"""

from synthscope.app.generate_tab import GenerateView, generate_dataset
from synthscope.app.segment_tab import SegmentView, segment_upload
from synthscope.app.ui import build_app, launch_app, load_segmenter
from synthscope.app.work import MAX_UPLOAD_MB, new_job, read_upload, work_folder

__all__ = [
    "MAX_UPLOAD_MB",
    "GenerateView",
    "SegmentView",
    "build_app",
    "generate_dataset",
    "launch_app",
    "load_segmenter",
    "new_job",
    "read_upload",
    "segment_upload",
    "work_folder",
]
