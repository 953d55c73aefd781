"""Does diffusion refinement earn its cost? Segmentation models scored on held-out real specimens.

    python benchmarks/segment.py --out runs/segment [--specimens cells3d,hela] [--seeds 0,1,2]
        [--coarse-steps 2000] [--refiner-steps 3000] [--coarse-masks model|degrade]
        [--formulation continuous|discrete] [--synthetic DATASET | --model MODEL]
        [--arms coarse,smoothed,refined,refined-5] [--t-start T] [--steps N] [--speed]

For every specimen of ``synthscope.sample_data.SPECIMENS`` named and every seed, a model
(coarse attention U-Net + diffusion refiner, ``synthscope.segment.train_segmenter`` with
its defaults and the budget given) is trained on the specimen's real training split, or
with ``--synthetic`` on a synthscope data set (e.g. ``synthscope generate
nuclei-2d-broad``; one model per seed, scored on every specimen), and scored on the
specimen's test split, which nothing is trained on. ``--model`` scores a trained model
(a folder or a bundled name, e.g. ``nuclei-seg-2d``) instead: each seed is then only the
seed of the refinement noise. ``--formulation`` is the refiner trained
(``Refinement.formulation``: SegRefiner's ``discrete``, the default, or ``continuous``);
discrete models and their scores are named with a ``-discrete`` suffix, scores of a refiner
trained on the coarse model's own masks (``--coarse-masks model``) with ``-model-masks``. A
model folder that holds a finished coarse checkpoint (``coarse_training.json``) is resumed,
so copying the coarse files of a continuous model into it trains only the other refiner, on
the same coarse network.
Arms, all from the same model:

- ``coarse``: the coarse model alone (``refine=False``);
- ``smoothed``: the coarse mask smoothed by morphology alone (opening and closing of
  radius 1, Gaussian smoothing of sigma 1): what refinement has to beat;
- ``refined``: one refinement draw; ``refined-5``: the mean of five draws.

``--t-start`` and ``--steps`` score a model with another refinement strength or number of
network evaluations than its own (scores named with ``-t<T>`` / ``-steps<N>``).

Scores per test image, averaged: Dice and boundary F1 (tolerance 2 px) of the semantic
mask, the same two "around labelled objects" (``*_labelled``: predicted objects of which
under 20% lies in the labels are left out of the mask first, so that nuclei the labels
omit, as HeLa's automatic ones do, do not count against edges), AP@0.5 of the instances
(``synthscope.evaluate.match_instances``), and for
``refined-5`` how much likelier an error is among the 10% most uncertain pixels than
among the rest. The ``coarse`` arm also says where its errors lie (`error_sites`): the
share within 2 px of a true edge, the Dice and boundary F1 it would reach were all of
those fixed (what a refiner of edges can gain at most) or all the others, and its
objects that hardly overlap a true one. ``--speed`` times a 512x512 image (tiles of
cells3d's test slices) with one and with five draws. Models are kept under ``--out/models`` and the scores of every
(model, specimen, seed) under ``--out/scores``, so reruns resume and runs of several
invocations add up; ``segment.json`` holds them all, ``segment.md`` the tables, with the
refined-minus-coarse and refined-minus-smoothed differences (paired by seed) and the
AP@0.5 of each model as a share of that of the model trained on the specimen itself.
"""

import argparse
import dataclasses
import json
import os
import time
from pathlib import Path

import numpy as np
from scipy import ndimage

from synthscope.evaluate import boundary_f1, dice, match_instances
from synthscope.io import read_dataset, write_text
from synthscope.sample_data import SPECIMENS
from synthscope.segment import Postprocessing, Refinement, Segmenter, SegmenterConfig, Training, train_segmenter
from synthscope.segment.refiner import FORMULATIONS

