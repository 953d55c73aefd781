"""The Generate tab: preset, settings, count and seed -> previews and the data set as a zip.

`generate_dataset` does the work with `synthscope.generate` (no Gradio in it, so it is
tested by calling it); `generate_tab` lays the tab out. Gradio is imported inside
`generate_tab` only.
"""

import dataclasses
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import yaml

from synthscope.app.work import new_job
from synthscope.checks import check_number
from synthscope.errors import InputError

#: The most items one request may make (the app runs on the server's CPU).
MAX_ITEMS = 16
#: The settings the tab starts with: small images, quick to make.
DEFAULT_SETTINGS = "shape: [128, 128]"


@dataclasses.dataclass(frozen=True)
class GenerateView:
    """The files the Generate tab shows, inside one job folder of the work folder.

    Attributes
    ----------
    previews : list of pathlib.Path
        One picture per item: label outlines over the image (the data set's ``previews/``).
    archive : pathlib.Path
        The whole data set as a zip (one folder, the synthscope data set layout).
    summary : str
        One line: items, preset, whether they were refined.
    """

    previews: list
    archive: Path
    summary: str


def parse_settings(text: str) -> dict:
    """Return the preset settings written as YAML, one ``key: value`` per line (the keys of ``--set``).

    Examples
    --------
    >>> parse_settings("shape: [64, 64]\\nrefine.model: null")
    {'shape': [64, 64], 'refine.model': None}
    >>> parse_settings("")
    {}
    >>> parse_settings("density 0.3")
    Traceback (most recent call last):
    ...
    synthscope.errors.InputError: settings: expected one 'key: value' per line, got 'density 0.3'
    """
    try:
        settings = yaml.safe_load(text or "") or {}
    except yaml.YAMLError:
        settings = None
    if not isinstance(settings, dict):
        raise InputError(f"settings: expected one 'key: value' per line, got {text!r}")
    return {str(key): value for key, value in settings.items()}


def generate_dataset(
    preset: str,
    *,
    settings: str = DEFAULT_SETTINGS,
    count: int = 2,
    rng: int = 0,
    work: str | os.PathLike,
    callback: Callable[..., None] | None = None,
) -> GenerateView:
    """Make `count` items of `preset` into a new job folder of `work`; return the previews and a zip.

    Parameters
    ----------
    preset : str
        A bundled preset name (`synthscope.phantoms.preset_names`).
    settings : str
        Preset settings as YAML (`parse_settings`), e.g. ``"refine.model: null"`` for
        sketches only.
    count : int
        Items, at most `MAX_ITEMS`.
    rng : int
        The data set's base seed.
    work : path-like
        The app's work folder.
    callback : callable, optional
        ``callback(done, total)`` after each item.

    Returns
    -------
    GenerateView

    Raises
    ------
    InputError
        Before any work: unreadable settings, an unknown preset or key, impossible
        parameters, a count out of range.

    Examples
    --------
    >>> from synthscope.app.work import work_folder
    >>> view = generate_dataset("nuclei-2d", settings="refine.model: null\\nshape: [48, 48]", work=work_folder())
    >>> len(view.previews), view.archive.suffix
    (2, '.zip')
    """
    from synthscope.pipeline import generate

    check_number(count, "count", low=1, high=MAX_ITEMS, integer=True)
    settings = parse_settings(settings)
    job = new_job(work)
    name = f"{preset}-seed{rng}"
    root = generate(preset, count=count, out=job / name, rng=rng, settings=settings, callback=callback)
    archive = Path(shutil.make_archive(str(job / name), "zip", root_dir=job, base_dir=name))
    refined = json.loads((root / "dataset.json").read_text())["refined"]
    summary = f"{count} items of {preset}, seed {rng}" + ("" if refined else " (sketches only, not refined)")
    return GenerateView(previews=sorted((root / "previews").glob("*.png")), archive=archive, summary=summary)


def generate_tab(*, work: Path) -> None:
    """Lay out the Generate tab inside the current ``gradio.Blocks``."""
    import gradio as gr

    from synthscope.app.events import gradio_errors, progress_callback
    from synthscope.phantoms import preset_names

    with gr.Row():
        with gr.Column():
            preset = gr.Dropdown(preset_names(), value="nuclei-2d", label="Preset", elem_id="preset")
            settings = gr.Textbox(DEFAULT_SETTINGS, lines=3, label="Settings (key: value per line)", elem_id="settings")
        with gr.Column():
            count = gr.Slider(1, MAX_ITEMS, value=2, step=1, label="Items", elem_id="count")
            seed = gr.Number(0, label="Seed", precision=0, minimum=0, elem_id="generate-seed")
            run = gr.Button("Generate", variant="primary", elem_id="generate-button")
    summary = gr.Markdown(elem_id="generate-summary")
    gallery = gr.Gallery(label="Previews (label outlines over the image)", columns=4, elem_id="previews")
    archive = gr.File(label="Data set (zip)", elem_id="dataset-file", interactive=False)

    @gradio_errors
    def handle(name, text, items, rng, progress=gr.Progress()):
        view = generate_dataset(
            name,
            settings=text,
            count=int(items),
            rng=int(rng or 0),
            work=work,
            callback=progress_callback(progress, "items"),
        )
        return f"**{view.summary}**", [(str(p), p.stem) for p in view.previews], str(view.archive)

    run.click(handle, [preset, settings, count, seed], [summary, gallery, archive])
