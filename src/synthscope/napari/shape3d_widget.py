"""The Shape 3D dock widget: the 3D shapes of a 2D Labels layer's cells, by `synthscope.shape3d.predict`.

Image layer, Labels layer, one label (or all), ensemble size, steps, model, z spacing and
seed -> one 3D Labels layer, each cell's binary shape under its 2D label id at the cell's
place (the volume `predict` returns: its middle plane is the 2D section and lies at z = 0,
on the 2D layers), the ensemble's per-voxel variance as an Image layer, and the per-cell
features with their ensemble spread, as that Labels layer's ``features`` (shown on hover)
and in a table in the widget. The input is checked and the model loaded on the GUI thread;
the prediction runs in a napari thread worker (`synthscope.napari.running`). A cell cut
by the image's edge is completed by the typical size of all the layer's cells, also when
one cell is chosen. napari, Qt and
magicgui are imported inside `shape3d_widget`.
"""

import numpy as np

from synthscope.errors import InputError
from synthscope.shape3d import predict
from synthscope.shape3d.cells import typical_diameter
from synthscope.shape3d.model import load_shape_model

#: The model the widget proposes.
DEFAULT_MODEL = "shape3d-nuclei"


def cell_input(image_layer, labels_layer, *, label: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Return the 2D image and the labels of the cells to predict (`label`, or all when 0).

    Raises
    ------
    InputError
        If a layer is not 2D (an RGB or multiscale image, a volume), the two differ in
        shape, or `label` is not in the labels.
    """
    for layer in (image_layer, labels_layer):
        if layer.multiscale or getattr(layer, "rgb", False) or layer.ndim != 2:
            raise InputError(f"layer {layer.name!r}: expected a 2D single-channel layer (YX)")
    image, labels = np.asarray(image_layer.data), np.asarray(labels_layer.data)
    if image.shape != labels.shape:
        raise InputError(f"image {image_layer.name!r} is {image.shape}, labels {labels_layer.name!r} {labels.shape}")
    if label:
        if not (labels == label).any():
            raise InputError(f"labels layer {labels_layer.name!r}: has no label {label}")
        labels = np.where(labels == label, labels, 0)
    return image, labels


def features_columns(features: list[dict]) -> dict:
    """Return per-cell feature rows as columns, ``index`` (the label ids) first: a napari ``features`` table.

    Examples
    --------
    >>> features_columns([{"label": 3, "volume": 9.5}, {"label": 7, "volume": 4.0}])
    {'index': [3, 7], 'volume': [9.5, 4.0]}
    """
    columns = {"index": [row["label"] for row in features]}
    columns.update({key: [row[key] for row in features] for key in features[0] if key != "label"})
    return columns


def shape3d_widget(napari_viewer=None):
    """Return the Shape 3D dock widget (a magicgui ``Container``) adding layers to `napari_viewer`.

    napari calls a plugin's widget factory without arguments, so the viewer is by
    default ``napari.current_viewer()``.

    Examples
    --------
    >>> import napari  # doctest: +SKIP
    >>> viewer = napari.Viewer()  # doctest: +SKIP
    >>> viewer.window.add_dock_widget(shape3d_widget(viewer), name="Shape 3D")  # doctest: +SKIP
    """
    import napari
    from magicgui.widgets import ComboBox, Container, FloatSpinBox, LineEdit, SpinBox, Table

    from synthscope.napari.running import BackgroundRun, layer_choices

    viewer = napari_viewer or napari.current_viewer()

    image = ComboBox(name="image", choices=layer_choices(viewer, napari.layers.Image))
    labels = ComboBox(name="labels", choices=layer_choices(viewer, napari.layers.Labels))
    label = SpinBox(name="label", min=0, max=2**31 - 1, value=0, tooltip="one cell's label id; 0: every cell")
    ensemble = SpinBox(name="ensemble", min=1, max=64, value=5, tooltip="shapes drawn per cell: their spread")
    steps = SpinBox(name="steps", min=1, max=1000, value=20, tooltip="network evaluations per shape")
    model = LineEdit(name="model", value=DEFAULT_MODEL, tooltip="a bundled shape model or a model folder")
    z_spacing = FloatSpinBox(
        name="z_spacing", min=0.0, max=1000.0, step=0.1, value=0.0, tooltip="um between planes; 0: the pixel size"
    )
    seed = SpinBox(name="seed", min=0, max=2**31 - 1, value=0)
    run = BackgroundRun("predict", "Predict 3D shapes")
    table = Table(name="features")
    widget = Container(widgets=[image, labels, label, ensemble, steps, model, z_spacing, seed, *run.widgets, table])
    widget.native.setObjectName("synthscope-shape3d")

    def start():
        image_layer, labels_layer = image.value, labels.value
        try:
            if image_layer is None or labels_layer is None:
                raise InputError("choose an image layer and a labels layer")
            picture, cells = cell_input(image_layer, labels_layer, label=label.value)
            shape_model = load_shape_model(model.value)
        except InputError as error:
            run.fail(error)
            return
        pixel = tuple(float(s) for s in image_layer.scale)
        spacing = (z_spacing.value or pixel[1], *pixel)
        options = {"model": shape_model, "ensemble": ensemble.value, "steps": steps.value, "rng": seed.value}
        options["diameter"] = typical_diameter(np.asarray(labels_layer.data))  # of every cell, not the chosen one

        def compute(callback):
            return predict(picture, cells, spacing=spacing, callback=callback, **options)

        def add_layers(result):
            scale = tuple(result.spacing[axis] for axis in "ZYX")
            middle = result.labels.shape[0] // 2
            placed = {"scale": scale, "translate": (-middle * scale[0], *image_layer.translate)}
            name = f"{labels_layer.name} 3D"
            columns = features_columns(result.features)
            viewer.add_image(
                result.uncertainty, name=f"{name} uncertainty", colormap="magma", blending="additive", **placed
            )
            viewer.add_labels(result.labels, name=name, features=columns, **placed)
            table.value = {"label": columns["index"], **{k: v for k, v in columns.items() if k != "index"}}
            return f"3D shapes of {len(result.features)} cells of {labels_layer.name}"

        run.start(compute, add_layers, busy="predicting...")

    run.button.clicked.connect(start)
    return widget
