"""The Python API against the ``synthscope`` command: the same small generate job on a busy machine.

    python benchmarks/api_vs_cli.py [--preset nuclei-2d] [--count 4] [--size 128] [--repeats 2]

While another process keeps one core busy (a spinning loop, as another job on a shared
machine does), the same job runs in a fresh process through each door, alternately:

- ``api``: ``import synthscope; synthscope.generate(...)``;
- ``cli``: ``synthscope generate ...``.

Both start without ``OMP_WAIT_POLICY`` and ``OMP_NUM_THREADS``, as a user's shell has them
(torch then runs one thread per core). It prints the best wall seconds of each, imports
included, and the ratio api / cli; the target is at most 1.1. Before issue 16 only the
command made idle OpenMP threads sleep, and spinning threads made the API up to 60x
slower (979 s against about 15 s for 8 items).
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

API = """
import sys
import synthscope
preset, count, size, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
synthscope.generate(preset, count=count, out=out, rng=0, settings={"shape": [size, size]})
"""


def commands(preset, count, size, out):
    """The same job as the command line of each door."""
    return {
        "api": [sys.executable, "-c", API, preset, str(count), str(size), str(out)],
        "cli": [sys.executable, "-m", "synthscope.cli", "generate", preset, "-n", str(count), "-o", str(out)]
        + ["--seed", "0", "--set", f"shape=[{size},{size}]"],
    }


def timed(command, env):
    """Wall seconds of `command` run to its end."""
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="nuclei-2d")
    parser.add_argument("--count", type=int, default=4)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS")}
    work = Path(tempfile.mkdtemp(prefix="api_vs_cli-"))
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    seconds = {"api": [], "cli": []}
    try:
        for _ in range(args.repeats):
            for door, command in commands(args.preset, args.count, args.size, work / "set").items():
                shutil.rmtree(work / "set", ignore_errors=True)
                seconds[door].append(timed(command, env))
                print(f"{door}: {seconds[door][-1]:.1f} s", flush=True)
    finally:
        busy.kill()
        shutil.rmtree(work)
    api, cli = (min(seconds[door]) for door in ("api", "cli"))
    print(f"{args.count} items of {args.preset}, {args.size}x{args.size}, one core busy, best of {args.repeats}:")
    print(f"api {api:.1f} s, cli {cli:.1f} s, ratio api/cli {api / cli:.2f} (target <= 1.1)")


if __name__ == "__main__":
    main()
