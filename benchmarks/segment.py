"""Does diffusion refinement earn its cost? Segmentation models scored on held-out real specimens.

    python benchmarks/segment.py --out runs/segment [--specimens cells3d,hela] [--seeds 0,1,2]
        [--coarse-steps 2000] [--refiner-steps 3000] [--coarse-masks model|degrade]
        [--synthetic DATASET] [--speed]

For every specimen of ``synthscope.sample_data.SPECIMENS`` named and every seed, a model
(coarse attention U-Net + diffusion refiner, ``synthscope.segment.train_segmenter`` with
its defaults and the budget given) is trained on the specimen's real training split, or
with ``--synthetic`` on a synthscope data set (e.g. ``synthscope generate
nuclei-2d-broad``), and scored on the specimen's test split, which nothing is trained on.
Arms, all from the same model:

- ``coarse``: the coarse model alone (``refine=False``);
- ``smoothed``: the coarse mask smoothed by morphology alone (opening and closing of
  radius 1, Gaussian smoothing of sigma 1): what refinement has to beat;
- ``refined``: one refinement draw; ``refined-5``: the mean of five draws.

Scores per test image, averaged: Dice and boundary F1 (tolerance 2 px) of the semantic
mask, AP@0.5 of the instances (``synthscope.evaluate.match_instances``), and for
``refined-5`` how much likelier an error is among the 10% most uncertain pixels than
among the rest. ``--speed`` times a 512x512 image (tiles of cells3d's test slices) with
one and with five draws. Models and scores are kept under ``--out`` (a rerun resumes);
``segment.json`` holds every run, ``segment.md`` the table.
"""

import argparse
import dataclasses
import json
import os
import time
from pathlib import Path

import numpy as np

from synthscope.evaluate import boundary_f1, dice, match_instances
from synthscope.io import read_dataset, write_text
from synthscope.sample_data import SPECIMENS
from synthscope.segment import Postprocessing, Segmenter, Training, train_segmenter

SMOOTHING = Postprocessing(opening=1, closing=1, smooth=1.0)
ARMS = ("coarse", "smoothed", "refined", "refined-5")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--specimens", default="cells3d,hela")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--coarse-steps", type=int, default=Training.coarse_steps)
    parser.add_argument("--refiner-steps", type=int, default=Training.refiner_steps)
    parser.add_argument("--coarse-masks", default=Training.coarse_masks)
    parser.add_argument("--synthetic", type=Path, help="train on this synthscope data set instead of the real split")
    parser.add_argument("--speed", action="store_true", help="also time a 512x512 image")
    args = parser.parse_args()
    training = Training(
        coarse_steps=args.coarse_steps, refiner_steps=args.refiner_steps, coarse_masks=args.coarse_masks
    )
    runs = []
    for name in args.specimens.split(","):
        test_images, test_labels = SPECIMENS[name].load("test")
        for seed in map(int, args.seeds.split(",")):
            model = _model(args, name, seed, training)
            scores_file = model.source["path"] + f"/scores-{name}.json"
            if Path(scores_file).is_file():
                scores = json.loads(Path(scores_file).read_text())
            else:
                scores = score(model, test_images, test_labels, seed=seed)
                write_text(scores_file, json.dumps(scores, indent=2))
            runs.append({"specimen": name, "seed": seed, "training": dataclasses.asdict(training), **scores})
            print(name, seed, json.dumps(scores), flush=True)
    if args.speed:
        runs.append({"speed": speed(Segmenter.load(model.source["path"]))})
        print(runs[-1], flush=True)
    write_text(args.out / "segment.json", json.dumps(runs, indent=2))
    write_text(args.out / "segment.md", table(runs))


def _model(args, name, seed, training):
    """Return the trained model of (specimen, seed), training it unless its folder is complete."""
    source = "synthetic" if args.synthetic else name
    folder = args.out / "models" / f"{source}-seed{seed}-{training.coarse_masks}"
    if (folder / "config.json").is_file():
        return Segmenter.load(folder)
    if args.synthetic:
        items = list(read_dataset(args.synthetic))
        images, labels = [item.picture for item in items], [item.labels for item in items]
    else:
        images, labels = SPECIMENS[name].load("train")
    resume = (folder / "coarse_training.json").is_file()
    began = time.perf_counter()
    model = train_segmenter(list(images), list(labels), folder, training=training, resume=resume, rng=seed)
    print(f"trained {folder} in {(time.perf_counter() - began) / 60:.1f} min", flush=True)
    return model


def score(model, images, labels, *, seed):
    """Return the mean scores of every arm over the test images."""
    smoothed = Segmenter(dataclasses.replace(model.config, postprocessing=SMOOTHING), model.coarse, model.refiner)
    arms = {
        "coarse": lambda image, rng: model(image, refine=False),
        "smoothed": lambda image, rng: smoothed(image, refine=False),
        "refined": lambda image, rng: model(image, ensemble=1, rng=rng),
        "refined-5": lambda image, rng: model(image, ensemble=5, rng=rng),
    }
    scores = {}
    for arm, run in arms.items():
        rows = []
        for index, (image, truth) in enumerate(zip(images, labels)):
            began = time.perf_counter()
            result = run(image, seed * 1000 + index)
            row = {
                "seconds": time.perf_counter() - began,
                "dice": dice(truth, result.mask),
                "boundary_f1": boundary_f1(truth, result.mask),
                "ap50": float(match_instances(truth, result.labels)["precision"][0]),
            }
            if arm == "refined-5":
                row["uncertainty_error_ratio"] = error_ratio(truth > 0, result.mask > 0, result.uncertainty)
            rows.append(row)
        scores[arm] = {key: float(np.mean([row[key] for row in rows])) for key in rows[0]}
    return scores


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
    """Return the mean ± sd of every score per specimen and arm, as a markdown table."""
    lines = ["| specimen | arm | Dice | boundary F1 | AP@0.5 | error ratio (top 10% uncertain) | s/image |"]
    lines.append("| --- | --- | --- | --- | --- | --- | --- |")
    for name in dict.fromkeys(run["specimen"] for run in runs if "specimen" in run):
        mine = [run for run in runs if run.get("specimen") == name]
        for arm in ARMS:
            cells = []
            for key in ("dice", "boundary_f1", "ap50", "uncertainty_error_ratio", "seconds"):
                values = [run[arm][key] for run in mine if key in run[arm]]
                cells.append(f"{np.mean(values):.3f} ± {np.std(values):.3f}" if values else "")
            lines.append(f"| {name} | {arm} | " + " | ".join(cells) + " |")
    speeds = [run["speed"] for run in runs if "speed" in run]
    if speeds:
        lines.append("")
        lines.append("512x512, seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in speeds[0].items()))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
