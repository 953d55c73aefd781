"""Predicting the 3D shape of every object of a 2D instance mask, at its physical size."""

import dataclasses
import os
from collections.abc import Callable

import numpy as np

from synthscope.checks import check_finite, check_number, check_spacing
from synthscope.diffusion import Denoiser
from synthscope.errors import InputError
from synthscope.shape3d.cells import grid_input, typical_diameter
from synthscope.shape3d.features import feature_spread, feature_table, shape_features
from synthscope.shape3d.geometry import Frame, from_grid
from synthscope.shape3d.model import binary_shape, load_shape_model, sample_shapes


@dataclasses.dataclass
class ShapePrediction:
    """The predicted 3D shapes of a 2D image's objects.

    Attributes
    ----------
    labels : numpy.ndarray
        ``(Z, Y, X)`` uint16 (uint32 above 65,535): each object's binary shape
        (`synthscope.shape3d.model.binary_shape`: the ensemble's most probable voxels, as
        many as a member has) under its 2D label id; the 2D section is the middle plane
        ``Z // 2`` (Z is odd).
    probability : numpy.ndarray
        ``(Z, Y, X)`` float32: the ensemble's mean shape (where objects meet, the larger).
    uncertainty : numpy.ndarray
        ``(Z, Y, X)`` float32: the ensemble's per-voxel variance (of the object whose
        mean shape is shown in `probability`).
    features : list of dict
        Per object: ``label``, the `synthscope.shape3d.features.FEATURES` of its binary
        shape (whole, as predicted on the grid), ``{feature}_mean`` / ``{feature}_sd`` over
        the ensemble's members, and ``cut``: whether its 2D mask touches the image's edge
        (its section was completed beyond the edge by
        `synthscope.shape3d.cells.complete_at_edge`, with the median diameter of the
        objects away from the edge; its shape in `labels` is cut there).
    members : list of dict
        Per object and member: ``label``, ``member`` and the features of that member.
    spacing : dict
        Voxel size of the volumes per axis (``Z``, ``Y``, ``X``; um).
    grids : dict
        Per label: ``(image, mask, draws)`` on the model's grid (the input and the
        ensemble's soft shapes), for pictures and checks.
    """

    labels: np.ndarray
    probability: np.ndarray
    uncertainty: np.ndarray
    features: list
    members: list
    spacing: dict
    grids: dict


