"""The napari plugin (npe2, manifest ``napari.yaml``): reader, writer, sample data and widgets.

Installed with ``pip install "synthscope[napari]"``. Only `synthscope.napari.widgets`
needs napari, Qt and magicgui, and imports them inside its functions; the reader, the
writer and the sample data turn items into napari's layer data (``(data, kwargs,
layer_type)`` tuples) with NumPy alone, through `synthscope.napari.layers`.
"""
