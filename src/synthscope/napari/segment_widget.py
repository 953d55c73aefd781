"""The Segment dock widget: an image layer segmented by a `synthscope.segment.Segmenter`, as layers.

Image layer, model (a bundled name or a model folder), refinement on or off, ensemble
draws, strength, steps, seed and postprocessing -> the instance labels (a Labels layer),
the uncertainty (an Image layer) and, if asked, the coarse mask, placed like the image
layer (its scale and translate). The model is loaded and the input checked on the GUI
thread, so bad input is refused before anything runs; the segmentation runs in a napari
thread worker (`synthscope.napari.running`). napari, Qt and magicgui are imported inside
`segment_widget`.
"""

import dataclasses

import numpy as np
import yaml

from synthscope.errors import InputError
from synthscope.segment import DEFAULT_MODEL, Postprocessing, Segmenter


def postprocessing_changes(text: str) -> dict:
    """Return the `synthscope.segment.Postprocessing` fields that `text` sets.

    Parameters
    ----------
    text : str
        YAML ``key: value`` pairs, e.g. ``"opening: 1, min_size: 32"``; empty keeps the
        model's postprocessing.

    Raises
    ------
    InputError
        If `text` is not ``key: value`` pairs, names a key `Postprocessing` lacks, or
        gives a value it refuses.

    Examples
    --------
    >>> postprocessing_changes("opening: 1, min_size: 32")
    {'opening': 1, 'min_size': 32}
    >>> postprocessing_changes("")
    {}
    >>> postprocessing_changes("erode: 2")
    Traceback (most recent call last):
    ...
    synthscope.errors.InputError: postprocessing: unknown keys ['erode']; expected closing, fill_holes, ...
    """
    try:
        changes = yaml.safe_load("{" + text + "}")
    except yaml.YAMLError:
        raise InputError(f"postprocessing {text!r}: expected key: value pairs such as opening: 1") from None
    fields = sorted(field.name for field in dataclasses.fields(Postprocessing))
    unknown = sorted(set(changes) - set(fields))
    if unknown:
        raise InputError(f"postprocessing: unknown keys {unknown}; expected {', '.join(fields)}")
    Postprocessing(**changes)  # checks the values
    return changes


def image_input(layer, *, axes: str) -> tuple[np.ndarray, str]:
    """Return the data of the image `layer` and its axes, for a model taking images of `axes`.

    An RGB(A) layer is ``YXC`` (a 2D model averages the channels); other layers are
    ``YX`` or ``ZYX`` by their dimensions.

    Raises
    ------
    InputError
        If the layer is multiscale, or its axes are not the model's.
    """
    if layer.multiscale:
        raise InputError(f"image layer {layer.name!r}: multiscale; segment one of its levels as a layer of its own")
    data = np.asarray(layer.data)
    found = "YXC" if layer.rgb else {2: "YX", 3: "ZYX"}.get(data.ndim, f"{data.ndim} dimensions")
    if found.replace("C", "") != axes:
        raise InputError(f"image layer {layer.name!r}: {found}; the model segments {axes} images")
    return data, found


def segment_widget(napari_viewer=None):
    """Return the Segment dock widget (a magicgui ``Container``) adding layers to `napari_viewer`.

    napari calls a plugin's widget factory without arguments, so the viewer is by
    default ``napari.current_viewer()``.

    Examples
    --------
    >>> import napari  # doctest: +SKIP
    >>> viewer = napari.Viewer()  # doctest: +SKIP
    >>> viewer.window.add_dock_widget(segment_widget(viewer), name="Segment")  # doctest: +SKIP
    """
    import napari
    from magicgui.widgets import CheckBox, ComboBox, Container, LineEdit, SpinBox

    from synthscope.napari.running import BackgroundRun, layer_choices

    viewer = napari_viewer or napari.current_viewer()

    image = ComboBox(name="image", choices=layer_choices(viewer, napari.layers.Image))
    model = LineEdit(name="model", value=DEFAULT_MODEL, tooltip="a bundled segmentation model or a model folder")
    refine = CheckBox(name="refine", text="diffusion refinement of the coarse mask", value=True)
    ensemble = SpinBox(name="ensemble", min=0, max=64, value=0, tooltip="refinement draws; 0: the model's")
    strength = SpinBox(name="strength", min=0, max=1000, value=0, tooltip="noise level of 1000; 0: the model's")
    steps = SpinBox(name="steps", min=0, max=1000, value=0, tooltip="network evaluations per draw; 0: the model's")
    seed = SpinBox(name="seed", min=0, max=2**31 - 1, value=0)
    postprocessing = LineEdit(
        name="postprocessing", value="", tooltip="YAML, e.g. opening: 1, min_size: 32; empty: the model's"
    )
    coarse = CheckBox(name="coarse", text="add the coarse mask", value=False)
    run = BackgroundRun("segment", "Segment")
    widget = Container(
        widgets=[image, model, refine, ensemble, strength, steps, seed, postprocessing, coarse, *run.widgets]
    )
    widget.native.setObjectName("synthscope-segment")

    def start():
        layer = image.value
        try:
            if layer is None:
                raise InputError("no image layer to segment")
            changes = postprocessing_changes(postprocessing.value)
            segmenter = Segmenter.load(model.value)
            data, axes = image_input(layer, axes=segmenter.config.axes)
        except InputError as error:
            run.fail(error)
            return
        config = segmenter.config  # `Segmenter.__call__` takes no postprocessing: this run's copy is changed
        segmenter.config = dataclasses.replace(
            config, postprocessing=dataclasses.replace(config.postprocessing, **changes)
        )
        options = {"ensemble": ensemble.value, "t_start": strength.value, "steps": steps.value}
        options = {key: value or None for key, value in options.items()}  # 0: the model's
        options.update(axes=axes, refine=refine.value, rng=seed.value)
        with_coarse = coarse.value

        def compute(callback):
            return segmenter(data, callback=callback, **options)

        def add_layers(result):
            placed = {"scale": layer.scale, "translate": layer.translate}
            viewer.add_image(
                result.uncertainty,
                name=f"{layer.name} uncertainty",
                colormap="magma",
                blending="additive",
                contrast_limits=(0.0, 1.0),
                **placed,
            )
            if with_coarse:
                mask = (result.coarse > segmenter.config.refinement.threshold).astype(np.uint8)
                viewer.add_labels(mask, name=f"{layer.name} coarse mask", **placed)
            metadata = {"synthscope": {"axes": result.axes, "stacked": False}, "segmentation": result.record}
            viewer.add_labels(result.labels, name=f"{layer.name} labels", metadata=metadata, **placed)
            return f"{len(np.unique(result.labels)) - 1} objects in {layer.name}"

        run.start(compute, add_layers, busy="segmenting...")

    run.button.clicked.connect(start)
    return widget
