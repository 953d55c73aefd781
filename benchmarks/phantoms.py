"""Items per second of every phantom preset (masks + sketch), on one core.

    python benchmarks/phantoms.py [--seconds 3] [PRESET ...]

The BLAS and OpenMP pools are limited to one thread before NumPy loads, so the figure is
per core; run several processes to use more cores. Two figures: items per second of wall
time, and per second of this process's CPU time (the same on an idle machine; on a
shared one the second is the per-core capacity). Target: at least 20 annotated 256x256
2D items per second.
"""

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"

import argparse  # noqa: E402
import time  # noqa: E402

from synthscope.phantoms import load_preset, preset_names, sketch_item  # noqa: E402


def items_per_second(name, seconds):
    """Make items of preset `name` for about `seconds`: (items per wall second, per CPU second, items)."""
    preset = load_preset(name)
    sketch_item(preset, rng=0)  # warm caches (harmonic tables, imports)
    made, start, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - start < seconds or made < 3:
        sketch_item(preset, rng=made + 1)
        made += 1
    return made / (time.perf_counter() - start), made / (time.process_time() - cpu), made


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("presets", nargs="*", default=preset_names())
    parser.add_argument("--seconds", type=float, default=3.0)
    options = parser.parse_args()
    print(f"{'preset':30s} {'shape':>12s} {'items/s':>8s} {'items/cpu-s':>12s} {'items':>6s}")
    for name in options.presets:
        wall, cpu, made = items_per_second(name, options.seconds)
        shape = "x".join(map(str, load_preset(name)["shape"]))
        print(f"{name:30s} {shape:>12s} {wall:8.1f} {cpu:12.1f} {made:6d}", flush=True)


if __name__ == "__main__":
    main()
