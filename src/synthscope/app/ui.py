"""The web page: a Segment tab and a Generate tab, served from 127.0.0.1 unless told otherwise.

Gradio is imported inside the functions only. The server serves its work folder and
nothing else: Gradio's upload cache is put inside it and it is the only allowed path.
No request leaves the machine: Gradio's analytics are off and the page uses system fonts.
"""

import importlib.util
import os
from pathlib import Path

from synthscope.app.generate_tab import generate_tab
from synthscope.app.segment_tab import segment_tab
from synthscope.app.work import MAX_UPLOAD_MB, work_folder
from synthscope.errors import InputError
from synthscope.segment import DEFAULT_MODEL, Segmenter

TITLE = "synthscope"
#: Small pictures fill their panel, pixels kept sharp (display only).
CSS = ".picture img {width: 100%; height: 100%; object-fit: contain; image-rendering: pixelated;}"


def load_segmenter(model: "str | os.PathLike | None") -> Segmenter | None:
    """Return the model named by `model`, or the bundled default (None if it is not available).

    A model that was asked for by name or path and cannot be loaded is an `InputError`.
    """
    if model is not None:
        return Segmenter.load(model)
    try:
        return Segmenter.load(DEFAULT_MODEL)
    except InputError:
        return None


def build_app(segmenter: Segmenter | None, *, work: Path, max_mb: float = MAX_UPLOAD_MB):
    """Return the app (a ``gradio.Blocks``, not yet launched) whose files all live in `work`.

    Points Gradio's upload cache into `work` (``GRADIO_TEMP_DIR``) and turns its
    analytics off (``GRADIO_ANALYTICS_ENABLED``), for this process.
    """
    work = Path(work)
    os.environ["GRADIO_TEMP_DIR"] = str(work / "uploads")
    os.environ["GRADIO_EXAMPLES_CACHE"] = str(work / "examples")
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    import gradio as gr

    with gr.Blocks(title=TITLE, analytics_enabled=False) as app:
        gr.Markdown(f"# {TITLE}\nSegmentation with diffusion refinement, and synthetic annotated microscopy data.")
        with gr.Tabs():
            with gr.Tab("Segment", id="segment"):
                segment_tab(segmenter, work=work, max_mb=max_mb)
            with gr.Tab("Generate", id="generate"):
                generate_tab(work=work)
    return app


def launch_app(
    *,
    model: "str | os.PathLike | None" = None,
    host: str = "127.0.0.1",
    port: int = 7860,
    work: "str | os.PathLike | None" = None,
    max_mb: float = MAX_UPLOAD_MB,
    block: bool = True,
):
    """Serve the app at ``http://HOST:PORT``; return the app and its address.

    Parameters
    ----------
    model : path-like, optional
        A segmentation model folder (``synthscope train-segmenter``) or bundled name;
        by default the bundled ``nuclei-seg-2d`` when it exists, else the Segment tab
        says that no model is available.
    host : str
        The address to listen on: 127.0.0.1 (this machine only) unless told otherwise.
    port : int
    work : path-like, optional
        The work folder (uploads and results); a new temporary folder when omitted.
    max_mb : float
        Uploads larger than this many megabytes are refused.
    block : bool
        Serve until interrupted; False returns once the server runs (for tests).

    Raises
    ------
    InputError
        Before anything is served: Gradio not installed, a model that cannot be loaded,
        a work folder that is a file.
    """
    if importlib.util.find_spec("gradio") is None:
        raise InputError("the web app needs Gradio: pip install 'synthscope[app]'")
    segmenter = load_segmenter(model)
    work = work_folder(work)
    app = build_app(segmenter, work=work, max_mb=max_mb)
    import gradio as gr

    theme = gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])
    _, url, _ = app.launch(
        server_name=host,
        server_port=port,
        allowed_paths=[str(work)],
        max_file_size=f"{max_mb}mb",
        prevent_thread_lock=not block,
        quiet=True,
        theme=theme,
        css=CSS,
        footer_links=[],
    )
    return app, url
