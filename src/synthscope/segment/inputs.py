"""The images to segment: files or folders in any format `synthscope.io` reads."""

import os
from collections.abc import Sequence

from synthscope.errors import InputError
from synthscope.io import ImageData, read_images


def read_inputs(paths: Sequence[str | os.PathLike], *, axes: str | None = None) -> list[tuple[str, ImageData]]:
    """Return ``(name, image)`` for every image file given or inside a folder given, in order.

    Parameters
    ----------
    paths : sequence of path-like
        Image files or folders of them (``NAME_masks`` files are left out).
    axes : str, optional
        Axes of the stored arrays, for files that do not name theirs.

    Raises
    ------
    InputError
        If a path does not exist, holds no image, or two images share a name.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from pathlib import Path
    >>> from PIL import Image
    >>> from synthscope.io import write_image
    >>> folder = Path(tempfile.mkdtemp())
    >>> write_image(folder / "a.tif", np.zeros((8, 8), np.float32), axes="YX")
    >>> Image.fromarray(np.zeros((8, 8), np.uint8)).save(folder / "b.jpg")
    >>> [(name, image.axes) for name, image in read_inputs([folder])]
    [('a', 'YX'), ('b', 'YX')]
    """
    found = []
    for path in paths:
        found += read_images(path, axes=axes)
    names = [name for name, _ in found]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise InputError(f"two input images are named {twice[0]!r}; their outputs would overwrite each other")
    return found