SMOOTHING = Postprocessing(opening=1, closing=1, smooth=1.0)
ARMS = ("coarse", "smoothed", "refined", "refined-5")
SCORES = ("dice", "boundary_f1", "dice_labelled", "boundary_f1_labelled", "ap50", "uncertainty_error_ratio", "seconds")
SITES = (
    "band_error_share",
    "band_fixed_dice",
    "band_fixed_boundary_f1",
    "rest_fixed_dice",
    "rest_fixed_boundary_f1",
    "false_objects",
    "missed_objects",
)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--specimens", default="cells3d,hela")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--coarse-steps", type=int, default=Training.coarse_steps)
    parser.add_argument("--refiner-steps", type=int, default=Training.refiner_steps)
    parser.add_argument("--coarse-masks", default=Training.coarse_masks)
    parser.add_argument("--formulation", default=Refinement.formulation, choices=FORMULATIONS, help="refiner trained")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--synthetic", type=Path, help="train on this synthscope data set instead of the real split")
    source.add_argument("--model", help="score this trained model (folder or bundled name) instead of training one")
    parser.add_argument("--arms", default=",".join(ARMS), help="the arms to score, of " + ",".join(ARMS))
    parser.add_argument("--t-start", type=int, help="refinement strength to score instead of the model's")
    parser.add_argument("--steps", type=int, help="refiner evaluations per draw instead of the model's")
    parser.add_argument("--speed", action="store_true", help="also time a 512x512 image")
    args = parser.parse_args()
    arms = args.arms.split(",")
    if set(arms) - set(ARMS):
        parser.error(f"--arms: unknown arms {sorted(set(arms) - set(ARMS))}; expected some of {ARMS}")
    training = Training(
        coarse_steps=args.coarse_steps, refiner_steps=args.refiner_steps, coarse_masks=args.coarse_masks
    )
    model = None
    for name in args.specimens.split(","):
        test_images, test_labels = SPECIMENS[name].load("test")
        for seed in map(int, args.seeds.split(",")):
            source = (Path(args.model).name if args.model else _source(args, name)) + _variant(args)
            scores_file = args.out / "scores" / f"{source}-seed{seed}-{name}.json"
            if scores_file.is_file():
                print(scores_file, "scored already", flush=True)
                continue
            model = _model(args, name, seed, training)
            began = time.process_time()
            scores = score(model, test_images, test_labels, seed=seed, arms=arms)
            run = {"specimen": name, "seed": seed, "trained_on": source, "training": _training(model), **scores}
            run["cpu_seconds"] = time.process_time() - began
            write_text(scores_file, json.dumps(run, indent=2))
            print(name, seed, source, json.dumps(scores), flush=True)
    runs = [json.loads(path.read_text()) for path in sorted((args.out / "scores").glob("*.json"))]
    if args.speed:
        timing = speed(model or _model(args, args.specimens.split(",")[0], 0, training))
        write_text(args.out / "speed.json", json.dumps(timing, indent=2))
        print(timing, flush=True)
    if (args.out / "speed.json").is_file():
        runs.append({"speed": json.loads((args.out / "speed.json").read_text())})
    write_text(args.out / "segment.json", json.dumps(runs, indent=2))
    write_text(args.out / "segment.md", table(runs))


def _model(args, name, seed, training):
    """Return the model to score: `args.model`, or the trained model of (specimen or data set, seed),
    training it unless its folder is complete."""
    if args.model:
        return _with_refinement(Segmenter.load(args.model), args)
    folder = args.out / "models" / f"{_source(args, name, masks=False)}-seed{seed}-{training.coarse_masks}"
    if (folder / "config.json").is_file():
        return _with_refinement(Segmenter.load(folder), args)
    if args.synthetic:
        items = list(read_dataset(args.synthetic))
        images, labels = [item.picture for item in items], [item.labels for item in items]
    else:
        images, labels = SPECIMENS[name].load("train")
    resume = (folder / "coarse_training.json").is_file()
    began, cpu = time.perf_counter(), time.process_time()
    config = SegmenterConfig(refinement=Refinement(formulation=args.formulation))
    model = train_segmenter(
        list(images), list(labels), folder, config=config, training=training, resume=resume, rng=seed
    )
    minutes = (time.perf_counter() - began) / 60, (time.process_time() - cpu) / 60
    print(f"trained {folder} in {minutes[0]:.1f} min ({minutes[1]:.1f} CPU min)", flush=True)
    return _with_refinement(model, args)


def _with_refinement(model, args):
    """Return `model` with the refinement strength and steps of `args` where given."""
    changes = {"t_start": args.t_start, "steps": args.steps}
    changes = {key: value for key, value in changes.items() if value is not None}
    refinement = dataclasses.replace(model.config.refinement, **changes)
    changed = Segmenter(dataclasses.replace(model.config, refinement=refinement), model.coarse, model.refiner)
    changed.source = model.source
    return changed


def _variant(args):
    """Return the suffix naming a refinement other than the model's own ("" for its own)."""
    return (f"-t{args.t_start}" if args.t_start else "") + (f"-steps{args.steps}" if args.steps else "")