def predict(
    image: np.ndarray,
    labels: np.ndarray,
    *,
    model: str | os.PathLike | Denoiser = "shape3d-nuclei",
    ensemble: int = 5,
    steps: int = 20,
    spacing=None,
    diameter: float | None = None,
    rng: int = 0,
    bf16: bool | None = None,
    callback: Callable[..., None] | None = None,
) -> ShapePrediction:
    """Return the predicted 3D shape of every object of `labels`, put back at its physical size.

    Each object is cropped around its 2D mask and scaled onto the model's grid (its
    equivalent diameter a fixed fraction of the grid), an ensemble of shapes is drawn,
    and the shapes are resampled into a volume whose planes are `spacing`'s z apart. An
    object cut by the image's edge is completed beyond it first
    (`synthscope.shape3d.cells.complete_at_edge`: an ellipse fitted to its boundary, or the
    circle of the typical object's diameter), and its predicted shape is cut at the edge.

    Parameters
    ----------
    image : numpy.ndarray
        The 2D image (``YX``), any real dtype (each object's crop is mapped to [0, 1] by
        percentiles, as the model's training cells were).
    labels : numpy.ndarray
        2D instance labels of `image`'s shape, 0 = background.
    model : str, path or Denoiser
        A shape model: a bundled name, a model folder, or a loaded model.
    ensemble : int
        Shapes drawn per object (their spread is the uncertainty).
    steps : int
        Network evaluations per shape (DPM-Solver++).
    spacing : None, float, sequence or dict
        Voxel size ``(Z, Y, X)`` in um of the output volume; Y and X are the image's
        pixel size and must be equal. 1 um everywhere when None.
    diameter : float, optional
        Equivalent diameter (pixels) of a typical whole object, which completes the
        objects cut by the image's edge. When None, that of `labels`
        (`synthscope.shape3d.cells.typical_diameter`: the median over the objects away
        from the edge; none when every object touches it). Give it when `labels` holds
        only some of the image's objects, e.g. one chosen cell.
    rng : int
        Object i's ensemble is drawn with the seed ``rng + label``.
    bf16 : bool, optional
        bfloat16 autocast; automatic when None.
    callback : callable, optional
        ``callback(done, total, label=...)`` after each object.

    Returns
    -------
    ShapePrediction

    Examples
    --------
    >>> import dataclasses
    >>> from synthscope.shape3d.model import SHAPE_MODEL
    >>> net = Denoiser(dataclasses.replace(SHAPE_MODEL, channels=(8, 8, 8), patch_size=(16, 16, 16))).eval()
    >>> labels = np.zeros((40, 60), np.uint16); labels[5:15, 5:20] = 1; labels[20:35, 30:50] = 2
    >>> result = predict(labels * 1.0, labels, model=net, ensemble=2, steps=2, spacing=(2.0, 1.0, 1.0))
    >>> result.labels.shape[1:], result.labels.shape[0] % 2, [row["label"] for row in result.features]
    ((40, 60), 1, [1, 2])
    """
    image = check_finite(np.asarray(image), "image")
    labels = np.asarray(labels)
    if image.ndim != 2 or labels.shape != image.shape:
        raise InputError(f"image and labels: expected two 2D arrays of one shape, got {image.shape} and {labels.shape}")
    if labels.dtype.kind not in "iub" or labels.min(initial=0) < 0:
        raise InputError("labels: expected non-negative integer instance labels")
    ids = [int(i) for i in np.unique(labels) if i]
    if not ids:
        raise InputError("labels: no object to predict (all background)")
    spacing = check_spacing(spacing, 3)
    if spacing[1] != spacing[2]:
        raise InputError(f"spacing: Y and X must be equal (square pixels), got {spacing[1:]}")
    check_number(ensemble, "ensemble", low=1, high=64, integer=True)
    if diameter is not None:
        check_number(diameter, "diameter", low=0, low_open=True)
    model = model if isinstance(model, Denoiser) else load_shape_model(model)
    size = model.config.patch_size[0]
    z_ratio = spacing[0] / spacing[2]
    if diameter is None:
        diameter = typical_diameter(labels)  # completes the sections cut by the image's edge
    inputs = {i: grid_input(image, labels == i, size=size, diameter=diameter) for i in ids}
    depth = max(int(np.ceil(size / (frame.scale * z_ratio))) for _, _, frame in inputs.values()) | 1
    shape = (depth, *image.shape)
    z_center = (depth - 1) / 2
    probability = np.zeros(shape, np.float32)
    uncertainty = np.zeros(shape, np.float32)
    features, members, grids, shapes = [], [], {}, {}
    edge = np.ones(labels.shape, bool)
    edge[1:-1, 1:-1] = False
    for done, (label, (picture, mask, frame)) in enumerate(inputs.items(), 1):
        draws = sample_shapes(model, picture, mask, ensemble=ensemble, steps=steps, rng=rng + label, bf16=bf16)
        grids[label] = (picture, mask, draws)
        voxel = spacing[2] / frame.scale  # um per grid voxel
        mean, shapes[label] = draws.mean(axis=0), binary_shape(draws)
        rows = feature_table(draws > 0.5, spacing=voxel, keys={"label": label})
        members += rows
        cut = bool(np.any(edge[labels == label]))
        features.append(
            {"label": label, **shape_features(shapes[label], spacing=voxel), **feature_spread(rows), "cut": cut}
        )
        box, local = footprint(frame, shape, z_ratio)
        soft = from_grid(mean, local, tuple(s.stop - s.start for s in box), z_center=z_center, z_ratio=z_ratio)
        spread = from_grid(draws.var(axis=0), local, soft.shape, z_center=z_center, z_ratio=z_ratio)
        larger = soft > probability[box]
        probability[box] = np.where(larger, soft, probability[box])
        uncertainty[box] = np.where(larger, spread, uncertainty[box])
        if callback is not None:
            callback(done, len(ids), label=label)
    volume = np.zeros(shape, np.uint16 if max(ids) <= 65535 else np.uint32)
    for label, (_, _, frame) in inputs.items():
        box, local = footprint(frame, shape, z_ratio)
        soft = from_grid(
            grids[label][2].mean(axis=0), local, probability[box].shape, z_center=z_center, z_ratio=z_ratio
        )
        inside = from_grid(shapes[label].astype(np.float32), local, soft.shape, z_center=z_center, z_ratio=z_ratio)
        volume[box] = np.where((inside > 0.5) & (soft >= probability[box]), label, volume[box])
    return ShapePrediction(
        labels=volume,
        probability=probability,
        uncertainty=uncertainty,
        features=features,
        members=members,
        spacing={"Z": spacing[0], "Y": spacing[1], "X": spacing[2]},
        grids=grids,
    )


def footprint(frame: Frame, shape, z_ratio: float) -> tuple[tuple, Frame]:
    """Return the box (slices) of a volume of `shape` that the cell's grid covers, and the frame relative to it.

    Examples
    --------
    >>> box, local = footprint(Frame(center=(50.0, 50.0), scale=1.0, size=16), (9, 100, 100), 1.0)
    >>> box[1], local.center
    (slice(41, 60, None), (9.0, 9.0))
    """
    reach = (frame.size / 2 + 1) / frame.scale
    y0, x0 = (max(int(np.floor(c - reach)), 0) for c in frame.center)
    y1, x1 = (min(int(np.ceil(c + reach)) + 1, n) for c, n in zip(frame.center, shape[1:]))
    box = (slice(0, shape[0]), slice(y0, y1), slice(x0, x1))
    return box, Frame(center=(frame.center[0] - y0, frame.center[1] - x0), scale=frame.scale, size=frame.size)
