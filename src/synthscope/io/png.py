"""PNG: 8- or 16-bit, grey (``"YX"``) or with 1-4 channels last (``"YXC"``).

Pixels are encoded by imagecodecs, which keeps 16-bit values exactly; axes and
spacing travel in a ``tEXt`` chunk named ``synthscope`` because PNG's own ``pHYs``
chunk rounds sizes to whole pixels per metre.
"""

import json
import struct
import zlib
from pathlib import Path

import imagecodecs
import numpy as np

from synthscope.axes import check_axes
from synthscope.errors import InputError
from synthscope.io._atomic import write_bytes
from synthscope.io.image import ImageData

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_KEYWORD = b"synthscope"


def write_png(path, image):
    """Write an `ImageData` to `path` as PNG, refusing what PNG cannot hold exactly.

    Raises
    ------
    InputError
        If the dtype is not uint8 or uint16 (float images are never rescaled to fit),
        or the axes are not ``"YX"`` or ``"YXC"`` with 1 to 4 channels.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.png"
    >>> write_png(path, ImageData(np.full((2, 3), 7, np.uint16), "YX", {"X": 0.5}))
    >>> read_png(path)
    ImageData(data=array([[7, 7, 7],
           [7, 7, 7]], dtype=uint16), axes='YX', spacing={'X': 0.5})
    """
    data = np.asarray(image.data)
    if data.dtype not in (np.uint8, np.uint16):
        raise InputError(f"{path}: PNG holds uint8 or uint16 pixels, not {data.dtype}; convert explicitly or use TIFF")
    if image.axes not in ("YX", "YXC") or (image.axes == "YXC" and not 1 <= data.shape[-1] <= 4):
        raise InputError(f"{path}: PNG holds axes 'YX' or 'YXC' with 1-4 channels, not {image.axes!r} {data.shape}")
    encoded = imagecodecs.png_encode(np.ascontiguousarray(data))
    text = json.dumps({"axes": image.axes, "spacing": image.spacing}, sort_keys=True).encode()
    chunk = _chunk(b"tEXt", _KEYWORD + b"\0" + text)
    header_end = len(_SIGNATURE) + 25  # the IHDR chunk always comes first
    write_bytes(path, encoded[:header_end] + chunk + encoded[header_end:])


def read_png(path, *, axes=None):
    """Read a PNG file into an `ImageData` (uint8 or uint16, as stored).

    Parameters
    ----------
    path : path-like
    axes : str, optional
        By default the axes written by synthscope, else ``"YX"`` or ``"YXC"``.
    """
    try:
        encoded = Path(path).read_bytes()
        data = imagecodecs.png_decode(encoded)
        text = _text_chunks(encoded).get(_KEYWORD)
    except OSError as error:
        raise InputError(f"{path}: cannot read ({error.strerror or error})") from None
    except Exception as error:  # imagecodecs raises its own error types
        raise InputError(f"{path}: not a readable PNG file ({error})") from None
    stored = json.loads(text) if text else {"axes": "YX" if data.ndim == 2 else "YXC", "spacing": {}}
    if stored["axes"] == "YXC" and data.ndim == 2:  # one channel decodes without its axis
        data = data[..., np.newaxis]
    axes = check_axes(stored["axes"] if axes is None else axes, data.ndim, name=str(path))
    return ImageData(data, axes, {k: v for k, v in stored["spacing"].items() if k in axes})


def _chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _text_chunks(encoded):
    chunks, position = {}, len(_SIGNATURE)
    while position + 8 <= len(encoded):
        length, kind = struct.unpack(">I4s", encoded[position : position + 8])
        if kind == b"tEXt":
            keyword, _, text = encoded[position + 8 : position + 8 + length].partition(b"\0")
            chunks[keyword] = text
        position += 12 + length
    return chunks
