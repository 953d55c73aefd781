"""A medical sanity check of segmentation with diffusion refinement: brain tissue on MNI152 slices.

    pip install --no-deps nilearn==0.14.1      # ships the template; nilearn is not imported
    OMP_NUM_THREADS=1 python scripts/segment_mni152.py --out runs/segdefault/mni152 \
        [--tissue wm|gm] [--seeds 0] [--coarse-steps 600] [--refiner-steps 600]

The MNI152 2009a symmetric T1 template and its tissue probability maps, as the nilearn
package ships them (``nilearn/datasets/data/mni_icbm152_*_tal_nlin_sym_09a_converted.nii.gz``,
located with ``importlib.util.find_spec``; nothing is downloaded), are read with
`synthscope.io.read_image`, averaged over 2x2x2 voxels (2 mm) and cut into axial slices.
The truth is the tissue probability above one half. Slices holding the tissue are
grouped in blocks of 8; even blocks train, odd blocks test, less one slice at each end
of a test block (a gap of 2 mm to its training neighbours). The generic
`synthscope.segment.train_segmenter` (its default networks, 64x64 patches) is trained on the
training slices and scored on the test slices: Dice and boundary F1 of the coarse mask,
of the coarse mask smoothed by morphology, and of the refined mask (1 and 5 draws).
Writes ``mni152.json`` and ``mni152.md`` into ``--out``; the model is kept there (a rerun
resumes).
"""

import argparse
import dataclasses
import importlib.util
import json
import os
import time
from pathlib import Path

import numpy as np
from skimage.transform import downscale_local_mean

from synthscope.errors import InputError
from synthscope.evaluate import boundary_f1, dice
from synthscope.io import read_image, write_text
from synthscope.segment import CoarseConfig, Postprocessing, Segmenter, SegmenterConfig, Training, train_segmenter
from synthscope.segment.train import REFINER

TEMPLATE = "mni_icbm152_{}_tal_nlin_sym_09a_converted.nii.gz"
SMOOTHING = Postprocessing(opening=1, closing=1, smooth=1.0)
BLOCK = 8
ARMS = ("coarse", "smoothed", "refined", "refined-5")


def template_slices(tissue):
    """Return the axial T1 slices (float32, 2 mm) and the tissue masks (uint8) that hold the tissue."""
    spec = importlib.util.find_spec("nilearn")
    if spec is None:
        raise InputError("the MNI152 template comes with nilearn: pip install --no-deps nilearn==0.14.1")
    folder = Path(spec.origin).parent / "datasets" / "data"
    t1, probability = (read_image(folder / TEMPLATE.format(kind)).data for kind in ("t1", tissue))
    t1 = downscale_local_mean(t1.astype(np.float32), (2, 2, 2))
    mask = downscale_local_mean(probability.astype(np.float32) / 255, (2, 2, 2)) > 0.5
    keep = mask.mean(axis=(1, 2)) > 0.01
    return t1[keep], mask[keep].astype(np.uint8)


def split(count):
    """Return the indices of the training and the test slices (blocks of `BLOCK`, test ends left out)."""
    block = np.arange(count) // BLOCK
    inner = (np.arange(count) % BLOCK > 0) & (np.arange(count) % BLOCK < BLOCK - 1)
    return np.flatnonzero(block % 2 == 0), np.flatnonzero((block % 2 == 1) & inner)


def score(model, images, masks, *, seed):
    """Return the mean Dice and boundary F1 of every arm over `images` against `masks`."""
    smoothed = Segmenter(dataclasses.replace(model.config, postprocessing=SMOOTHING), model.coarse, model.refiner)
    arms = {
        "coarse": lambda image, k: model(image, refine=False),
        "smoothed": lambda image, k: smoothed(image, refine=False),
        "refined": lambda image, k: model(image, ensemble=1, rng=k),
        "refined-5": lambda image, k: model(image, ensemble=5, rng=k),
    }
    scores = {}
    for arm in ARMS:
        results = [arms[arm](image, seed * 1000 + k).mask for k, image in enumerate(images)]
        scores[arm] = {
            "dice": float(np.mean([dice(mask, result) for mask, result in zip(masks, results)])),
            "boundary_f1": float(np.mean([boundary_f1(mask, result) for mask, result in zip(masks, results)])),
        }
    return scores


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--tissue", choices=("wm", "gm"), default="wm", help="white or grey matter")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--coarse-steps", type=int, default=600)
    parser.add_argument("--refiner-steps", type=int, default=600)
    args = parser.parse_args()
    images, masks = template_slices(args.tissue)
    train, test = split(len(images))
    print(f"{len(images)} slices of {images.shape[1:]}: {len(train)} train, {len(test)} test", flush=True)
    config = SegmenterConfig(coarse=CoarseConfig(patch_size=(64, 64)))
    refiner = dataclasses.replace(REFINER, patch_size=(64, 64))
    training = Training(coarse_steps=args.coarse_steps, refiner_steps=args.refiner_steps)
    runs = []
    for seed in map(int, args.seeds.split(",")):
        folder = args.out / f"{args.tissue}-seed{seed}"
        began = time.process_time()
        if (folder / "config.json").is_file():
            model = Segmenter.load(folder)
        else:
            resume = (folder / "coarse_training.json").is_file()
            model = train_segmenter(
                list(images[train]),
                list(masks[train]),
                folder,
                config=config,
                refiner=refiner,
                training=training,
                resume=resume,
                rng=seed,
            )
        trained = time.process_time() - began
        scores = score(model, images[test], masks[test], seed=seed)
        runs.append({"seed": seed, "tissue": args.tissue, "training_cpu_seconds": trained, **scores})
        print(json.dumps(runs[-1]), flush=True)
    record = {"slices": {"train": train.tolist(), "test": test.tolist()}, "load average": os.getloadavg()[0]}
    write_text(args.out / "mni152.json", json.dumps({**record, "runs": runs}, indent=2))
    lines = [f"MNI152 {args.tissue}, {len(train)} training and {len(test)} test axial slices (2 mm)", ""]
    lines += ["| arm | Dice | boundary F1 |", "| --- | --- | --- |"]
    for arm in ARMS:
        cells = [f"{np.mean([r[arm][k] for r in runs]):.3f}" for k in ("dice", "boundary_f1")]
        lines.append(f"| {arm} | " + " | ".join(cells) + " |")
    write_text(args.out / "mni152.md", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
