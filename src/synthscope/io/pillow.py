"""JPEG and BMP (read only), through Pillow: grey ``"YX"`` or colour ``"YXC"``, uint8 as stored."""

import numpy as np

from synthscope.axes import check_axes
from synthscope.errors import InputError
from synthscope.io.image import ImageData


def read_pillow(path, *, axes=None):
    """Read a JPEG or BMP file into an `ImageData` (no spacing: these formats hold none reliably).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from PIL import Image
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.bmp"
    >>> Image.fromarray(np.full((2, 3, 3), 9, np.uint8)).save(path)
    >>> image = read_pillow(path)
    >>> image.axes, image.data.shape, int(image.data.max())
    ('YXC', (2, 3, 3), 9)
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as picture:
            data = np.asarray(picture.convert("L") if picture.mode in ("1", "P") else picture)
    except OSError as error:
        kind = "not a readable image" if isinstance(error, UnidentifiedImageError) else "cannot read"
        raise InputError(f"{path}: {kind} ({error})") from None
    return ImageData(data, check_axes(axes or ("YX" if data.ndim == 2 else "YXC"), data.ndim, name=str(path)))
