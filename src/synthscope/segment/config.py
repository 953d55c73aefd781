"""`SegmenterConfig`: everything a segmentation model folder says about itself, as JSON."""

import dataclasses

from synthscope.errors import InputError
from synthscope.segment.coarse import CoarseConfig
from synthscope.segment.postprocess import Postprocessing
from synthscope.segment.preprocess import Preprocessing
from synthscope.segment.refiner import Refinement

# The nested specs, by field name.
_PARTS = {
    "coarse": CoarseConfig,
    "preprocessing": Preprocessing,
    "postprocessing": Postprocessing,
    "refinement": Refinement,
}


@dataclasses.dataclass(frozen=True)
class SegmenterConfig:
    """The settings of a segmentation model: its coarse network and its default processing.

    The refiner's own network config lives beside it (``refiner/config.json``, a
    `synthscope.diffusion.DenoiserConfig`).

    Parameters
    ----------
    coarse : CoarseConfig
    preprocessing : Preprocessing
    postprocessing : Postprocessing
    refinement : Refinement
        Defaults of a call; `Segmenter.__call__` may change strength, steps and ensemble.

    Examples
    --------
    >>> config = SegmenterConfig(coarse=CoarseConfig(channels=(8, 8, 8), patch_size=(16, 16)))
    >>> SegmenterConfig.from_dict(config.to_dict()) == config
    True
    >>> config.axes
    'YX'
    """

    coarse: CoarseConfig = CoarseConfig()
    preprocessing: Preprocessing = Preprocessing()
    postprocessing: Postprocessing = Postprocessing()
    refinement: Refinement = Refinement()

    @property
    def axes(self) -> str:
        """The spatial axes of the images the model takes."""
        return "ZYX"[-self.coarse.spatial_dims :]

    def to_dict(self) -> dict:
        """Return the config as a JSON-ready dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "SegmenterConfig":
        """Build a config from `data` (e.g. a parsed ``config.json``); unknown keys are an error.

        A refinement without a ``formulation`` is continuous (the only one before it was recorded).
        """
        parts = {}
        for name, value in data.items():
            if name not in _PARTS:
                raise InputError(f"segmenter config: unknown section {name!r}; expected {sorted(_PARTS)}")
            part = _PARTS[name]
            unknown = sorted(set(value) - {f.name for f in dataclasses.fields(part)})
            if unknown:
                raise InputError(f"segmenter config: unknown keys in {name}: {unknown}")
            if name == "refinement":  # folders written before the discrete formulation existed
                value = {"formulation": "continuous", **value}
            parts[name] = part(**value)
        return cls(**parts)
