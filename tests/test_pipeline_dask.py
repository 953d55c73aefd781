"""generate on Dask: the same bytes as a serial run, whatever the workers, the order, or a killed worker."""

import dataclasses
import os
import signal
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed")

from synthscope.cli import main  # noqa: E402
from synthscope.dask_backend import DaskJob, _make_and_write  # noqa: E402
from synthscope.errors import InputError  # noqa: E402
from synthscope.maker import ItemMaker  # noqa: E402
from synthscope.pipeline import generate, make_and_write  # noqa: E402

# Refined by the bundled model, small enough for a second per item on a loaded machine.
REFINED = {"shape": [96, 96]}  # refined by the preset's two-step student
COUNT = 4


def _tree(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(Path(root).rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0") as cluster:
        yield cluster


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    return _tree(generate("nuclei-2d", count=COUNT, out=tmp_path_factory.mktemp("serial") / "set", settings=REFINED))


def test_two_workers_write_the_bytes_of_a_serial_run(cluster, serial, tmp_path):
    calls, address = [], cluster.scheduler_address
    root = generate(
        "nuclei-2d",
        count=COUNT,
        out=tmp_path / "set",
        settings=REFINED,
        scheduler=address,
        callback=lambda *a: calls.append(a),
    )
    assert _tree(root) == serial
    assert calls == [(done, COUNT) for done in range(1, COUNT + 1)]


def test_one_local_worker_and_any_order_of_completion_give_the_same_bytes(serial, tmp_path):
    # Items 3 and 1 written first, out of order, as by workers that finished early; a re-run makes only the rest.
    maker = ItemMaker("nuclei-2d", rng=0, settings=REFINED)
    generate("nuclei-2d", count=1, out=tmp_path / "set", settings=REFINED)  # dataset.json and item 0
    for index in (3, 1):
        make_and_write(maker, tmp_path / "set", index)
    calls = []
    root = generate(
        "nuclei-2d", count=COUNT, out=tmp_path / "set", settings=REFINED, workers=1, callback=lambda *a: calls.append(a)
    )
    assert _tree(root) == serial
    assert calls == [(3, 4), (4, 4)]  # three items already there: one task


def test_a_worker_killed_during_the_run_loses_nothing(cluster, serial, tmp_path):
    killed = []
    with distributed.Client(cluster, set_as_default=False) as client:

        def kill_a_busy_worker(done, total):
            if killed:
                return
            busy = [address for address, keys in client.processing().items() if keys]
            pid = client.run(os.getpid, workers=busy[:1])[busy[0]]
            os.kill(pid, signal.SIGKILL)  # its nanny starts a new worker process
            killed.append(pid)

        address = cluster.scheduler_address
        root = generate(
            "nuclei-2d",
            count=COUNT,
            out=tmp_path / "set",
            settings=REFINED,
            scheduler=address,
            callback=kill_a_busy_worker,
        )
        assert killed and killed[0] not in client.run(os.getpid).values()
    assert _tree(root) == serial  # no item lost, no temporary file of the dead worker left


def test_the_cli_runs_on_a_scheduler(cluster, serial, tmp_path, capsys):
    args = [
        "generate",
        "nuclei-2d",
        "-n",
        str(COUNT),
        "-o",
        str(tmp_path / "set"),
        "--scheduler",
        cluster.scheduler_address,
    ]
    with pytest.raises(SystemExit) as exit:
        main([*args, "--set", "shape=[96,96]"])
    assert exit.value.code == 0, capsys.readouterr().err
    assert _tree(tmp_path / "set") == serial


@pytest.mark.parametrize(
    ("options", "message"),
    [({"workers": 0}, "workers must be in"), ({"workers": 2, "scheduler": "tcp://127.0.0.1:1"}, "not both")],
)
def test_bad_options_are_refused_before_anything_is_written(tmp_path, options, message):
    with pytest.raises(InputError, match=message):
        generate("nuclei-2d", count=2, out=tmp_path / "set", **options)
    assert not (tmp_path / "set").exists()


def test_a_bad_setting_fails_before_any_task_is_sent(cluster, tmp_path):
    with pytest.raises(InputError, match="nuclei.colour is not a parameter"):
        generate(
            "nuclei-2d",
            count=2,
            out=tmp_path / "set",
            settings={"nuclei.colour": 1},
            scheduler=cluster.scheduler_address,
        )
    assert not (tmp_path / "set").exists()  # tasks are sent only after the folder is made


def test_a_scheduler_that_cannot_be_reached_is_refused_before_anything_is_written(tmp_path):
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}), pytest.raises(InputError, match="cannot reach"):
        generate("nuclei-2d", count=2, out=tmp_path / "set", settings=REFINED, scheduler="tcp://127.0.0.1:1")
    assert not (tmp_path / "set").exists()


def test_a_worker_that_would_make_another_data_set_refuses(tmp_path):
    settings = {"refine.model": None, "shape": [64, 64]}
    maker = ItemMaker("nuclei-2d", rng=0, settings=settings)
    job = DaskJob.of(maker, preset="nuclei-2d", settings=settings)
    other = dataclasses.replace(job, info={**job.info, "version": "0.0.0-elsewhere"})
    with pytest.raises(InputError, match="version differ"):
        _make_and_write(0, job=other, root=str(tmp_path))
    assert not any(tmp_path.iterdir())
