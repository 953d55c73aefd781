"""The end-to-end job ``generate``: items from `synthscope.ItemMaker`, written as a data set.

The pipeline only wires: the item API (`synthscope.maker`) draws, sketches and refines each
item (`synthscope.refine`), `make_and_write` writes its files (`synthscope.io`), in this
process or as one Dask task per item (`synthscope.dask_backend`), and the one
`synthscope.io.DatasetWriter` of the job keeps the manifest.
"""

import contextlib

from synthscope.checks import check_number
from synthscope.errors import InputError
from synthscope.maker import ItemMaker


def generate(
    preset,
    *,
    count: int,
    out,
    rng=0,
    settings: dict | None = None,
    callback=None,
    workers: int | None = None,
    scheduler: str | None = None,
):
    """Write a data set of `count` annotated items made from `preset`.

    Each item is drawn by the preset's generator, rendered to a sketch, refined by the
    preset's diffusion model (if it names one), its masks updated to the refined image,
    and written to `out` in the synthscope data set layout. Item ``i`` depends only on
    ``(rng, i)`` and equals ``synthscope.make_item(preset, i, rng=rng, settings=settings)``;
    items already complete in `out` are skipped, so an interrupted job resumes where it
    stopped and ends with the same files an uninterrupted run writes.

    When a refined image and its labels disagree (an object with no label, a label with
    no object), the preset's ``refine.mismatch`` policy decides (see
    `synthscope.refine.refine_item`): by default the item is refined again with seeds
    derived from its own, and relabelled if that does not help, so that every written
    item agrees with its labels; ``refine.mismatch: keep`` only reports the disagreement.

    With `workers` or `scheduler` the items are made on Dask (``pip install
    "synthscope[dask]"``), one task per item; the files are the same bytes in any order of
    completion, with any number of workers, and when workers die during the job (their
    items are made again). Workers read `preset` and the model from the same paths as
    this process, and write into `out`: on a cluster these must be on a shared file system.

    Parameters
    ----------
    preset : str or path
        A bundled preset name (see `synthscope.phantoms.preset_names`) or a YAML file.
    count : int
        Number of items.
    out : str or path
        The data set folder; created, or resumed if it holds the same job.
    rng : int or numpy.random.Generator, optional
        Base seed of the data set (a Generator is drawn from once; give an int to resume).
    settings : dict, optional
        Preset overrides by dotted key, e.g. ``{"nuclei.count": 30,
        "refine.model": None, "refine.steps": 10}``.
    callback : callable, optional
        Called as ``callback(done, total)`` after every item (and once at the start of a
        resumed job with the items already done).
    workers : int, optional
        Make the items on a local Dask cluster of this many worker processes, one thread each.
    scheduler : str, optional
        Make the items on the running Dask cluster whose scheduler has this address, e.g.
        ``"tcp://10.0.0.5:8786"`` (or ``cluster.scheduler_address`` of a dask-jobqueue cluster).

    Returns
    -------
    pathlib.Path
        The data set folder.

    Raises
    ------
    InputError
        Before anything is written or any task sent: for an unknown preset or setting, a
        model the settings cannot use, a folder holding another data set, `workers`
        below 1, both `workers` and `scheduler`, Dask not installed, or a scheduler that
        cannot be reached.

    Examples
    --------
    >>> import tempfile
    >>> out = generate("nuclei-2d", count=1, out=tempfile.mkdtemp() + "/set",
    ...                settings={"refine.model": None, "shape": [64, 64]})
    >>> sorted(p.name for p in out.iterdir())  # doctest: +ELLIPSIS
    [...'dataset.json', ...'labels', 'manifest.csv', ...]
    """
    from synthscope.io import DatasetWriter

    if count < 1:
        raise InputError(f"count must be at least 1, got {count}")
    if workers is not None and scheduler is not None:
        raise InputError("give workers (a local Dask cluster) or scheduler (a running one), not both")
    if workers is not None:
        check_number(workers, "workers", low=1, integer=True)
    maker = ItemMaker(preset, rng=rng, settings=settings)
    with _backend(maker, preset=preset, settings=settings, workers=workers, scheduler=scheduler) as make_items:
        writer = DatasetWriter(out, info=maker.info)
        missing = [index for index in range(count) if not writer.is_complete(index)]
        done = count - len(missing)
        if done and callback is not None:
            callback(done, count)
        for _ in make_items(writer.root, missing):
            writer.write_manifest()
            done += 1
            if callback is not None:
                callback(done, count)
    writer.remove_partials()  # left by workers killed while they wrote
    return writer.root


def make_and_write(maker: ItemMaker, root, index: int) -> int:
    """Make item `index` with `maker` and write its files into the data set folder `root`.

    The one place an item of `generate` is written, in this process or on a Dask worker;
    the manifest is left to the job's `synthscope.io.DatasetWriter`. Returns `index`.

    Examples
    --------
    >>> import tempfile
    >>> from synthscope.io import DatasetWriter, read_dataset
    >>> maker = ItemMaker("nuclei-2d", rng=0, settings={"refine.model": None, "shape": [64, 64]})
    >>> writer = DatasetWriter(tempfile.mkdtemp(), info=maker.info)
    >>> make_and_write(maker, writer.root, 2)
    2
    >>> read_dataset(writer.root).ids
    ['00002']
    """
    from synthscope.io.dataset import write_item_files

    write_item_files(root, index, maker(index), record={"seed": maker.item_seed(index)})
    return index


@contextlib.contextmanager
def _backend(maker, *, preset, settings, workers, scheduler):
    """Yield ``make_items(root, indices)``: makes and writes those items, yielding each index when written."""
    if workers is None and scheduler is None:
        yield lambda root, indices: (make_and_write(maker, root, index) for index in indices)
        return
    from synthscope.dask_backend import DaskJob, dask_client, make_on_dask

    job = DaskJob.of(maker, preset=preset, settings=settings)
    with dask_client(workers=workers, scheduler=scheduler) as client:
        yield lambda root, indices: make_on_dask(client, job, root, indices)
