"""Where the time of `synthscope generate` goes, per item and per stage, in one or two source trees.

    python benchmarks/generate.py [--count 8] [--preset nuclei-2d] [--old /work/old316/src]

Each tree runs in its own process (``PYTHONPATH=<tree>``, one thread, ``OMP_WAIT_POLICY=PASSIVE``)
and makes ``count + 1`` items into a fresh folder with `synthscope.generate`; the first item
(model warm-up) is left out of every figure. The stages are timed in CPU seconds (fair on a
shared machine) by wrapping the functions the pipeline calls, found by name, so that older
trees are measured by the same code:

- phantom: the generator's masks (the preset's sketch minus its render);
- render: the sketch;
- held region + condition: the refinement's held masks and condition channels;
- network: time inside the denoiser's ``forward`` during the first refinement of an item;
- sampler: the rest of the first refinement (noise, scheduler steps, tiling);
- annotation update, mismatch check, relabel: of the first refinement;
- retries: the refinements after the first (network, sampler, update, check);
- write: TIFF and JSON files (and the manifest); preview: the outline picture and its PNG;
- other: the rest of the item's CPU time.

Also printed: refinements per item (a retry that refines a window counts as one), the items
retried and the labels the policy added or dropped after the last retry, the
time of one network pass over a whole image (the first refinements' network time / steps),
the floor ``steps x one pass`` (one refinement, no retry, nothing but the network), how close
the pipeline comes to it, and the network's share of all CPU time, retries included. With
``--old`` both trees run in the same invocation, one after the other, and their ratios are
printed side by side.
"""

import argparse
import inspect
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAGES = (
    "phantom",
    "render",
    "held region + condition",
    "network",
    "sampler",
    "annotation update",
    "mismatch check",
    "relabel",
    "retries",
    "write",
    "preview",
    "other",
)
# (module, attribute, stage): the functions the pipeline looks up by name, in the trees measured.
WRAPPED = (
    ("synthscope.phantoms.presets", "render", "render"),
    ("synthscope.refine.item", "_stages", "held region + condition"),
    ("synthscope.refine.item", "condition", "held region + condition"),
    ("synthscope.refine.item", "update_labels", "annotation update"),
    ("synthscope.refine.item", "find_mismatches", "mismatch check"),
    ("synthscope.refine.item", "reconcile_labels", "relabel"),
    ("synthscope.pipeline", "_stages", "held region + condition"),
    ("synthscope.pipeline", "_condition", "held region + condition"),
    ("synthscope.pipeline", "update_labels", "annotation update"),
    ("synthscope.pipeline", "find_mismatches", "mismatch check"),
    ("synthscope.pipeline", "reconcile_labels", "relabel"),
    ("synthscope.io.dataset", "write_tiff", "write"),
    ("synthscope.io.dataset", "write_text", "write"),
    ("synthscope.io.dataset", "outline_overlay", "preview"),
    ("synthscope.io.dataset", "write_png", "preview"),
)


class Clock:
    """Stage times of the item being made; nested timed calls count only in the innermost stage."""

    def __init__(self):
        self.totals = dict.fromkeys(STAGES, 0.0)
        self.stack = []  # [stage, start, time of nested calls]
        self.refinements = 0  # of the current item
        self.network_all = 0.0  # network time of every refinement, retries included

    def wrap(self, function, stage):
        def timed(*args, **kwargs):
            name = "retries" if self.refinements > 1 and stage not in ("write", "preview") else stage
            self.stack.append([name, time.process_time(), 0.0])
            try:
                return function(*args, **kwargs)
            finally:
                name, start, nested = self.stack.pop()
                spent = time.process_time() - start
                self.totals[name] += spent - nested
                if self.stack:
                    self.stack[-1][2] += spent

        return timed


def instrument(clock):
    """Wrap the pipeline's functions (those this tree has) with `clock`; return the tree's `generate`."""
    import importlib

    import synthscope
    import synthscope.diffusion
    from synthscope.diffusion.denoiser import Denoiser

    for module_name, attribute, stage in WRAPPED:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        if hasattr(module, attribute):
            setattr(module, attribute, clock.wrap(getattr(module, attribute), stage))
    maker = importlib.import_module("synthscope.maker") if _exists("synthscope.maker") else None
    owner, name = (maker, "sketch_item") if maker is not None else (synthscope.pipeline, "make_item")
    sketch = clock.wrap(getattr(owner, name), "phantom")

    def new_item(*args, **kwargs):
        clock.refinements = 0
        return sketch(*args, **kwargs)

    setattr(owner, name, new_item)
    refine = clock.wrap(synthscope.diffusion.refine, "sampler")

    def counted_refine(*args, **kwargs):
        clock.refinements += 1
        return refine(*args, **kwargs)

    synthscope.diffusion.refine = counted_refine
    forward = clock.wrap(Denoiser.forward, "network")

    def counted_forward(*args, **kwargs):
        start = time.process_time()
        try:
            return forward(*args, **kwargs)
        finally:
            clock.network_all += time.process_time() - start

    Denoiser.forward = counted_forward
    return synthscope.generate


