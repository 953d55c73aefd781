"""Writing files so that no half-written file ever exists under its final name.

`atomic_path` is the one way synthscope writes a file (data sets, model folders,
checkpoints, reports); `write_text` is its shorthand for text. Both are public in
`synthscope.io`.
"""

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

# Temporary files are named ".{pid}.partial.{name}" next to their target: the pid
# tells leftovers of a dead process from files a running one is writing, and the
# name keeps its suffix for libraries that choose a format by it.
_PARTIAL = "partial"


def partial_path(path, *, tag=_PARTIAL):
    """Return the temporary name that `path` is written under before it is renamed."""
    path = Path(path)
    return path.with_name(f".{os.getpid()}.{tag}.{path.name}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to `path`; rename it to `path` if the block succeeds.

    The temporary file is in the same folder, so the final ``os.replace`` is atomic
    on POSIX file systems. If the block raises, the temporary file is removed and
    `path` is left as it was. The block may also make a folder (a Zarr store) at the
    temporary path; an existing folder at `path` is then swapped out and removed.
    The temporary name ends with the name of `path`, so libraries that choose a format
    by the suffix choose the right one. Missing parent folders are made. An `OSError`
    that names no file (a full disk) is given `path` as its ``filename``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("done")
    >>> target.read_text()
    'done'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = partial_path(path)
    try:
        yield tmp
        if tmp.is_dir() and path.is_dir():
            old = partial_path(path, tag=_PARTIAL + "-old")
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old)
        else:
            os.replace(tmp, path)
    except OSError as error:
        if error.filename is None:  # a failed write() names no file; say which one
            error.filename = str(path)
        raise
    finally:
        _remove(tmp)


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write `text` (UTF-8, ``\\n`` line ends) to `path` atomically, by `atomic_path`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "notes" / "a.txt"
    >>> write_text(target, "done\\n")
    >>> target.read_text()
    'done\\n'
    """
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="\n")


def write_bytes(path, data):
    """Write `data` to `path` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def remove_stale_partials(root):
    """Delete temporary files under `root` left by processes that no longer run.

    Parameters
    ----------
    root : path-like
        Folder searched recursively.
    """
    for tmp in Path(root).rglob(f".*.{_PARTIAL}*.*"):
        pid = tmp.name.split(".")[1]
        if pid.isdigit() and not _is_running(int(pid)):
            _remove(tmp)


def _remove(path):
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        os.remove(path)


def _is_running(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
