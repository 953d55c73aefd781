"""The small fixed segmenter of the downstream benchmark, for 2D and 3D images.

A MONAI ``UNet`` predicts for every pixel one of three classes: background, object
interior, object boundary (the inner rim of every object, so that touching objects are
separated). Instances are the connected interiors grown by a watershed over the
boundary probability into the foreground. Training draws random patches with flips and
right-angle rotations for a fixed number of steps under bfloat16 autocast, so a budget
means the same work whatever the data.
"""

import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
from scipy import ndimage
from skimage.morphology import remove_small_objects
from skimage.segmentation import find_boundaries, relabel_sequential, watershed

from synthscope.errors import InputError
from synthscope.intensity import percentile_normalize
from synthscope.nets import segmentation_unet

if TYPE_CHECKING:
    import torch

BACKGROUND, INTERIOR, BOUNDARY = 0, 1, 2
# The thin boundary class is rare; weighting it keeps touching objects apart.
CLASS_WEIGHTS = (1.0, 1.0, 5.0)
# Every image the segmenter sees, in training and in `segment`, is mapped to [0, 1] by these.
PERCENTILES = (1.0, 99.8)


@dataclasses.dataclass(frozen=True)
class SegmenterNetwork:
    """The judge's network, every setting of `synthscope.nets.segmentation_unet` written out.

    The benchmark owns these values, so that a new default in `synthscope.nets` (made
    for the product's own models) never moves the judge. Only `channels` is varied,
    by tests that need a tiny network.

    Examples
    --------
    >>> SegmenterNetwork().build(2, rng=0).channels
    (16, 32, 64, 128)
    """

    channels: tuple[int, ...] = (16, 32, 64, 128)
    in_channels: int = 1
    out_channels: int = 3  # BACKGROUND, INTERIOR, BOUNDARY
    num_res_units: int = 1

    def build(self, spatial_dims: int, *, rng: int | np.random.Generator) -> "torch.nn.Module":
        """Return the untrained network for `spatial_dims`, its weights drawn from `rng`."""
        return segmentation_unet(
            spatial_dims,
            in_channels=self.in_channels,
            out_channels=self.out_channels,
            channels=self.channels,
            strides=(2,) * (len(self.channels) - 1),
            num_res_units=self.num_res_units,
            rng=rng,
        )


def three_classes(labels):
    """Return the background / interior / boundary classes (uint8) of instance `labels`.

    Examples
    --------
    >>> labels = np.zeros((5, 5), np.uint8); labels[1:4, 1:4] = 1
    >>> three_classes(labels)[2]
    array([0, 2, 1, 2, 0], dtype=uint8)
    """
    classes = (labels > 0).astype(np.uint8) * INTERIOR
    classes[find_boundaries(labels, mode="inner") & (labels > 0)] = BOUNDARY
    return classes


def _check_pairs(images, labels):
    if len(images) == 0 or len(images) != len(labels):
        raise InputError(f"need a label image for every image: got {len(images)} images and {len(labels)} label images")
    ndim = np.ndim(images[0])
    for i, (image, label) in enumerate(zip(images, labels)):
        if np.shape(image) != np.shape(label) or np.ndim(image) != ndim or ndim not in (2, 3):
            raise InputError(
                f"image {i} {np.shape(image)} and its labels {np.shape(label)} must share one 2D or 3D shape"
            )
        if not np.issubdtype(np.asarray(label).dtype, np.integer):
            raise InputError(f"label image {i} has dtype {np.asarray(label).dtype}; instance labels must be integers")
    return ndim


def _patch(image, classes, size, rng):
    """Return a random patch of side `size` (zero-padded where the image is smaller), flipped and rotated."""
    pad = [(0, max(size - s, 0)) for s in image.shape]
    image, classes = np.pad(image, pad), np.pad(classes, pad)
    corner = [rng.integers(0, s - size + 1) for s in image.shape]
    window = tuple(slice(c, c + size) for c in corner)
    image, classes = image[window], classes[window]
    for axis in range(image.ndim):
        if rng.random() < 0.5:
            image, classes = np.flip(image, axis), np.flip(classes, axis)
    turns = int(rng.integers(4))
    return np.rot90(image, turns, axes=(-2, -1)), np.rot90(classes, turns, axes=(-2, -1))


