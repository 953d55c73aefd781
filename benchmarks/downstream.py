"""The evaluation figures of docs/benchmarks.md: realism against real nuclei, downstream table.

    python benchmarks/downstream.py [--synthetic DATASET] [--steps 600] [--seeds 0,1,2]
                                    [--patch-size 64] [--no-downstream] [--out DIR]

Real data: the slices of ``synthscope.sample_data.nuclei_2d`` ("train": z 20-35,
"test": z 40-51; downscaled by 2 to 0.52 um pixels; volume percentiles 1-99.8 -> [0, 1]).

1. Realism, cut into non-overlapping patches: real test slices against real training
   slices (real vs real across depth), and, given ``--synthetic``, the synthetic images
   against all real slices. Each next to its floor (two random halves of the reference).
2. The downstream benchmark (real only, or real / synthetic / both with ``--synthetic``).

Writes ``realism-*.{json,md,png}`` and ``downstream.{json,md,png}`` into ``--out``
and prints the tables with wall and CPU seconds (on a shared machine CPU time is steadier).
"""

import argparse
import time

import numpy as np

from synthscope.evaluate import downstream_benchmark, realism, to_patches, write_report
from synthscope.evaluate.report import downstream_chart, downstream_table, image_grid, realism_table
from synthscope.io import read_dataset
from synthscope.sample_data import nuclei_2d


def synthetic_pairs(root):
    dataset = read_dataset(root)
    items = [dataset.load(id_) for id_ in dataset.ids]
    return [it.image if it.image is not None else it.sketch for it in items], [it.labels for it in items]


def timed(function, *args, **kwargs):
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def score_realism(name, reference, candidate, out):
    report, wall, cpu = timed(realism, list(reference), list(candidate), rng=0)
    report["seconds"] = {"wall": round(wall, 1), "cpu": round(cpu, 1)}
    table = realism_table(report)
    write_report(
        report,
        out,
        name=name,
        table=table,
        figure=image_grid([s[:: max(len(s) // 8, 1)][:8] for s in (reference, candidate)], titles=["ref", "cand"]),
    )
    print(
        f"## {name}: {len(reference)} reference, {len(candidate)} candidate patches; {wall:.0f} s wall, {cpu:.0f} s CPU\n"
        + table
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic", help="A synthscope data set to judge.")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--k-real", type=int, default=None)
    parser.add_argument("--patch-size", type=int, default=64)
    parser.add_argument("--no-downstream", action="store_true")
    parser.add_argument("--out", default="benchmark-output/evaluate")
    args = parser.parse_args()

    train, test = nuclei_2d("train"), nuclei_2d("test")
    synthetic = synthetic_pairs(args.synthetic) if args.synthetic else None
    real_train, real_test = (to_patches(list(images), size=args.patch_size) for images in (train[0], test[0]))
    score_realism("realism-real-test-vs-real-train", real_train, real_test, args.out)
    if synthetic is not None:
        real = np.concatenate([real_train, real_test])
        score_realism("realism-synthetic-vs-real", real, to_patches(synthetic[0], size=args.patch_size), args.out)
    if args.no_downstream:
        return
    seeds = [int(s) for s in args.seeds.split(",")]
    report, wall, cpu = timed(
        downstream_benchmark, train, test, synthetic=synthetic, k_real=args.k_real, seeds=seeds, steps=args.steps
    )
    report["seconds"] = {"wall": round(wall, 1), "cpu": round(cpu, 1)}
    table = downstream_table(report)
    write_report(report, args.out, name="downstream", table=table, figure=downstream_chart(report))
    print(f"## downstream: {args.steps} steps x {len(seeds)} seeds, {wall:.0f} s wall, {cpu:.0f} s CPU\n{table}")


if __name__ == "__main__":
    main()
