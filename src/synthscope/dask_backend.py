"""The Dask backend of `synthscope.generate`: one task per item, on a local or a running cluster.

Each missing item is one task with a deterministic key (the job's hash and the item's
index). A worker builds the job's `synthscope.ItemMaker` once, checks that it makes the
data set the driver's maker describes, and then makes and writes items with
`synthscope.pipeline.make_and_write`, the function the serial loop calls; the driver
(`synthscope.generate`) keeps the manifest. Item ``i`` depends only on ``(seed, i)`` and
each file is written under a temporary name and renamed, so the data set is the same
bytes in any order of completion, and a task whose worker died is simply run again
(Dask reschedules it; ``distributed.scheduler.allowed-failures`` times at most).

Needs ``dask[distributed]`` (``pip install "synthscope[dask]"``); for SLURM, PBS and other
batch systems, start a cluster with dask-jobqueue and pass its ``scheduler_address``.
"""

import contextlib
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from synthscope.errors import InputError
from synthscope.maker import ItemMaker
from synthscope.phantoms import preset_names
from synthscope.pipeline import make_and_write


@dataclass(frozen=True)
class DaskJob:
    """What a worker needs to make a job's items: the inputs of its `ItemMaker` and what it records.

    Attributes
    ----------
    preset : str
        A bundled preset name, or the absolute path of a preset file.
    seed : int
        The base seed.
    settings : dict or None
        Preset overrides by dotted key.
    info : dict
        ``ItemMaker.info`` of the driver's maker (``dataset.json``); a worker whose maker
        records anything else (another synthscope version, another model) refuses to work.

    Examples
    --------
    >>> job = DaskJob.of(ItemMaker("nuclei-2d", rng=3, settings={"refine.model": None}),
    ...                  preset="nuclei-2d", settings={"refine.model": None})
    >>> job.seed, job.key("/data/set") == job.key("/data/set"), job.key("/data/set") == job.key("/data/other")
    (3, True, False)
    """

    preset: str
    seed: int
    settings: dict | None
    info: dict

    @classmethod
    def of(cls, maker: ItemMaker, *, preset, settings: dict | None) -> "DaskJob":
        """Return the job of `maker`, made from `preset` and `settings`."""
        path = Path(preset)
        if str(preset) not in preset_names() and path.is_file():  # workers may start in another folder
            preset = str(path.resolve())
        return cls(preset=str(preset), seed=maker.seed, settings=settings, info=maker.info)

    def key(self, root) -> str:
        """Return the job's hash for the data set folder `root`: 16 hex digits naming its tasks."""
        text = json.dumps([self.info, os.path.abspath(root)], sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


# Dask starts workers with MALLOC_TRIM_THRESHOLD_=65536, which makes an item take twice as long
# here (the allocator returns and maps memory again for every array: docs/benchmarks.md).
_MALLOC_TRIM = "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_"


@contextlib.contextmanager
def dask_client(*, workers: int | None = None, scheduler: str | None = None):
    """Yield a ``distributed.Client`` of a new local cluster, or of the cluster at `scheduler`.

    Parameters
    ----------
    workers : int, optional
        Worker processes of a new ``distributed.LocalCluster``, one thread each, started without
        Dask's ``MALLOC_TRIM_THRESHOLD_``; closed on exit.
    scheduler : str, optional
        Address of a running cluster's scheduler (used when `workers` is None).

    Raises
    ------
    InputError
        If Dask is not installed, or the scheduler cannot be reached.

    Examples
    --------
    >>> with dask_client(workers=2) as client:  # doctest: +SKIP
    ...     len(client.scheduler_info()["workers"])
    2
    """
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError:
        raise InputError('generating on Dask needs dask.distributed: pip install "synthscope[dask]"') from None
    if workers is not None:
        with dask.config.set({_MALLOC_TRIM: None}):
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
                silence_logs=logging.ERROR,  # not "worker still alive after 4 s, killing" at every close
            )
        with cluster, Client(cluster, set_as_default=False) as client:
            yield client
        return
    try:
        client = Client(scheduler, set_as_default=False)
    except (OSError, ValueError, TypeError) as error:
        raise InputError(f"cannot reach the Dask scheduler at {scheduler!r}: {error}") from None
    with client:
        yield client


def make_on_dask(client, job: DaskJob, root, indices):
    """Make and write items `indices` of `job` into `root` as one task each; yield each index when written.

    Tasks are keyed ``synthscope-item-{job.key(root)}-{index:05d}``. When an item's task
    fails, its error is raised here and the job's other tasks are cancelled; so are they
    when the caller stops iterating. The manifest is left to the caller's `DatasetWriter`.

    Examples
    --------
    >>> from synthscope.io import DatasetWriter
    >>> maker = ItemMaker("nuclei-2d", rng=0, settings={"refine.model": None})
    >>> writer = DatasetWriter("set", info=maker.info)  # doctest: +SKIP
    >>> job = DaskJob.of(maker, preset="nuclei-2d", settings={"refine.model": None})
    >>> with dask_client(workers=2) as client:  # doctest: +SKIP
    ...     sorted(make_on_dask(client, job, writer.root, [0, 1, 2]))
    [0, 1, 2]
    """
    from distributed import as_completed

    if not indices:
        return
    prefix = f"synthscope-item-{job.key(root)}"
    futures = client.map(_make_and_write, indices, job=job, root=str(root), key=[f"{prefix}-{i:05d}" for i in indices])
    try:
        for future in as_completed(futures, loop=client.loop):
            yield future.result()
    finally:
        client.cancel(futures)


_makers: dict[str, ItemMaker] = {}  # on a worker: the maker of the job it last worked for, by job hash


def _make_and_write(index, *, job, root):
    """The task of item `index`, run on a worker."""
    key = job.key(root)
    maker = _makers.get(key)
    if maker is None:
        maker = ItemMaker(job.preset, rng=job.seed, settings=job.settings)
        if maker.info != job.info:
            changed = sorted(k for k in maker.info.keys() | job.info.keys() if maker.info.get(k) != job.info.get(k))
            raise InputError(f"a Dask worker makes another data set than this process ({', '.join(changed)} differ)")
        if maker.denoiser is not None:
            import torch

            torch.set_num_threads(1)  # Dask runs one task per thread
        _makers.clear()
        _makers[key] = maker
    return make_and_write(maker, root, index)