def train_segmenter(
    images: Sequence[np.ndarray],
    labels: Sequence[np.ndarray],
    *,
    steps: int = 600,
    batch_size: int = 8,
    patch_size: int = 96,
    channels: Sequence[int] = SegmenterNetwork.channels,
    learning_rate: float = 2e-3,
    sampling: Sequence[float] | None = None,
    rng: int | np.random.Generator = 0,
    callback: Callable[..., None] | None = None,
) -> "torch.nn.Module":
    """Train the three-class U-Net on annotated images for a fixed number of steps.

    Parameters
    ----------
    images : sequence of ndarray
        2D or 3D images (all of one dimension); each is mapped to [0, 1] by its own
        `PERCENTILES`.
    labels : sequence of ndarray of int
        Instance labels of the same shapes.
    steps, batch_size, patch_size : int, optional
        The training budget: `steps` Adam steps on batches of random patches of side
        `patch_size` (learning rate decays to 0 on a cosine).
    channels : sequence of int, optional
        Feature channels per U-Net level (each level halves the size); the rest of the
        network is `SegmenterNetwork`.
    learning_rate : float, optional
    sampling : sequence of float, optional
        Probability of drawing each image; by default every image is equally likely.
    rng : int or numpy.random.Generator, optional
        Seeds the weights and the patches.
    callback : callable, optional
        Called as ``callback(step, steps, loss=...)`` after every step.

    Returns
    -------
    model : torch.nn.Module
        The trained network, for `segment`.

    Examples
    --------
    >>> labels = np.zeros((32, 32), np.uint16); labels[4:14, 4:14] = 1; labels[18:28, 16:30] = 2
    >>> image = (labels > 0) + np.random.default_rng(0).normal(0, 0.1, labels.shape)
    >>> model = train_segmenter([image], [labels], steps=20, batch_size=2, patch_size=32, channels=(8, 8, 8))
    >>> found = segment(model, image)
    >>> found.shape, found.dtype
    ((32, 32), dtype('uint16'))
    """
    import torch

    ndim = _check_pairs(images, labels)
    if steps < 1 or batch_size < 1 or patch_size < 2 ** (len(channels) - 1):
        raise InputError(f"need steps >= 1, batch_size >= 1 and patch_size >= {2 ** (len(channels) - 1)}")
    if sampling is not None and (
        len(sampling) != len(images) or np.any(np.asarray(sampling) < 0) or not np.sum(sampling) > 0
    ):
        raise InputError("sampling needs one non-negative probability per image, not all zero")
    rng = np.random.default_rng(rng)
    images = [percentile_normalize(image, *PERCENTILES) for image in images]
    classes = [three_classes(np.asarray(label)) for label in labels]
    p = None if sampling is None else np.asarray(sampling, float) / np.sum(sampling)
    model = SegmenterNetwork(channels=tuple(channels)).build(ndim, rng=rng)
    weights = torch.tensor(CLASS_WEIGHTS)
    optimiser = torch.optim.Adam(model.parameters(), lr=learning_rate)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, steps)
    model.train()
    for step in range(1, steps + 1):
        picks = rng.choice(len(images), batch_size, p=p)
        batch = [_patch(images[i], classes[i], patch_size, rng) for i in picks]
        x = torch.from_numpy(np.stack([b[0] for b in batch])[:, None].copy())
        y = torch.from_numpy(np.stack([b[1] for b in batch]).astype(np.int64))
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits = model(x)
        loss = torch.nn.functional.cross_entropy(logits.float(), y, weight=weights)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        if callback is not None:
            callback(step, steps, loss=loss.item())
    return model.eval()


def segment(model: "torch.nn.Module", image: np.ndarray, *, min_size: int = 16) -> np.ndarray:
    """Return the instance labels the trained `model` finds in a 2D or 3D `image`.

    Seeds are the connected regions where the interior is the likeliest class; a
    watershed over the boundary probability grows them into the foreground (where
    background is not the likeliest class). Objects under `min_size` pixels are dropped.

    Returns
    -------
    labels : ndarray of uint16 (uint32 above 65,535 objects)
        Ids 1..N.
    """
    import torch

    image = percentile_normalize(image, *PERCENTILES)
    multiple = 2 ** (len(model.channels) - 1)
    pad = [(0, -s % multiple) for s in image.shape]
    x = torch.from_numpy(np.pad(image, pad, mode="reflect")[None, None].copy())
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        logits = model(x)
    crop = tuple(slice(0, s) for s in image.shape)
    prob = torch.softmax(logits.float(), 1)[0].numpy()[(slice(None),) + crop]
    winner = prob.argmax(0)
    seeds = remove_small_objects(ndimage.label(winner == INTERIOR)[0], max_size=min_size // 4)
    labels = watershed(prob[BOUNDARY], seeds, mask=winner != BACKGROUND)
    labels = relabel_sequential(remove_small_objects(labels, max_size=min_size - 1))[0]
    return labels.astype(np.uint16 if labels.max() < 2**16 else np.uint32)