def _source(args, name, *, masks=True):
    """Return the name of what a trained model learnt from: the specimen or "synthetic",
    with "-discrete" for the discrete refiner and (if `masks`) "-model-masks" for a refiner
    trained on the coarse model's own masks."""
    source = "synthetic" if args.synthetic else name
    source += "-discrete" if args.formulation == "discrete" else ""
    return source + ("-model-masks" if masks and args.coarse_masks == "model" else "")


def _training(model):
    """Return the training budget and seed a model folder records."""
    extra = json.loads((Path(model.source["path"]) / "config.json").read_text()).get("extra", {})
    return {**extra.get("training", {}), "seed": extra.get("seed"), "images": extra.get("images")}


def score(model, images, labels, *, seed, arms=ARMS):
    """Return the mean scores of each of `arms` over the test images."""
    smoothed = Segmenter(dataclasses.replace(model.config, postprocessing=SMOOTHING), model.coarse, model.refiner)
    smoothed.source = model.source
    runs = {
        "coarse": lambda image, rng: model(image, refine=False),
        "smoothed": lambda image, rng: smoothed(image, refine=False),
        "refined": lambda image, rng: model(image, ensemble=1, rng=rng),
        "refined-5": lambda image, rng: model(image, ensemble=5, rng=rng),
    }
    scores = {}
    for arm in arms:
        rows = []
        for index, (image, truth) in enumerate(zip(images, labels)):
            began = time.perf_counter()
            result = runs[arm](image, seed * 1000 + index)
            seconds = time.perf_counter() - began
            kept = result.mask & ~np.isin(result.labels, unmatched(result.labels, truth > 0))
            row = {
                "seconds": seconds,
                "dice": dice(truth, result.mask),
                "boundary_f1": boundary_f1(truth, result.mask),
                "dice_labelled": dice(truth, kept),
                "boundary_f1_labelled": boundary_f1(truth, kept),
                "ap50": float(match_instances(truth, result.labels)["precision"][0]),
            }
            if arm == "coarse":
                row.update(error_sites(truth, result.labels))
            if arm == "refined-5":
                row["uncertainty_error_ratio"] = error_ratio(truth > 0, result.mask > 0, result.uncertainty)
            rows.append(row)
        scores[arm] = {key: float(np.mean([row[key] for row in rows])) for key in rows[0]}
    return scores


def error_sites(truth, labels, *, band=2.0, overlap=0.2):
    """Return where the errors of predicted `labels` against true labels lie.

    ``band_error_share``: the share of wrong pixels within `band` pixels of a true edge;
    ``band_fixed_dice`` / ``band_fixed_boundary_f1``: the scores with those pixels right
    (the most a refiner that only moves edges can reach); ``rest_fixed_dice`` /
    ``rest_fixed_boundary_f1``: with the other wrong pixels right instead;
    ``false_objects`` / ``missed_objects``: predicted (true) objects of which under
    `overlap` lies in the other mask.
    """
    true, mask = truth > 0, labels > 0
    edge = true & ~ndimage.binary_erosion(true, border_value=0)
    near = ndimage.distance_transform_edt(~edge) <= band if edge.any() else np.zeros_like(true)
    errors = true != mask
    band_fixed, rest_fixed = np.where(near, true, mask), np.where(near, mask, true)

    return {
        "band_error_share": float((errors & near).sum() / max(errors.sum(), 1)),
        "band_fixed_dice": dice(true, band_fixed),
        "band_fixed_boundary_f1": boundary_f1(true, band_fixed),
        "rest_fixed_dice": dice(true, rest_fixed),
        "rest_fixed_boundary_f1": boundary_f1(true, rest_fixed),
        "false_objects": len(unmatched(labels, true, overlap=overlap)),
        "missed_objects": len(unmatched(truth, mask, overlap=overlap)),
    }


def unmatched(objects, other, *, overlap=0.2):
    """Return the ids of the `objects` (a label image) of which under `overlap` lies in the mask `other`."""
    ids = np.unique(objects[objects > 0])
    if not len(ids):
        return ids
    inside = ndimage.sum_labels(other, objects, ids) / ndimage.sum_labels(np.ones_like(other), objects, ids)
    return ids[inside < overlap]


def error_ratio(truth, mask, uncertainty, *, top=0.1):
    """Return the error rate among the `top` fraction of most uncertain pixels over that of the rest."""
    order = np.argsort(uncertainty, axis=None, kind="stable")[::-1]
    chosen = np.zeros(uncertainty.size, bool)
    chosen[order[: int(round(top * uncertainty.size))]] = True
    errors = (truth != mask).ravel()
    rest = errors[~chosen].mean()
    return float(errors[chosen].mean() / rest) if rest > 0 else float("inf")


