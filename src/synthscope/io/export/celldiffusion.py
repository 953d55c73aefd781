"""Export to CellDiffusion's HDF5 files and semicolon-separated file lists.

Each frame becomes ``{name}.h5`` holding ``data/image`` and the training targets
``data/instances``, ``data/boundary``, ``data/distance`` and ``data/seeds``, made as
in the CellDiffusion data preparation. ``train.csv``, ``val.csv`` and ``test.csv``
list ``image file;mask file`` per line (here the same file, which holds both).
"""

import csv
import io

import numpy as np
from scipy import ndimage as ndi

from synthscope.errors import InputError
from synthscope.io._atomic import write_text
from synthscope.io.export._common import all_or_nothing, frames, open_export
from synthscope.io.hdf5 import write_celldiffusion
from synthscope.io.image import ImageData


@all_or_nothing
def to_celldiffusion(dataset_root, out, *, split=(0.8, 0.1, 0.1), rng=0):
    """Write every frame of a data set as a CellDiffusion HDF5 file, split three ways.

    Parameters
    ----------
    dataset_root : path-like
        A data set written by `synthscope.io.DatasetWriter`.
    out : path-like
        A new or empty folder.
    split : tuple of float, optional
        Fractions of files for training, validation and test; they must sum to 1.
    rng : int or numpy.random.Generator, optional
        Draws the split.

    Returns
    -------
    out : Path
    """
    if len(split) != 3 or min(split) < 0 or not np.isclose(sum(split), 1.0):
        raise InputError(f"split {tuple(split)}: give three non-negative fractions (train, val, test) that sum to 1")
    dataset, out = open_export(dataset_root, out)
    names = []
    for frame in frames(dataset):
        write_celldiffusion(
            out / f"{frame.name}.h5",
            ImageData(frame.image, frame.image_axes, frame.spacing),
            **celldiffusion_targets(frame.labels),
        )
        names.append(f"{frame.name}.h5")
    order = np.random.default_rng(rng).permutation(len(names))
    n_val, n_test = (int(fraction * len(names)) for fraction in split[1:])  # rounded down, as CellDiffusion does
    parts = {"val": order[:n_val], "test": order[n_val : n_val + n_test], "train": order[n_val + n_test :]}
    for part, indices in parts.items():
        text = io.StringIO()
        csv.writer(text, delimiter=";", lineterminator="\n").writerows([names[i], names[i]] for i in sorted(indices))
        write_text(out / f"{part}.csv", text.getvalue())
    return out


def celldiffusion_targets(labels):
    """Return CellDiffusion's training targets for an instance label image (2D or 3D).

    Returns
    -------
    targets : dict of str to ndarray
        ``instances`` (the labels), ``boundary`` (1 within two pixels outside each
        object, float32), ``distance`` (signed Euclidean distance to the
        foreground edge, positive inside, float32) and ``seeds`` (1 at the
        centroid of each object, float32).

    Examples
    --------
    >>> labels = np.zeros((7, 7), np.uint16)
    >>> labels[2:5, 2:5] = 1
    >>> targets = celldiffusion_targets(labels)
    >>> targets["seeds"][3, 3], targets["distance"][3, 3], targets["boundary"][0, 3]
    (np.float32(1.0), np.float32(2.0), np.float32(1.0))
    """
    offsets = np.indices((5,) * labels.ndim) - 2
    ball = (offsets**2).sum(axis=0) <= 4
    boundary = ndi.grey_dilation(labels, footprint=ball) != labels
    foreground = labels > 0
    distance = ndi.distance_transform_edt(foreground) - ndi.distance_transform_edt(~foreground)
    seeds = np.zeros(labels.shape, np.float32)
    ids = np.unique(labels[foreground])
    if ids.size:
        centroids = np.array(ndi.center_of_mass(foreground, labels, ids)).astype(np.int64)
        seeds[tuple(centroids.T)] = 1
    return {
        "instances": labels,
        "boundary": boundary.astype(np.float32),
        "distance": distance.astype(np.float32),
        "seeds": seeds,
    }