def _exists(module_name):
    import importlib.util

    return importlib.util.find_spec(module_name) is not None


def worker(options):
    """Make the items in this process and print the measured figures as JSON."""
    import synthscope.diffusion  # noqa: F401  (before the wrapping: its import sets the thread policy)

    clock = Clock()
    generate = instrument(clock)
    marks = []  # (wall, cpu, stage totals, refinements so far, network time so far) after every item
    refinements = [0]

    def callback(done, total):
        refinements[0] += clock.refinements
        marks.append((time.perf_counter(), time.process_time(), dict(clock.totals), refinements[0], clock.network_all))

    seed = "rng" if "rng" in inspect.signature(generate).parameters else "seed"
    with tempfile.TemporaryDirectory(prefix="synthscope-generate-") as folder:
        out = Path(folder) / "set"
        generate(options.preset, count=options.count + 1, out=out, callback=callback, **{seed: options.seed})
        records = [json.loads(p.read_text())["metadata"].get("refinement") for p in sorted(out.glob("items/*.json"))]
    records = [r for r in records[1:] if r]  # the timed items that were refined
    (wall0, cpu0, totals0, refined0, network0), (wall1, cpu1, totals1, refined1, network1) = marks[0], marks[-1]
    items = len(marks) - 1
    stages = {stage: (totals1[stage] - totals0[stage]) / items for stage in STAGES}
    wall, cpu = (wall1 - wall0) / items, (cpu1 - cpu0) / items
    stages["other"] = cpu - sum(stages.values())
    steps = _steps(options.preset)
    print(
        json.dumps(
            {
                "stages": stages,
                "wall": wall,
                "cpu": cpu,
                "refinements": (refined1 - refined0) / items,
                "network_total": (network1 - network0) / items,
                "retried": sum(r["attempts"] > 1 for r in records),
                "added": sum(len(r["added"]) for r in records),
                "lost": sum(len(r["lost"]) for r in records),
                "steps": steps,
                "items": items,
            }
        )
    )


def _steps(preset):
    from synthscope.phantoms import load_preset

    return int(load_preset(preset)["refine"].get("steps", 20))


def run_tree(source, options):
    """Run the worker with `source` first on the path; return its figures."""
    environment = dict(
        os.environ,
        PYTHONPATH=str(source),
        OMP_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        OMP_WAIT_POLICY="PASSIVE",
    )
    command = [sys.executable, __file__, "--worker", "--count", str(options.count), "--preset", options.preset]
    command += ["--seed", str(options.seed)]
    result = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    if result.returncode:
        sys.exit(f"{source}: the worker failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def report(runs):
    """Print the per-stage table of every tree (seconds per item) and the ratios to the first."""
    names = list(runs)
    print(f"{'stage (CPU s / item)':28s}" + "".join(f"{name:>14s}" for name in names))
    for stage in STAGES:
        print(f"{stage:28s}" + "".join(f"{runs[name]['stages'][stage]:14.3f}" for name in names))
    rows = {
        "total, wall": lambda r: r["wall"],
        "total, CPU": lambda r: r["cpu"],
        "items / hour (wall)": lambda r: 3600 / r["wall"],
        "items / CPU-hour": lambda r: 3600 / r["cpu"],
        "refinements / item": lambda r: r["refinements"],
        "items retried": lambda r: r["retried"],
        "labels added, dropped": lambda r: f"{r['added']}, {r['lost']}",
        "one network pass (CPU s)": _pass,
        "floor: steps x pass": lambda r: _pass(r) * r["steps"],
        "total CPU / floor": lambda r: r["cpu"] / (_pass(r) * r["steps"]),
        "network, all (CPU s)": _network,
        "network share of CPU": lambda r: _network(r) / r["cpu"],
        "not network (CPU s)": lambda r: r["cpu"] - _network(r),
    }
    for label, value in rows.items():
        print(f"{label:28s}" + "".join(f"{_cell(value(runs[name])):>14s}" for name in names))
    if len(names) > 1:
        first = runs[names[0]]
        for name in names[1:]:
            speed = first["wall"] / runs[name]["wall"]
            print(
                f"speed-up per item of {name} over {names[0]}: {speed:.2f}x (wall), "
                f"{first['cpu'] / runs[name]['cpu']:.2f}x (CPU)"
            )


def _cell(value):
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _network(run):
    """Network time per item, retries included."""
    return run["network_total"]


def _pass(run):
    """One network pass over a whole image: the first refinements' network time per evaluation."""
    return run["stages"]["network"] / run["steps"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=8, help="items timed per tree (one more is made first)")
    parser.add_argument("--preset", default="nuclei-2d")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--old", type=Path, help="an older tree's src folder, measured first")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.worker:
        worker(options)
        return
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    runs = {}
    if options.old:
        runs["old"] = run_tree(options.old.resolve(), options)
    runs["new"] = run_tree(ROOT / "src", options)
    report(runs)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
