"""The app's work folder and what may enter it: every upload is checked, every output lives inside.

The web server serves this folder and nothing else (`synthscope.app.ui.launch_app` gives
it as Gradio's only allowed path and puts Gradio's upload cache inside it), so every file a
handler returns is written into a fresh job folder of it (`new_job`).
"""

import os
import tempfile
import uuid
from pathlib import Path

from synthscope.errors import InputError
from synthscope.io import ImageData, read_images

#: The largest upload taken unless the app is told otherwise, in megabytes.
MAX_UPLOAD_MB = 32


def work_folder(root: str | os.PathLike | None = None) -> Path:
    """Return the work folder: `root` (created if missing), or a new temporary folder.

    Examples
    --------
    >>> work_folder().name.startswith("synthscope-app-")
    True
    """
    if root is None:
        return Path(tempfile.mkdtemp(prefix="synthscope-app-")).resolve()
    root = Path(root).resolve()
    if root.exists() and not root.is_dir():
        raise InputError(f"{root}: the work folder is a file")
    root.mkdir(parents=True, exist_ok=True)
    return root


def new_job(work: str | os.PathLike) -> Path:
    """Return a new, empty folder inside `work` for one request's files.

    Examples
    --------
    >>> work = work_folder()
    >>> new_job(work).parent == work / "jobs"
    True
    """
    job = Path(work) / "jobs" / uuid.uuid4().hex
    job.mkdir(parents=True)
    return job


def read_upload(path: str | os.PathLike, *, max_mb: float = MAX_UPLOAD_MB) -> tuple[str, ImageData]:
    """Return the name (stem) and the image of an uploaded file, after checking its size and content.

    Parameters
    ----------
    path : path-like
        The uploaded file (in Gradio's upload cache, under its original name).
    max_mb : float
        Files larger than this many megabytes are refused unread.

    Raises
    ------
    InputError
        One line naming the file as uploaded: no file, too large, or not an image
        `synthscope.io.read_images` reads (unknown suffix, corrupt, NaN values).

    Examples
    --------
    >>> notes = Path(tempfile.mkdtemp()) / "notes.png"
    >>> _ = notes.write_text("not a picture")
    >>> read_upload(notes)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    synthscope.errors.InputError: notes.png: ...
    """
    if path is None:
        raise InputError("no file: upload an image first")
    path = Path(path)
    size_mb = path.stat().st_size / 2**20
    if size_mb > max_mb:
        raise InputError(f"{path.name}: {size_mb:.1f} MB is more than the {max_mb:g} MB this app takes")
    try:
        ((name, image),) = read_images(path)
    except InputError as error:  # name the file as the user knows it, not by its cache path
        raise InputError(str(error).replace(str(path), path.name)) from None
    return name, image
