"""The synthscope data set: a folder of items written safely and read back.

See ``docs/architecture.md`` for the layout. Every file is written to a temporary
name and renamed; ``items/{id}.json`` is written last and marks its item complete,
so an interrupted job run again skips complete items, rewrites the rest and ends
with the same bytes as an uninterrupted run. One `DatasetWriter` at a time writes a
folder, since it rewrites the manifest; processes that make items in parallel write each
item's files with `write_item_files` and leave the manifest to that writer.

``items/{id}.json`` holds ``id``, ``index``, ``axes`` (of the labels), ``image_axes``
(of the image and sketch: ``"C"`` in front for multi-channel items), ``spacing``, ``refined``
(whether ``images/`` holds a refined image rather than the sketch),
``class_names``, ``masks`` (name to dtype), ``metadata`` (the item's), ``record``
(what the caller passed: seed, parameters, reports) and ``files`` (paths relative
to the folder).
"""

import csv
import hashlib
import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from synthscope.errors import InputError
from synthscope.io._atomic import remove_stale_partials, write_text
from synthscope.io._checks import as_classes, as_labels, as_tracks, check_layout, to_json
from synthscope.io.ctc_check import check_tracks
from synthscope.io.image import ImageData, check_spacing
from synthscope.io.png import write_png
from synthscope.io.preview import outline_overlay
from synthscope.io.tiff import read_tiff, write_tiff
from synthscope.item import Item

MANIFEST_COLUMNS = ("id", "image", "label", "sketch", "classes", "masks", "tracks", "preview", "seed", "params_hash")


def item_id(index: int) -> str:
    """Return the id of item `index`: its index as five digits.

    Examples
    --------
    >>> item_id(7)
    '00007'
    """
    return f"{int(index):05d}"


class DatasetWriter:
    """Write the items of a data set into `root`, resuming where an earlier run stopped.

    Parameters
    ----------
    root : path-like
        The data set folder; created if missing.
    info : dict
        What made the data set (generator, preset parameters, base seed, package
        version, model name and sha256, class table, refinement settings); written
        to ``dataset.json``. JSON-serialisable.

    Raises
    ------
    InputError
        Before anything is written, if `root` holds a data set with another
        ``dataset.json``, or is a non-empty folder that is not a data set.

    Examples
    --------
    >>> import numpy as np, tempfile
    >>> writer = DatasetWriter(tempfile.mkdtemp(), info={"generator": "demo", "seed": 0})
    >>> labels = np.zeros((8, 8), np.uint16)
    >>> labels[2:5, 2:6] = 1
    >>> writer.write(0, Item(labels=labels, axes="YX", sketch=labels / 2.0), record={"seed": 1})
    >>> writer.is_complete(0), writer.is_complete(1)
    (True, False)
    >>> int(read_dataset(writer.root).load("00000").labels.sum())
    12
    """

    def __init__(self, root: str | os.PathLike, *, info: dict):
        self.root = Path(root)
        text = to_json(info, name=f"{self.root}/dataset.json")
        stored, wanted = _read_info(self.root), json.loads(text)
        if stored is not None and stored != wanted:
            changed = sorted(k for k in stored.keys() | wanted.keys() if stored.get(k) != wanted.get(k))
            raise InputError(f"{self.root}: holds a different data set (dataset.json differs in {', '.join(changed)})")
        if self.root.exists() and not self.root.is_dir():
            raise InputError(f"{self.root}: is a file, not a folder")
        if self.root.is_dir():  # a job killed while it wrote its first dataset.json left only a temporary file
            self.remove_partials()
        if stored is None and self.root.is_dir() and any(self.root.iterdir()):
            raise InputError(f"{self.root}: folder is not empty and holds no synthscope data set")
        self.root.mkdir(parents=True, exist_ok=True)
        self._rows = {}
        if stored is None:
            write_text(self.root / "dataset.json", text)
        else:  # a job killed between an item's record and the manifest left the manifest behind
            self.write_manifest()

    def is_complete(self, index: int) -> bool:
        """Return whether item `index` was written completely."""
        return (self.root / "items" / f"{item_id(index)}.json").exists()

    def write(self, index: int, item: Item, *, record: dict) -> None:
        """Write item `index`: its images, labels, masks, tracks, preview and record.

        Parameters
        ----------
        index : int
        item : Item
        record : dict
            What made this item; JSON-serialisable. Its ``"seed"`` and the hash of
            its ``"parameters"`` go into ``manifest.csv``.

        Raises
        ------
        InputError
            Before anything is written, if the labels are not non-negative
            integers, the image or sketch not finite floats in [0, 1], a mask
            not booleans or non-negative integers, an array does not match the
            labels' shape, the tracks break the Cell Tracking Challenge
            invariants (`synthscope.io.ctc_check`), or `record` or
            ``item.metadata`` cannot be written as JSON.
        """
        write_item_files(self.root, index, item, record=record)
        self.write_manifest()

    def remove_partials(self) -> None:
        """Delete the temporary files that processes no longer running left in the folder.

        A process killed while it wrote a file leaves it under its temporary name (see
        `atomic_path`); a job that resumes, or one whose workers were killed, removes them.
        """
        remove_stale_partials(self.root)

    def write_manifest(self) -> None:
        """Rewrite ``manifest.csv`` from the records of the complete items, sorted by id."""
        for path in sorted((self.root / "items").glob("*.json")):
            if path.stem not in self._rows:
                self._rows[path.stem] = _manifest_row(json.loads(path.read_text(encoding="utf-8")))
        text = io.StringIO()
        writer = csv.DictWriter(text, MANIFEST_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self._rows[key] for key in sorted(self._rows))
        write_text(self.root / "manifest.csv", text.getvalue())


