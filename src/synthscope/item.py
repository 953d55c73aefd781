"""`Item`: one annotated sample as it flows from phantom to data set."""

from dataclasses import dataclass, field

import numpy as np

from synthscope.axes import check_axes


@dataclass
class Item:
    """One annotated sample: instance labels, the images drawn from them, and metadata.

    Every stage takes an `Item` and returns a new one (``dataclasses.replace``); only
    `synthscope.io` writes one to disk.

    Parameters
    ----------
    labels : ndarray of uint16 or uint32
        Instance labels, 0 = background, objects 1..N. For time-lapse items the label
        image of every frame (ids follow the tracks).
    axes : str
        Axes of `labels`, e.g. ``"YX"``, ``"ZYX"``, ``"TYX"``. Never contains ``"C"``.
    sketch : ndarray of float32, optional
        The rendered sketch, values in [0, 1]. Same axes as `labels`, or ``"C" + axes``
        for multi-channel items.
    image : ndarray of float32, optional
        The refined image, values in [0, 1], laid out like `sketch`.
    classes : ndarray of uint8, optional
        Semantic class of every pixel (0 = background), named in `class_names`.
    class_names : dict of int to str
        The class table of `classes`.
    masks : dict of str to ndarray
        Further named masks laid out like `labels` (e.g. ``"membrane"``,
        ``"outer_arms"``); boolean or instance labels.
    tracks : ndarray of int, shape (N, 4), optional
        Cell Tracking Challenge lineage rows ``L B E P`` for time-lapse items.
    spacing : dict of str to float
        Physical pixel size per axis letter (micrometres; seconds for ``"T"``).
    metadata : dict
        JSON-serialisable facts about the item (generator parameters, diagnostic
        class, refinement report).

    Examples
    --------
    >>> import numpy as np
    >>> item = Item(labels=np.zeros((4, 5), np.uint16), axes="YX", sketch=np.zeros((2, 4, 5), np.float32))
    >>> item.image_axes, item.picture is item.sketch
    ('CYX', True)
    """

    labels: np.ndarray
    axes: str
    sketch: np.ndarray | None = None
    image: np.ndarray | None = None
    classes: np.ndarray | None = None
    class_names: dict = field(default_factory=dict)
    masks: dict = field(default_factory=dict)
    tracks: np.ndarray | None = None
    spacing: dict = field(default_factory=dict)
    metadata: dict = field(default_factory=dict)

    def __post_init__(self):
        check_axes(self.axes, self.labels.ndim, name="labels")
        if "C" in self.axes:
            raise ValueError("labels carry no channel axis; put channels in the sketch and image")

    @property
    def picture(self) -> np.ndarray | None:
        """What the item looks like: the refined `image` when there is one, else the `sketch`.

        None when the item has neither. It is what a data set stores in ``images/``.
        """
        return self.image if self.image is not None else self.sketch

    @property
    def image_axes(self) -> str:
        """Axes of `sketch` and `image`: `axes`, with ``"C"`` in front for multi-channel."""
        if self.picture is not None and self.picture.ndim == self.labels.ndim + 1:
            return "C" + self.axes
        return self.axes
