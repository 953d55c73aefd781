"""Random training patches, with the same random flips and rotations for image and condition."""

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from synthscope.errors import InputError
from synthscope.intensity import percentile_normalize


class PatchSampler:
    """Draws random, augmented patches from a list of images (and their conditions).

    Parameters
    ----------
    images : list of numpy.ndarray
        float images in [0, 1] (or any range with `percentiles`). The last
        ``len(patch_size)`` axes are spatial; with ``channels > 1`` the first axis is the
        channel axis; any other leading axes (Z of a volume for a 2D model, T) are a
        stack of images to draw from.
    patch_size : tuple of int
    conditions : list of numpy.ndarray, optional
        One per image, with the image's shape apart from the channel axis, plus an
        optional leading channel axis; in [0, 1] (masks, sketches). They get the same
        flips and rotations as the image, never the intensity jitter.
    channels : int
        Image channels.
    percentiles : tuple of float, optional
        Map each image to [0, 1] by these lower and upper percentiles (clipped); it is
        recorded in `normalisation` for the model config.
    augment : bool
        Random flips along every spatial axis and 90-degree rotations in the YX plane.
    jitter : float
        Mild intensity jitter of the image: ``x * U(1 - j, 1 + j) + U(-j/2, j/2)``, clipped.
    classes : list of int, optional
        One class label (a non-negative integer) per image, for a class-conditional model:
        every patch of an image has its class (`draw_with_classes`).

    Examples
    --------
    >>> sampler = PatchSampler([np.random.default_rng(0).random((40, 40))], patch_size=(16, 16))
    >>> images, conditions = sampler.draw(4, rng=0)
    >>> images.shape, images.dtype, conditions
    ((4, 1, 16, 16), dtype('float32'), None)
    >>> two = PatchSampler([np.zeros((16, 16)), np.ones((16, 16))], patch_size=(16, 16), jitter=0, classes=[0, 1])
    >>> images, _, classes = two.draw_with_classes(4, rng=0)
    >>> bool((images[:, 0, 0, 0] == classes).all()), classes.dtype
    (True, dtype('int64'))
    """

    def __init__(
        self,
        images: Sequence[np.ndarray],
        *,
        patch_size: Sequence[int],
        conditions: Sequence[np.ndarray] | None = None,
        channels: int = 1,
        percentiles: tuple[float, float] | None = None,
        augment: bool = True,
        jitter: float = 0.05,
        classes: Sequence[int] | None = None,
    ):
        self.patch_size, self.augment, self.jitter = tuple(int(p) for p in patch_size), augment, jitter
        if not images:
            raise InputError("patches: no training images")
        if conditions is not None and len(conditions) != len(images):
            raise InputError(f"conditions: expected one per image ({len(images)}), got {len(conditions)}")
        self.classes = None if classes is None else np.asarray(classes)
        if classes is not None and (
            self.classes.shape != (len(images),)
            or not np.issubdtype(self.classes.dtype, np.integer)
            or self.classes.min() < 0
        ):
            raise InputError(f"classes: expected one non-negative integer per image ({len(images)}), got {classes!r}")
        self.images = [self._stack(image, channels, percentiles, f"image {i}") for i, image in enumerate(images)]
        self.conditions = None
        if conditions is not None:
            self.conditions = []
            for i, (raw, image, condition) in enumerate(zip(images, self.images, conditions)):
                condition = np.asarray(condition, np.float32)
                extra = condition.ndim - (np.ndim(raw) - (channels != 1))  # 1: the condition has a channel axis
                stacked = self._stack(condition, condition.shape[0] if extra == 1 else 1, None, f"condition {i}")
                if stacked.shape[1:] != image.shape[1:]:
                    raise InputError(f"condition {i}: shape {condition.shape} does not match its image")
                self.conditions.append(stacked)
            if len({c.shape[0] for c in self.conditions}) > 1:
                raise InputError("conditions: all must have the same number of channels")
        self.condition_channels = 0 if self.conditions is None else self.conditions[0].shape[0]
        self.normalisation = {"method": "none"}
        if percentiles is not None:
            self.normalisation = {"method": "percentile", "low": percentiles[0], "high": percentiles[1]}

    @classmethod
    def from_folder(
        cls,
        folder: str | os.PathLike,
        *,
        patch_size: Sequence[int],
        pattern: str = "*.tif*",
        axes: str | None = None,
        **options,
    ) -> "PatchSampler":
        """Return a sampler over every image in `folder` matching `pattern` (read with `synthscope.io`,
        with `axes` for files that do not name theirs)."""
        from synthscope.io import read_image

        paths = sorted(Path(folder).glob(pattern))
        if not paths:
            raise InputError(f"{folder}: no images matching {pattern!r}")
        return cls([read_image(path, axes=axes).data for path in paths], patch_size=patch_size, **options)

    @classmethod
    def from_dataset(
        cls, root: str | os.PathLike, *, patch_size: Sequence[int], condition: str | None = None, **options
    ) -> "PatchSampler":
        """Return a sampler over the images of a synthscope data set.

        `condition` is None, ``"sketch"`` or ``"mask"`` (labels > 0), for training a model
        conditioned on it.
        """
        from synthscope.io import read_dataset

        if condition not in (None, "sketch", "mask"):
            raise InputError(f"condition: expected None, 'sketch' or 'mask', got {condition!r}")
        items = list(read_dataset(root))
        if not items:
            raise InputError(f"{root}: the data set has no complete items")
        images = [item.picture for item in items]
        conditions = None
        if condition is not None:
            conditions = [item.sketch if condition == "sketch" else (item.labels > 0) for item in items]
        return cls(images, patch_size=patch_size, conditions=conditions, **options)

    def draw(
        self, batch_size: int, *, rng: int | np.random.Generator | None = None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Return a batch ``(images, conditions)``, each ``(batch_size, channels, *patch_size)``
        float32 (`conditions` is None without conditions)."""
        return self.draw_with_classes(batch_size, rng=rng)[:2]

    def draw_with_classes(
        self, batch_size: int, *, rng: int | np.random.Generator | None = None
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """Return a batch ``(images, conditions, classes)``: those of `draw` and the class
        of each patch's image, int64 of shape ``(batch_size,)`` (None without classes).
        The same `rng` gives the same patches as `draw`."""
        rng = np.random.default_rng(rng)
        images, conditions, indices = [], [], []
        for _ in range(batch_size):
            index = rng.integers(len(self.images))
            indices.append(index)
            image = self.images[index]
            corner = [rng.integers(image.shape[1])] + [
                rng.integers(s - p + 1) for s, p in zip(image.shape[2:], self.patch_size)
            ]
            window = (slice(None), corner[0], *(slice(c, c + p) for c, p in zip(corner[1:], self.patch_size)))
            pair = [image[window]] + ([] if self.conditions is None else [self.conditions[index][window]])
            pair = self._augment(pair, rng) if self.augment else pair
            if self.jitter:
                scale, shift = (
                    rng.uniform(1 - self.jitter, 1 + self.jitter),
                    rng.uniform(-self.jitter / 2, self.jitter / 2),
                )
                pair[0] = np.clip(pair[0] * scale + shift, 0, 1)
            images.append(pair[0])
            conditions.extend(pair[1:])
        classes = None if self.classes is None else self.classes[indices].astype(np.int64)
        conditions = np.stack(conditions).astype(np.float32) if conditions else None
        return np.stack(images).astype(np.float32), conditions, classes

    def _augment(self, arrays, rng):
        axes = range(1, len(self.patch_size) + 1)
        flips = tuple(a for a in axes if rng.random() < 0.5)
        square = self.patch_size[-1] == self.patch_size[-2]
        turns = rng.integers(4) if square else 2 * rng.integers(2)
        return [np.rot90(np.flip(a, flips), turns, axes=(-2, -1)) for a in arrays]

    def _stack(self, array, channels, percentiles, name):
        """Return `array` as ``(channels, stack, *spatial)`` float32 in [0, 1]."""
        array = np.asarray(array, np.float32)
        dims = len(self.patch_size)
        if channels == 1:
            array = array[None]
        if array.ndim < dims + 1 or array.shape[0] != channels:
            raise InputError(f"{name}: shape {array.shape} has no {channels}-channel {dims}D image")
        if any(s < p for s, p in zip(array.shape[-dims:], self.patch_size)):
            raise InputError(f"{name}: shape {array.shape} is smaller than the patch {self.patch_size}")
        if percentiles is not None:
            array = percentile_normalize(array, *percentiles, dtype=None)
        if not (array.min() >= 0 and array.max() <= 1):
            raise InputError(
                f"{name}: values must be in [0, 1], got [{array.min():.3g}, {array.max():.3g}]; "
                "pass percentiles to normalise"
            )
        return array.reshape(channels, -1, *array.shape[-dims:])