def write_item_files(root: str | os.PathLike, index: int, item: Item, *, record: dict) -> None:
    """Write item `index` into the data set folder `root`, leaving ``manifest.csv`` as it is.

    The files of `DatasetWriter.write` without the manifest: a process that makes items in
    parallel with others writes them so, and the one process that owns the folder's
    `DatasetWriter` adds them to the manifest (`DatasetWriter.write_manifest`).
    Parameters, checks and errors are those of `DatasetWriter.write`.

    Examples
    --------
    >>> import numpy as np, tempfile
    >>> writer = DatasetWriter(tempfile.mkdtemp(), info={})
    >>> write_item_files(writer.root, 0, Item(labels=np.ones((4, 4), np.uint16), axes="YX"), record={})
    >>> writer.is_complete(0), (writer.root / "manifest.csv").exists()
    (True, False)
    >>> writer.write_manifest()
    >>> len((writer.root / "manifest.csv").read_text().splitlines())
    2
    """
    root = Path(root)
    id_ = item_id(index)
    name = f"{root}/items/{id_}"
    arrays, tracks, entry = _prepare(item, record, index=index, name=name)
    files = {}
    for key, array in arrays.items():
        files[key] = f"{array.folder}/{id_}.tif"
        spacing = {k: v for k, v in entry["spacing"].items() if k in array.axes}
        write_tiff(root / files[key], ImageData(array.data, array.axes, spacing))
    if tracks is not None:
        files["tracks"] = f"tracks/{id_}.txt"
        write_text(root / files["tracks"], "".join(" ".join(map(str, row)) + "\n" for row in tracks))
    image, image_axes = (arrays["image"].data, arrays["image"].axes) if "image" in arrays else (None, None)
    overlay = outline_overlay(arrays["labels"].data, axes=item.axes, image=image, image_axes=image_axes)
    files["preview"] = f"previews/{id_}.png"
    write_png(root / files["preview"], ImageData(overlay, "YXC"))
    entry["files"] = files
    write_text(root / f"items/{id_}.json", to_json(entry, name=name))


@dataclass
class Dataset:
    """A data set written by `DatasetWriter`, as returned by `read_dataset`.

    Iterating over it loads its complete items in id order, one at a time.

    Attributes
    ----------
    root : Path
    info : dict
        The contents of ``dataset.json``.
    ids : list of str
        The ids of the complete items, sorted.

    Examples
    --------
    >>> import numpy as np, tempfile
    >>> writer = DatasetWriter(tempfile.mkdtemp(), info={})
    >>> for index in range(2):
    ...     writer.write(index, Item(labels=np.full((4, 4), index + 1, np.uint16), axes="YX"), record={})
    >>> dataset = read_dataset(writer.root)
    >>> len(dataset), [int(item.labels.max()) for item in dataset]
    (2, [1, 2])
    """

    root: Path
    info: dict
    ids: list[str]

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[Item]:
        return (self.load(id_) for id_ in self.ids)

    def record(self, id: str | int) -> dict:
        """Return the per-item record ``items/{id}.json`` of item `id` (str or index)."""
        id_ = id if isinstance(id, str) else item_id(id)
        if id_ not in self.ids:
            raise InputError(f"{self.root}: has no complete item {id_!r}")
        return json.loads((self.root / "items" / f"{id_}.json").read_text(encoding="utf-8"))

    def load(self, id: str | int) -> Item:
        """Return item `id` (str or index) as the `Item` that was written."""
        entry = self.record(id)
        files = entry["files"]
        arrays = {key: read_tiff(self.root / path).data for key, path in files.items() if path.endswith(".tif")}
        masks = {mask: arrays[f"mask_{mask}"].astype(dtype, copy=False) for mask, dtype in entry["masks"].items()}
        tracks = None
        if "tracks" in files:
            tracks = np.loadtxt(self.root / files["tracks"], dtype=np.int64, ndmin=2).reshape(-1, 4)
        return Item(
            labels=arrays["labels"],
            axes=entry["axes"],
            sketch=arrays.get("sketch"),
            image=arrays.get("image") if entry["refined"] else None,
            classes=arrays.get("classes"),
            class_names={int(k): v for k, v in entry["class_names"].items()},
            masks=masks,
            tracks=tracks,
            spacing=entry["spacing"],
            metadata=entry["metadata"],
        )


