"""The plugin's dock widgets (magicgui): thin forms over the Python API.

``Generate``: preset, the main settings, seed and count -> the items as layers, made by a
`synthscope.ItemMaker` in a napari ``thread_worker`` with a progress bar and a Cancel
button. napari, Qt and magicgui are imported inside `generate_widget`, so that this module
(and its `generate_settings`) imports without them.
"""

import yaml

from synthscope.errors import InputError


def generate_settings(*, shape: str = "", refine: bool = True, steps: int = 0, more: str = "") -> dict:
    """Return the preset settings of the Generate form (the ``--set`` keys of ``synthscope generate``).

    Parameters
    ----------
    shape : str
        The image size, e.g. ``"128, 128"``; empty for the preset's.
    refine : bool
        Refine with the preset's model; False makes sketches only (``refine.model: null``).
    steps : int
        Network evaluations per item (``refine.steps``); 0 for the preset's.
    more : str
        Further settings as YAML, e.g. ``"nuclei.density: 0.3, render.blur: 2"``.

    Raises
    ------
    InputError
        If `shape` is not a list of numbers or `more` not ``key: value`` pairs.

    Examples
    --------
    >>> generate_settings(shape="64, 64", steps=4, more="nuclei.density: 0.3")
    {'nuclei.density': 0.3, 'shape': [64, 64], 'refine.steps': 4}
    >>> generate_settings(refine=False)
    {'refine.model': None}
    """
    try:
        settings = yaml.safe_load("{" + more + "}")
        size = yaml.safe_load("[" + shape + "]")
    except yaml.YAMLError:
        raise InputError(f"settings {more!r} or shape {shape!r}: expected key: value pairs and numbers") from None
    if not all(isinstance(n, int) for n in size):
        raise InputError(f"shape {shape!r}: expected whole numbers such as 256, 256")
    if size:
        settings["shape"] = size
    if not refine:
        settings["refine.model"] = None
    elif steps:
        settings["refine.steps"] = steps
    return settings


def generate_widget(napari_viewer=None):
    """Return the Generate dock widget (a magicgui ``Container``) adding layers to `napari_viewer`.

    napari calls a plugin's widget factory without arguments, so the viewer is by
    default ``napari.current_viewer()``.

    Examples
    --------
    >>> import napari  # doctest: +SKIP
    >>> viewer = napari.Viewer()  # doctest: +SKIP
    >>> viewer.window.add_dock_widget(generate_widget(viewer), name="Generate")  # doctest: +SKIP
    """
    import napari
    from magicgui.widgets import CheckBox, ComboBox, Container, Label, LineEdit, ProgressBar, PushButton, SpinBox
    from napari.qt.threading import create_worker
    from napari.utils.notifications import show_error

    viewer = napari_viewer or napari.current_viewer()

    from synthscope.napari.layers import item_layers
    from synthscope.phantoms import load_preset, preset_names

    preset = ComboBox(name="preset", choices=preset_names(), value="nuclei-2d")
    count = SpinBox(name="count", min=1, max=256, value=2)
    seed = SpinBox(name="seed", min=0, max=2**31 - 1, value=0)
    shape = LineEdit(name="shape", value="", tooltip="e.g. 256, 256; empty: the preset's")
    refine = CheckBox(name="refine", text="with the preset's model", value=True)
    steps = SpinBox(name="steps", min=0, max=1000, value=0, tooltip="network evaluations per item; 0: the preset's")
    more = LineEdit(name="settings", value="", tooltip="YAML, e.g. nuclei.density: 0.3, render.blur: 2")
    run, cancel = PushButton(name="generate", text="Generate"), PushButton(name="cancel", text="Cancel", enabled=False)
    progress, status = ProgressBar(name="items", min=0, max=1, value=0), Label(name="status", value="")
    widget = Container(widgets=[preset, count, seed, shape, refine, steps, more, run, cancel, progress, status])
    widget.native.setObjectName("synthscope-generate")
    running = []

    def finish(message):
        status.value = message
        run.enabled, cancel.enabled = True, False
        running.clear()

    def add_layers(items):
        for data, kwargs, kind in item_layers(items, name=preset.value):
            getattr(viewer, f"add_{kind}")(data, **kwargs)
        finish(f"{len(items)} items of {preset.value}")

    def fail(error):
        show_error(str(error))
        finish(f"error: {error}")

    def start():
        settings = generate_settings(shape=shape.value, refine=refine.value, steps=steps.value, more=more.value)
        try:
            load_preset(preset.value, settings=settings)  # bad input: refused here, before the thread starts
        except InputError as error:
            fail(error)
            return
        worker = create_worker(_make_items, preset.value, count=count.value, seed=seed.value, settings=settings)
        worker.yielded.connect(lambda done: setattr(progress, "value", done))
        worker.returned.connect(add_layers)
        worker.errored.connect(fail)
        worker.aborted.connect(lambda: finish("cancelled"))
        progress.max, progress.value = count.value, 0
        run.enabled, cancel.enabled = False, True
        status.value = "generating..."
        running.append(worker)
        worker.start()

    run.clicked.connect(start)
    cancel.clicked.connect(lambda: running and running[0].quit())
    return widget


def _make_items(preset, *, count, seed, settings):
    """Yield the number of items made after each; return the items (a generator, so `quit` stops it between items)."""
    from synthscope.maker import ItemMaker

    maker = ItemMaker(preset, rng=seed, settings=settings)
    items = []
    for index in range(count):
        items.append(maker(index))
        yield index + 1
    return items
