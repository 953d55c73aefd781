"""The plugin's sample data: items made on the fly by `synthscope.make_item`."""

from synthscope.maker import make_item
from synthscope.napari.layers import LayerData, item_layers


def nuclei_2d() -> list[LayerData]:
    """Item 0 of ``nuclei-2d``: a 256 x 256 fluorescence image refined by the bundled model, its sketch and labels.

    A few seconds on a CPU (the model is loaded and run for one image).
    """
    return item_layers([make_item("nuclei-2d", 0)], name="nuclei-2d")


def cilia() -> list[LayerData]:
    """Item 0 of ``cilia``: a TEM cross-section refined by `tem-cremi-2d`, its sketch, tubule labels and classes.

    Examples
    --------
    >>> [kwargs["name"] for _, kwargs, _ in cilia()][:3]
    ['cilia image', 'cilia sketch', 'cilia labels']
    """
    return item_layers([make_item("cilia", 0)], name="cilia")