def speed(model):
    """Return the seconds to segment a 512x512 image with one and with five refinement draws,
    and the load average of the machine (a shared machine slows every figure)."""
    image = np.tile(SPECIMENS["cells3d"].load("test")[0][0], (4, 4))
    model(image[:64, :64])  # warm-up
    times = {}
    for ensemble in (1, 5):
        began = time.perf_counter()
        model(image, ensemble=ensemble)
        times[f"ensemble-{ensemble}"] = time.perf_counter() - began
    return {**times, "load average": os.getloadavg()[0]}


def table(runs):
    """Return the scores (mean ± sd over seeds) per model and specimen, with the differences
    refinement makes and each model's AP@0.5 as a share of the specimen's own, as markdown."""
    scored = [run for run in runs if "specimen" in run]
    groups = {}
    for run in scored:
        groups.setdefault((run["trained_on"], run["specimen"]), []).append(run)
    head = "| trained on | specimen | seeds | arm | Dice | boundary F1 | Dice, labelled | boundary F1, labelled |"
    lines = [head + " AP@0.5 | error ratio (top 10%) | s/image |", "|" + " --- |" * 11]
    for (source, name), mine in groups.items():
        for arm in [arm for arm in ARMS if arm in mine[0]]:
            cells = [_mean_sd([run[arm][key] for run in mine if key in run[arm]]) for key in SCORES]
            lines.append(f"| {source} | {name} | {len(mine)} | {arm} | " + " | ".join(cells) + " |")
    head = "| trained on | specimen | refined - coarse: Dice | boundary F1 | refined - smoothed: Dice | boundary F1 |"
    head += " around labelled objects, refined - coarse: Dice | boundary F1 | refined - smoothed: Dice | boundary F1 |"
    lines += ["", head, "|" + " --- |" * 10]
    for (source, name), mine in groups.items():
        cells = []
        for keys in (("dice", "boundary_f1"), ("dice_labelled", "boundary_f1_labelled")):
            cells += _differences(mine, keys)
        lines.append(f"| {source} | {name} | " + " | ".join(cells) + " |")
    head = "| trained on | specimen | coarse errors within 2 px of a true edge | Dice, boundary F1 with those fixed |"
    head += " with the others fixed | false objects | missed objects |"
    lines += ["", head, "| --- | --- | --- | --- | --- | --- | --- |"]
    for (source, name), mine in groups.items():
        coarse = [run["coarse"] for run in mine if "band_error_share" in run.get("coarse", {})]
        if coarse:
            cells = [_mean_sd([c[key] for c in coarse]) for key in SITES]
            pairs = [f"{cells[1]}, {cells[2]}", f"{cells[3]}, {cells[4]}"]
            lines.append(f"| {source} | {name} | {cells[0]} | " + " | ".join(pairs + cells[5:]) + " |")
    head = "| trained on | specimen | AP@0.5 refined, share of the real-trained model's |"
    lines += ["", head, "| --- | --- | --- |"]
    for (source, name), mine in groups.items():
        own = groups.get((name, name))  # the real-trained model with the continuous refiner
        if (
            source == name
            or source.startswith(name + "-")
            or not own
            or not all("refined" in run for run in mine + own)
        ):
            continue
        mean, real = (np.mean([run["refined"]["ap50"] for run in group]) for group in (mine, own))
        if real > 0:
            lines.append(f"| {source} | {name} | {100 * mean / real:.0f} % |")
    speeds = [run["speed"] for run in runs if "speed" in run]
    if speeds:
        lines += ["", "512x512, seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in speeds[0].items())]
    return "\n".join(lines) + "\n"


def _differences(runs, keys):
    """Return refined minus coarse and refined minus smoothed of each of `keys`, paired by run."""
    cells = []
    for base in ("coarse", "smoothed"):
        for key in keys:
            paired = [
                run["refined"][key] - run[base][key]
                for run in runs
                if key in run.get("refined", {}) and key in run.get(base, {})
            ]
            cells.append(_mean_sd(paired, sign=True))
    return cells


def _mean_sd(values, *, sign=False):
    if not values:
        return ""
    return f"{np.mean(values):{'+' if sign else ''}.3f} ± {np.std(values):.3f}"


if __name__ == "__main__":
    main()