def read_dataset(root: str | os.PathLike) -> Dataset:
    """Open the data set in `root`.

    Raises
    ------
    InputError
        If `root` holds no ``dataset.json``.
    """
    root = Path(root)
    info = _read_info(root)
    if info is None:
        raise InputError(f"{root}: not a synthscope data set (no dataset.json)")
    ids = sorted(path.stem for path in (root / "items").glob("*.json"))
    return Dataset(root=root, info=info, ids=ids)


def _read_info(root):
    path = Path(root) / "dataset.json"
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise InputError(f"{path}: not valid JSON ({error})") from None


class _Array(NamedTuple):
    folder: str
    data: np.ndarray
    axes: str


def _prepare(item, record, *, index, name):
    """Check `item`; return the arrays to write, its tracks and its per-item record."""
    if not isinstance(record, dict):
        raise InputError(f"{name}: record must be a dict, got {type(record).__name__}")
    labels = as_labels(item.labels, name=name)
    arrays = {"labels": _Array("labels", labels, item.axes)}
    for key, folder, array in (("image", "images", item.picture), ("sketch", "sketches", item.sketch)):
        if array is not None:
            array = _check_picture(array, name=name, what=key)
            arrays[key] = _Array(folder, array, check_layout(array, labels, name=name, what=key) + item.axes)
    if item.classes is not None:
        classes = as_classes(item.classes, name=name)
        check_layout(classes[np.newaxis], labels, name=name, what="classes")
        arrays["classes"] = _Array("classes", classes, item.axes)
    for mask, array in item.masks.items():
        array = np.asarray(array)
        if not str(mask).isidentifier():
            raise InputError(f"{name}: mask name {mask!r} must be a plain word (letters, digits, _)")
        check_layout(array[np.newaxis], labels, name=name, what=f"mask {mask!r}")
        if array.dtype != bool and (array.dtype.kind not in "iu" or (array.size and array.min() < 0)):
            raise InputError(f"{name}: mask {mask!r} must be booleans or non-negative integers, got {array.dtype}")
        stored = array.astype(np.uint8) if array.dtype == bool else array  # TIFF has no bool
        arrays[f"mask_{mask}"] = _Array(f"masks/{mask}", stored, item.axes)
    entry = {
        "id": item_id(index),
        "index": int(index),
        "axes": item.axes,
        "image_axes": item.image_axes,
        "spacing": check_spacing(item.spacing, item.axes, name=name),
        "refined": item.image is not None,
        "class_names": {str(k): v for k, v in item.class_names.items()},
        "masks": {mask: np.asarray(array).dtype.name for mask, array in item.masks.items()},
        "metadata": item.metadata,
        "record": record,
    }
    to_json(entry, name=name)  # fails here, before any file is written
    tracks = None if item.tracks is None else as_tracks(item.tracks, name=name)
    if tracks is not None:
        check_tracks(labels, tracks, axes=item.axes, name=name)
    return arrays, tracks, entry


def _check_picture(array, *, name, what):
    """Return an image or sketch after checking that it holds finite floats in [0, 1]."""
    array = np.asarray(array)
    if array.dtype.kind != "f":
        raise InputError(f"{name}: {what} must be floats in [0, 1], got {array.dtype}")
    if not np.isfinite(array).all():
        raise InputError(f"{name}: {what} holds NaN or infinite values; it must be floats in [0, 1]")
    if array.size and (array.min() < 0 or array.max() > 1):
        raise InputError(f"{name}: {what} must be floats in [0, 1], got [{array.min():.3g}, {array.max():.3g}]")
    return array


def _manifest_row(entry):
    files = entry["files"]
    parameters = json.dumps(entry["record"].get("parameters", {}), sort_keys=True).encode()
    return {
        "id": entry["id"],
        "image": files.get("image", ""),
        "label": files["labels"],
        "sketch": files.get("sketch", ""),
        "classes": files.get("classes", ""),
        "masks": ";".join(path for key, path in sorted(files.items()) if key.startswith("mask_")),
        "tracks": files.get("tracks", ""),
        "preview": files["preview"],
        "seed": entry["record"].get("seed", ""),
        "params_hash": hashlib.sha256(parameters).hexdigest()[:16],
    }
