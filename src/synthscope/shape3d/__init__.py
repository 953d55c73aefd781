"""2D image + mask -> 3D shape, by a conditional 3D diffusion model (DISPR's idea) on a CPU.

A cell's 2D section (its image and mask) is cropped and scaled onto the model's grid
(`geometry`), an ensemble of 3D shapes is drawn in one batch by DPM-Solver++ (`model`),
and the mean shape, its binary mask and the per-voxel variance are put back at the
cell's physical size (`predict`). `features` measures any 3D shape; `baselines` are the
geometric guesses a prediction must beat; `cells` makes training cells from the 3D
phantoms and `train` trains a model on them.
"""

from synthscope.shape3d.cells import Cells, phantom_cells
from synthscope.shape3d.features import FEATURES, feature_table, shape_features
from synthscope.shape3d.predict import ShapePrediction, predict
from synthscope.shape3d.train import ShapeTraining, train_shape3d

__all__ = [
    "FEATURES",
    "Cells",
    "ShapePrediction",
    "ShapeTraining",
    "feature_table",
    "phantom_cells",
    "predict",
    "shape_features",
    "train_shape3d",
]
