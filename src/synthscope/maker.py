"""Items in memory: item ``index`` of a preset's data set, without writing one.

`ItemMaker` holds a checked preset and its loaded refinement model, and makes any item of
the data set `synthscope.generate` would write with the same preset, settings and `rng`,
equal byte for byte; `make_item` is the one-off form. This is the API that a parallel
backend, a viewer plugin or a web interface calls.
"""

import numpy as np

import synthscope
from synthscope.errors import InputError
from synthscope.item import Item
from synthscope.phantoms import load_preset, sketch_item
from synthscope.refine import RefineSpec, load_model, refine_item
from synthscope.seeds import item_seed


class ItemMaker:
    """Makes the items of a preset's data set, with the refinement model loaded once.

    Parameters
    ----------
    preset : str or path
        A bundled preset name (see `synthscope.phantoms.preset_names`) or a YAML file.
    rng : int or numpy.random.Generator
        The base seed of the data set; item ``i`` depends only on ``(rng, i)``. A Generator
        is drawn from once for the base seed.
    settings : dict, optional
        Preset overrides by dotted key, e.g. ``{"nuclei.count": 30, "refine.model": None}``.

    Attributes
    ----------
    preset : dict
        The checked preset (`synthscope.phantoms.load_preset`).
    refine : RefineSpec
        Its ``refine`` section.
    denoiser : synthscope.diffusion.Denoiser or None
        The loaded model, None when the preset makes sketches only.
    seed : int
        The base seed.

    Raises
    ------
    InputError
        For an unknown preset or setting, or a model the settings cannot use, before any work.

    Examples
    --------
    >>> maker = ItemMaker("nuclei-2d", rng=0, settings={"refine.model": None, "shape": [64, 64]})
    >>> item = maker(3)
    >>> item.sketch.shape, item.image is None
    ((64, 64), True)
    >>> bool((maker(3).labels == item.labels).all())
    True
    """

    def __init__(self, preset, *, rng: "int | np.random.Generator" = 0, settings: dict | None = None):
        self.seed = _base_seed(rng)
        self.preset = load_preset(preset, settings=settings)
        self.refine = RefineSpec.from_mapping(self.preset["refine"])
        self.denoiser, self._model = load_model(self.refine)

    def item_seed(self, index: int) -> int:
        """The seed of item `index` (`synthscope.seeds.item_seed` of the base seed)."""
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or index < 0:
            raise InputError(f"an item index is a non-negative integer, got {index!r}")
        return item_seed(self.seed, int(index))

    def __call__(self, index: int) -> Item:
        """Return item `index`: drawn, sketched and, when the preset names a model, refined."""
        seed = self.item_seed(index)
        item = sketch_item(self.preset, rng=seed)
        if self.denoiser is None:
            return item
        polarity = "dark" if self.preset["render"].get("modality") == "tem" else "bright"
        return refine_item(item, self.denoiser, self.refine, rng=seed, polarity=polarity)

    @property
    def info(self) -> dict:
        """What made the data set, as its ``dataset.json`` records it."""
        return {
            "generator": "synthscope.generate",
            "preset": self.preset,
            "seed": self.seed,
            "version": synthscope.__version__,
            "model": self._model,
            "refined": self.denoiser is not None,
        }


def make_item(preset, index: int, *, rng: "int | np.random.Generator" = 0, settings: dict | None = None) -> Item:
    """Return item `index` of the data set ``synthscope.generate(preset, rng=rng, settings=settings)`` writes.

    Loads the preset and its model on every call; to make many items, call an `ItemMaker`.

    Examples
    --------
    >>> item = make_item("cilia-oda-absent", 0, settings={"refine.model": None})
    >>> item.metadata["diagnostic_class"], item.sketch.shape
    ('oda-absent', (512, 512))
    """
    return ItemMaker(preset, rng=rng, settings=settings)(index)


def _base_seed(rng):
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(2**63))
    if isinstance(rng, bool) or not isinstance(rng, (int, np.integer)) or rng < 0:
        raise InputError(f"rng must be a non-negative integer or a numpy Generator, got {rng!r}")
    return int(rng)
