"""Items per second of every phantom preset (masks + sketch), on one core; optionally beside an older tree.

    python benchmarks/phantoms.py [--seconds 3] [--old /work/old316/src] [PRESET ...]

The BLAS and OpenMP pools are limited to one thread before NumPy loads, so the figure is
per core; run several processes to use more cores. Two figures: items per second of wall
time, and per second of this process's CPU time (the same on an idle machine; on a
shared one the second is the per-core capacity). A time-lapse item is all its frames;
its frames per CPU second are printed too. With ``--old``, every preset is measured in
that tree and in this one, one after the other in fresh processes, and the ratio of their
rates per CPU second is printed. Target: at least 20 annotated 256x256 2D items per second.
"""

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

SOURCE = Path(__file__).resolve().parent.parent / "src"


def items_per_second(name, seconds):
    """Make items of preset `name` for about `seconds`: (items per wall second, per CPU second, items)."""
    from synthscope.phantoms import load_preset, sketch_item

    preset = load_preset(name)
    sketch_item(preset, rng=0)  # warm caches (harmonic tables, imports)
    made, start, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - start < seconds or made < 3:
        sketch_item(preset, rng=made + 1)
        made += 1
    return made / (time.perf_counter() - start), made / (time.process_time() - cpu), made


def measure(name, seconds, source=None):
    """`items_per_second` in this process, or in a fresh one with `source` first on the path (None if it fails)."""
    if source is None:
        from synthscope.phantoms import load_preset

        wall, cpu, made = items_per_second(name, seconds)
        preset = load_preset(name)
        frames = preset.get(preset["generator"], {}).get("frames", 1) if preset["generator"] == "timelapse" else 1
        return {"wall": wall, "cpu": cpu, "items": made, "frames": frames, "shape": preset["shape"]}
    command = [sys.executable, __file__, "--json", "--seconds", str(seconds), name]
    result = subprocess.run(
        command, env=dict(os.environ, PYTHONPATH=str(source)), capture_output=True, text=True, check=False
    )
    if result.returncode:  # e.g. a preset the older tree does not have
        print(f"{source}: {name}: {result.stderr.strip().splitlines()[-1]}", file=sys.stderr)
        return None
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("presets", nargs="*")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--old", type=Path, help="an older tree's src folder, measured before this one")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.json:
        print(json.dumps(measure(options.presets[0], options.seconds)))
        return
    from synthscope.phantoms import preset_names

    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    header = f"{'preset':30s} {'shape':>12s} {'items/s':>8s} {'items/cpu-s':>12s} {'frames/cpu-s':>13s} {'items':>6s}"
    print(header + (f" {'old items/cpu-s':>16s} {'new/old':>8s}" if options.old else ""))
    for name in options.presets or preset_names():
        old = measure(name, options.seconds, options.old.resolve()) if options.old else None
        new = measure(name, options.seconds, SOURCE if options.old else None)
        shape = "x".join(map(str, new["shape"]))
        line = f"{name:30s} {shape:>12s} {new['wall']:8.1f} {new['cpu']:12.1f} {new['cpu'] * new['frames']:13.1f}"
        line += f" {new['items']:6d}"
        if options.old:
            line += f" {old['cpu']:16.1f} {new['cpu'] / old['cpu']:8.2f}" if old else f" {'-':>16s} {'-':>8s}"
        print(line, flush=True)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
