"""``generate`` on a local Dask cluster: speed-up from 1 to N workers, memory per worker, items per hour per core.

    python benchmarks/generate_dask.py [--preset nuclei-2d] [--count 16] [--workers 1,2] [--set KEY=VALUE ...]

For each number of workers, a fresh local cluster (`synthscope.dask_backend.dask_client`, the
one ``generate --workers N`` starts: one process and one thread per worker) makes the same
data set from scratch. It prints, as Markdown tables:

- wall seconds of the job, cluster start and model loading included;
- the steady rate: items per hour from the first finished item to the last (start-up left out),
  per worker (= per core) too, and the speed-up over one worker (target on 2 cores: >= 1.8);
- the peak resident memory of each worker process;
- a projection for a cluster: items per hour and hours for 10,000 items at 16 to 1,024 cores,
  from the measured rate per core and the efficiency of the largest run (speed-up / workers).

The load average before and after is printed: on a machine that other jobs keep busy the
figures say little about the speed-up, so rerun it on a quiet one.
"""

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import yaml

from synthscope.dask_backend import dask_client
from synthscope.pipeline import generate

CORES = (16, 64, 256, 1024)


def run(workers, *, preset, count, settings, out):
    """One job on a fresh cluster of `workers`: wall seconds, steady items/hour, peak MiB per worker."""
    finished = []
    start = time.perf_counter()
    with dask_client(workers=workers) as client:
        generate(
            preset,
            count=count,
            out=out,
            settings=settings,
            scheduler=client.scheduler.address,
            callback=lambda done, total: finished.append(time.perf_counter()),
        )
        peaks = client.run(_peak_mib)
    wall = time.perf_counter() - start
    steady = 3600 * (len(finished) - 1) / (finished[-1] - finished[0]) if len(finished) > 1 else float("nan")
    return wall, steady, sorted(peaks.values())


def _peak_mib():
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="nuclei-2d")
    parser.add_argument("--count", type=int, default=16)
    parser.add_argument("--workers", default="1,2", help="comma-separated numbers of workers")
    parser.add_argument("--set", dest="settings", action="append", default=[], help="a preset key, as in generate")
    args = parser.parse_args()
    settings = {key: yaml.safe_load(value) for key, _, value in (pair.partition("=") for pair in args.settings)}
    counts = [int(n) for n in args.workers.split(",")]
    work = Path(tempfile.mkdtemp(prefix="generate_dask-"))
    load_before = os.getloadavg()
    results = {}
    try:
        for workers in counts:
            results[workers] = run(
                workers, preset=args.preset, count=args.count, settings=settings, out=work / str(workers)
            )
            shutil.rmtree(work / str(workers))
            print(f"{workers} workers: {results[workers][0]:.1f} s", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load_after = os.getloadavg()

    print(f"\n{args.count} items of {args.preset} {settings or ''}; {os.cpu_count()} cores;", end=" ")
    print(
        f"load average (1, 5, 15 min) before {load_before[0]:.1f} {load_before[1]:.1f} {load_before[2]:.1f},", end=" "
    )
    print(f"after {load_after[0]:.1f} {load_after[1]:.1f} {load_after[2]:.1f}\n")
    base = results[counts[0]][1] / counts[0]  # steady items/hour per worker of the first run
    print("| workers | wall s | items/hour (steady) | items/hour/core | speed-up | peak MiB per worker |")
    print("| --- | --- | --- | --- | --- | --- |")
    for workers, (wall, steady, peaks) in results.items():
        memory = ", ".join(f"{p:.0f}" for p in peaks)
        speedup = steady / base
        print(f"| {workers} | {wall:.1f} | {steady:.0f} | {steady / workers:.0f} | {speedup:.2f}x | {memory} |")
    largest = max(counts)
    efficiency = min(1.0, results[largest][1] / base / largest)
    per_core = base * efficiency
    print(f"\nProjection: {per_core:.0f} items/hour/core ({base:.0f} measured x efficiency {efficiency:.2f})\n")
    print("| cores | items/hour | hours for 10,000 items |")
    print("| --- | --- | --- |")
    for cores in CORES:
        print(f"| {cores} | {per_core * cores:,.0f} | {10_000 / (per_core * cores):.2f} |")


if __name__ == "__main__":
    main()
