"""The Segment tab: an uploaded image -> coarse, refined, uncertainty and overlay pictures + labels.

`segment_upload` does the work (no Gradio in it, so it is tested by calling it);
`segment_tab` lays the tab out. Gradio is imported inside `segment_tab` only.
"""

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path

from synthscope.app.work import MAX_UPLOAD_MB, new_job, read_upload
from synthscope.errors import InputError
from synthscope.io import write_image
from synthscope.segment import Segmenter, overlay
from synthscope.segment.visualize import probability_picture, uncertainty_picture

#: What the tab says when it was started without a usable model.
NO_MODEL = (
    "No segmentation model is available: start the app with `--model PATH`, a folder made by "
    "`synthscope train-segmenter`."
)


@dataclasses.dataclass(frozen=True)
class SegmentView:
    """The files the Segment tab shows, all inside one job folder of the work folder.

    Attributes
    ----------
    coarse, refined : pathlib.Path
        The coarse and the refined foreground probability, grey PNG (white = 1).
    uncertainty : pathlib.Path
        The refinement draws' disagreement, a heat map PNG (black certain, yellow 1 bit).
    overlay : pathlib.Path
        The instance outlines over the image, PNG.
    labels : pathlib.Path
        The instance labels, OME-TIFF (uint16, 0 = background), for download.
    summary : str
        One line: objects found, how the mask was made.
    """

    coarse: Path
    refined: Path
    uncertainty: Path
    overlay: Path
    labels: Path
    summary: str


def segment_upload(
    path: str | os.PathLike | None,
    *,
    segmenter: Segmenter | None,
    work: str | os.PathLike,
    ensemble: int = 1,
    rng: int = 0,
    max_mb: float = MAX_UPLOAD_MB,
    callback: Callable[..., None] | None = None,
) -> SegmentView:
    """Segment an uploaded image with `segmenter` and write what the tab shows into a new job folder.

    Parameters
    ----------
    path : path-like or None
        The uploaded file (None when nothing was uploaded).
    segmenter : Segmenter or None
        The app's model; None when it has none (refused with `NO_MODEL`).
    work : path-like
        The app's work folder.
    ensemble : int
        Refinement draws: their mean is the mask, their disagreement the uncertainty.
        A model without a refiner shows its coarse mask.
    rng : int
        Seed of the refinement noise.
    max_mb : float
        The upload size limit.
    callback : callable, optional
        ``callback(done, total, draw=k)`` after each refiner evaluation.

    Returns
    -------
    SegmentView

    Raises
    ------
    InputError
        Before any work: no model, no file, a file too large or not an image the model takes.

    Examples
    --------
    >>> import numpy as np
    >>> from synthscope.app.work import work_folder
    >>> from synthscope.diffusion import build_denoiser
    >>> from synthscope.segment import CoarseConfig, SegmenterConfig
    >>> config = SegmenterConfig(coarse=CoarseConfig(channels=(8, 8, 8), patch_size=(16, 16)))
    >>> refiner = build_denoiser(channels=(8, 8, 8), patch_size=(16, 16), condition_channels=2)
    >>> model, work = Segmenter(config, config.coarse.build(rng=0), refiner), work_folder()
    >>> write_image(work / "a.png", np.zeros((24, 24), np.uint8), axes="YX")
    >>> segment_upload(work / "a.png", segmenter=model, work=work).labels.name
    'a_labels.tif'
    """
    if segmenter is None:
        raise InputError(NO_MODEL)
    name, image = read_upload(path, max_mb=max_mb)
    refine = segmenter.refiner is not None
    try:
        result = segmenter(image.data, axes=image.axes, refine=refine, ensemble=ensemble, rng=rng, callback=callback)
    except InputError as error:
        raise InputError(f"{Path(path).name}: {error}") from None
    job = new_job(work)
    files = {kind: job / f"{name}_{kind}.png" for kind in ("coarse", "refined", "uncertainty", "overlay")}
    write_image(files["coarse"], probability_picture(result, coarse=True), axes="YX")
    write_image(files["refined"], probability_picture(result), axes="YX")
    write_image(files["uncertainty"], uncertainty_picture(result), axes="YXC")
    write_image(files["overlay"], overlay(image.data, result), axes="YXC")
    labels = job / f"{name}_labels.tif"
    spacing = {axis: size for axis, size in (image.spacing or {}).items() if axis in result.axes}
    write_image(labels, result.labels, axes=result.axes, spacing=spacing)
    how = f"refined, {ensemble} draw{'s' * (ensemble > 1)}" if refine else "coarse model only (it has no refiner)"
    summary = f"{name}: {int(result.labels.max())} objects ({how})"
    return SegmentView(labels=labels, summary=summary, **files)


def segment_tab(segmenter: Segmenter | None, *, work: Path, max_mb: float) -> None:
    """Lay out the Segment tab inside the current ``gradio.Blocks``."""
    import gradio as gr

    from synthscope.app.events import gradio_errors, progress_callback

    if segmenter is None:
        gr.Markdown(f"**{NO_MODEL}**")
    else:
        gr.Markdown(f"Model: `{segmenter.source['path'] or 'in memory'}`. Images up to {max_mb:g} MB.")
    with gr.Row():
        upload = gr.File(label="Image (TIFF, PNG, JPEG, BMP, NIfTI, DICOM)", type="filepath", elem_id="upload")
        with gr.Column():
            ensemble = gr.Slider(1, 8, value=1, step=1, label="Refinement draws (ensemble)", elem_id="ensemble")
            seed = gr.Number(0, label="Seed", precision=0, minimum=0, elem_id="segment-seed")
            run = gr.Button("Segment", variant="primary", elem_id="segment-button")
    summary = gr.Markdown(elem_id="segment-summary")
    with gr.Row():
        pictures = [
            gr.Image(
                label=label,
                type="filepath",
                format="png",
                height=280,
                elem_id=f"{kind}-picture",
                elem_classes=["picture"],
                interactive=False,
            )
            for kind, label in (
                ("coarse", "Coarse"),
                ("refined", "Refined"),
                ("uncertainty", "Uncertainty"),
                ("overlay", "Overlay"),
            )
        ]
    labels = gr.File(label="Labels (OME-TIFF)", elem_id="labels-file", interactive=False)

    @gradio_errors
    def handle(path, draws, rng, progress=gr.Progress()):
        view = segment_upload(
            path,
            segmenter=segmenter,
            work=work,
            ensemble=int(draws),
            rng=int(rng or 0),
            max_mb=max_mb,
            callback=progress_callback(progress, "refining"),
        )
        files = (view.coarse, view.refined, view.uncertainty, view.overlay, view.labels)
        return f"**{view.summary}**", *map(str, files)

    run.click(handle, [upload, ensemble, seed], [summary, *pictures, labels])
