"""Are learned masks closer to held-out real nuclei than rule-based ones? Shapes, populations and cost.

    python benchmarks/learned_masks.py --out runs/learned/masks [--specimens cells3d,hela,cho]
        [--items 16] [--model nuclei-masks-2d] [--cost-items 3] [--touching 0,0.1,0.2,0.3] [--gap 1,2,3]
        [--mask-steps 20]
    python benchmarks/learned_masks.py --out runs/learned/samplers --samplers ddpm:20:1.0,ddpm:50:0.5 [--masks 300]

For every specimen of ``synthscope.sample_data.SPECIMENS``, the objects of its test split
(never used to train the mask model or to fit anything) are compared with the masks of
these generators, each making ``--items`` 256x256 label images at the specimen's pixel
size:

- ``fit``: the rule-based ``nuclei`` generator with the preset ``synthscope fit`` makes
  from the specimen's training images and labels;
- ``nuclei-2d``: the built-in preset as it is (fitted to cells3d);
- ``learned-fit-sizes``: the ``learned`` generator with the fitted preset's sizes,
  density, mitotic share and brightness (`synthscope.phantoms.learned.as_learned`), the
  mask model conditioned on the specimen (``learned.specimen``; ``"any"`` for a model
  without that class), and its ``touching`` and ``gap`` chosen from ``--touching`` x
  ``--gap`` on the training labels (the least sum of the difference in touching share and
  the KS statistic of nearest-neighbour distances, on items of 4 distinct shapes each):
  the learned shapes with the rule-based sizes;
- ``learned``: the same with its own size law, lognormal between the 5th and 95th
  percentiles of the equivalent radii of the training objects (not cut by the border);
- ``learned-any``: ``learned`` with ``specimen: any``, the mask model's class-free
  mixture of the specimens' shapes (what the conditioning changes).

Per object (those not cut by the image border): area, perimeter, solidity,
eccentricity and the first four Fourier descriptors of the centroid-distance signature
(|c_k| / |c_0|, k = 1..4); the table gives the two-sample Kolmogorov-Smirnov statistic
against the real test objects (lower is closer). Per population: the share of touching
objects (within 2 pixels of another, as `synthscope.phantoms.measure`), the labelled
fraction and the KS statistic of nearest-neighbour centroid distances. Cost: seconds per
256x256 item of ``sketch_item`` and of an ``ItemMaker`` (with refinement) for the presets
``nuclei-2d`` and ``nuclei-2d-learned``, measured in the same run. Writes
``OUT/learned_masks.json`` and ``OUT/learned_masks.md``.

With ``--samplers`` the script compares ways of sampling the mask model instead, on
shapes alone: for each ``sampler:steps:smoothing`` and specimen, ``--masks`` masks at the
model's crop scale against crops of the specimen's test objects at the same equivalent
radius (`synthscope.phantoms.mask_model.mask_crops`): KS of solidity, eccentricity and
fd1-fd4, the quartiles of eccentricity, and the CPU seconds (masks that fail the checks
are redrawn, so a setting with many rejects costs more). Writes
``OUT/samplers.json`` and ``OUT/samplers.md``.
"""

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree
from scipy.stats import ks_2samp
from skimage.measure import find_contours, regionprops

from synthscope.io import write_text
from synthscope.maker import ItemMaker
from synthscope.phantoms import load_preset, sketch_item
from synthscope.phantoms.fit import fit_preset
from synthscope.phantoms.learned import as_learned
from synthscope.phantoms.mask_model import load_mask_model, mask_crops, model_specimens, sample_masks
from synthscope.phantoms.measure import measure
from synthscope.sample_data import SPECIMENS

SHAPE_FEATURES = ("area", "perimeter", "solidity", "eccentricity", "fd1", "fd2", "fd3", "fd4")
ARMS = ("fit", "nuclei-2d", "learned-fit-sizes", "learned", "learned-any")
SAMPLER_FEATURES = ("solidity", "eccentricity", "fd1", "fd2", "fd3", "fd4")


def object_features(labels):
    """``{feature: values}`` of the objects of label images that the image border does not cut."""
    features = {name: [] for name in SHAPE_FEATURES}
    for image in labels:
        for region in regionprops(np.asarray(image)):
            low, high = np.reshape(region.bbox, (2, 2))
            if np.any(low == 0) or np.any(high == image.shape) or region.area < 9:
                continue
            features["area"].append(region.area)
            features["perimeter"].append(region.perimeter)
            features["solidity"].append(region.solidity)
            features["eccentricity"].append(region.eccentricity)
            for k, value in enumerate(fourier_descriptors(region.image), start=1):
                features[f"fd{k}"].append(value)
    return {name: np.asarray(values, float) for name, values in features.items()}


def fourier_descriptors(mask, *, count=4, samples=64):
    """|c_k| / |c_0| of the centroid distance along the outer contour, resampled evenly by arc length."""
    contour = max(find_contours(np.pad(mask, 1).astype(float), 0.5), key=len)
    steps = np.r_[0, np.cumsum(np.linalg.norm(np.diff(contour, axis=0), axis=1))]
    even = np.linspace(0, steps[-1], samples, endpoint=False)
    points = np.stack([np.interp(even, steps, contour[:, axis]) for axis in (0, 1)], axis=1)
    signature = np.linalg.norm(points - points.mean(axis=0), axis=1)
    spectrum = np.abs(np.fft.rfft(signature))
    return spectrum[1 : count + 1] / spectrum[0]


def population(labels):
    """Touching share, labelled fraction and all nearest-neighbour centroid distances of label images."""
    stats = measure([np.zeros(image.shape, np.float32) for image in labels], list(labels))
    distances = []
    for image in labels:
        centres = np.array([region.centroid for region in regionprops(np.asarray(image))])
        if len(centres) > 1:
            distances.extend(cKDTree(centres).query(centres, k=2)[0][:, 1])
    return {
        "touching": float(np.mean(stats["touching"])),
        "density": float(np.nanmean(stats["density"])),
        "nearest": np.asarray(distances),
    }


def generated_labels(preset, items, seed=0):
    return [sketch_item(preset, rng=seed + i).labels for i in range(items)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--specimens", default=",".join(SPECIMENS))
    parser.add_argument("--items", type=int, default=16)
    parser.add_argument("--model", default="nuclei-masks-2d")
    parser.add_argument("--touching", default="0,0.1,0.2,0.3", help="candidate values of learned.touching")
    parser.add_argument("--gap", default="1,2,3", help="candidate values of learned.gap")
    parser.add_argument("--mask-steps", type=int, help="learned.steps of the learned arms (the recipe's default)")
    parser.add_argument("--cost-items", type=int, default=3, help="items timed per preset (0: no timing)")
    parser.add_argument("--samplers", help="compare sampler:steps:smoothing settings on shapes instead")
    parser.add_argument("--masks", type=int, default=300, help="masks per sampler setting and specimen")
    args = parser.parse_args()
    if args.samplers:
        return compare_samplers(args)
    classes = model_specimens(args.model)
    results = {"load_average_start": os.getloadavg(), "specimens": {}}
    for name in args.specimens.split(","):
        specimen = SPECIMENS[name]
        images, labels = specimen.load("train")
        test_labels = specimen.load("test")[1]
        spacing = [specimen.pixel_size] * 2
        fitted = fit_preset(list(images), list(labels), spacing=spacing, rng=0)
        fitted = load_preset_dict(fitted, name, {"shape": [256, 256], "refine.model": None})
        real = object_features(test_labels)
        real_population = population(test_labels)
        train_touching = population(labels)["touching"]
        presets = {"fit": fitted, "nuclei-2d": load_preset("nuclei-2d", settings={"refine.model": None})}
        sampling = {"steps": args.mask_steps} if args.mask_steps else {}
        learned_preset = as_learned(fitted, model=args.model, specimen=name if name in classes else "any", **sampling)
        radii = np.sqrt(object_features(labels)["area"] / np.pi)
        own_sizes = {"learned.radius": np.percentile(radii, [5, 95]).round(2).tolist()}
        own_sizes["learned.radius_distribution"] = "lognormal"
        train_nearest = population(labels)["nearest"]
        chosen = None
        for touching in (float(t) for t in args.touching.split(",")):  # calibrate on the training labels
            for gap in (int(g) for g in args.gap.split(",")):
                settings = {"learned.touching": touching, "learned.gap": gap, "learned.distinct": 4}  # 4 shapes: quick
                trial = load_preset_dict(learned_preset, name, settings)
                pop = population(generated_labels(trial, max(args.items // 4, 2), seed=10_000))
                score = abs(pop["touching"] - train_touching) + ks_2samp(pop["nearest"], train_nearest).statistic
                if chosen is None or score < chosen[2]:
                    chosen = (touching, gap, score)
        calibrated = {"learned.touching": chosen[0], "learned.gap": chosen[1]}
        presets["learned-fit-sizes"] = load_preset_dict(learned_preset, name, calibrated)
        presets["learned"] = load_preset_dict(presets["learned-fit-sizes"], name, own_sizes)
        presets["learned-any"] = load_preset_dict(presets["learned"], name, {"learned.specimen": "any"})
        row = {
            "real_objects": len(real["area"]),
            "train_touching": train_touching,
            "learned_specimen": presets["learned"]["learned"]["specimen"],
            "learned_touching": chosen[0],
            "learned_gap": chosen[1],
            "learned_radius": own_sizes["learned.radius"],
            "fit_radius": list(fitted["nuclei"]["radius"]),
        }
        row["real_population"] = {k: v for k, v in real_population.items() if k != "nearest"}
        for arm in ARMS:
            started = time.process_time()
            arm_labels = generated_labels(presets[arm], args.items)
            seconds = (time.process_time() - started) / args.items
            features = object_features(arm_labels)
            pop = population(arm_labels)
            row[arm] = {
                "objects": len(features["area"]),
                "ks": {k: float(ks_2samp(features[k], real[k]).statistic) for k in SHAPE_FEATURES},
                "touching": pop["touching"],
                "density": pop["density"],
                "ks_nearest": float(ks_2samp(pop["nearest"], real_population["nearest"]).statistic),
                "cpu_seconds_per_item": seconds,
            }
            print(name, arm, json.dumps(row[arm]["ks"]), flush=True)
        results["specimens"][name] = row
    results["cost"] = cost(args.cost_items) if args.cost_items else {}
    results["load_average_end"] = os.getloadavg()
    args.out.mkdir(parents=True, exist_ok=True)
    write_text(args.out / "learned_masks.json", json.dumps(results, indent=2, default=float) + "\n")
    write_text(args.out / "learned_masks.md", table(results))
    print(table(results))


def compare_samplers(args):
    """Shape-only comparison of sampler settings with the specimens' test objects (``--samplers``)."""
    model = load_mask_model(args.model)
    classes = model_specimens(args.model)
    size, radius = model.config.patch_size[-1], model.extra["mask_radius"]
    results = {"load_average_start": os.getloadavg(), "model": args.model, "masks": args.masks, "settings": {}}
    for setting in args.samplers.split(","):
        sampler, steps, smoothing = setting.split(":")
        for name in args.specimens.split(","):
            crops = mask_crops(list(SPECIMENS[name].load("test")[1]), size=size, radius=radius)
            real = object_features(crops.astype(np.uint8))
            started = time.process_time()
            masks = sample_masks(
                model,
                args.masks,
                specimen=name if name in classes else "any",
                steps=int(steps),
                sampler=sampler,
                smoothing=float(smoothing),
                rng=0,
            )
            seconds = time.process_time() - started
            features = object_features((masks > 0.5).astype(np.uint8))
            results["settings"].setdefault(setting, {})[name] = {
                "ks": {k: float(ks_2samp(features[k], real[k]).statistic) for k in SAMPLER_FEATURES},
                "eccentricity_quartiles": np.percentile(features["eccentricity"], [25, 50, 75]).tolist(),
                "real_eccentricity_quartiles": np.percentile(real["eccentricity"], [25, 50, 75]).tolist(),
                "real_objects": len(real["eccentricity"]),
                "cpu_seconds": seconds,
            }
            print(setting, name, json.dumps(results["settings"][setting][name]), flush=True)
    results["load_average_end"] = os.getloadavg()
    args.out.mkdir(parents=True, exist_ok=True)
    write_text(args.out / "samplers.json", json.dumps(results, indent=2) + "\n")
    write_text(args.out / "samplers.md", sampler_table(results))
    print(sampler_table(results))


def sampler_table(results):
    lines = ["| setting | specimen | " + " | ".join(SAMPLER_FEATURES) + " | eccentricity quartiles | CPU s |"]
    lines.append("| --- | --- |" + " --- |" * (len(SAMPLER_FEATURES) + 2))
    for setting, rows in results["settings"].items():
        for name, r in rows.items():
            quartiles = " / ".join(f"{q:.2f}" for q in r["eccentricity_quartiles"])
            real = " / ".join(f"{q:.2f}" for q in r["real_eccentricity_quartiles"])
            lines.append(
                f"| {setting} | {name} | "
                + " | ".join(f"{r['ks'][k]:.3f}" for k in SAMPLER_FEATURES)
                + f" | {quartiles} (real {real}) | {r['cpu_seconds']:.1f} |"
            )
    return "\n".join(lines) + "\n"


def load_preset_dict(preset, name, settings):
    """A preset dict checked by `load_preset` (through a file), with dotted `settings` applied."""
    import tempfile

    import yaml

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{name}.yaml"
        path.write_text(yaml.safe_dump({k: v for k, v in preset.items() if k != "name"}))
        return load_preset(path, settings=settings)


def cost(items):
    """CPU seconds per item of the sketch and of the whole item (refined), nuclei-2d and nuclei-2d-learned."""
    out = {}
    for preset in ("nuclei-2d", "nuclei-2d-learned"):
        loaded = load_preset(preset)
        sketch_item(loaded, rng=99)  # load models and caches once
        started = time.process_time()
        for i in range(items):
            sketch_item(loaded, rng=i)
        sketched = (time.process_time() - started) / items
        maker = ItemMaker(preset, rng=0)
        maker(items)  # the refinement model loaded once
        started = time.process_time()
        for i in range(items):
            maker(i)
        out[preset] = {"sketch_cpu_seconds": sketched, "item_cpu_seconds": (time.process_time() - started) / items}
    return out


def table(results):
    lines = ["| specimen | arm | " + " | ".join(SHAPE_FEATURES) + " | NN dist | touching | density |"]
    lines.append("| --- | --- |" + " --- |" * (len(SHAPE_FEATURES) + 3))
    for name, row in results["specimens"].items():
        real = row["real_population"]
        lines.append(
            f"| {name} | real test ({row['real_objects']} objects) |"
            + " |" * len(SHAPE_FEATURES)
            + f" | {real['touching']:.2f} | {real['density']:.2f} |"
        )
        for arm in ARMS:
            r = row[arm]
            best = {k: min(row[a]["ks"][k] for a in ARMS) for k in SHAPE_FEATURES}
            cells = [f"**{r['ks'][k]:.3f}**" if r["ks"][k] == best[k] else f"{r['ks'][k]:.3f}" for k in SHAPE_FEATURES]
            lines.append(
                f"| {name} | {arm} ({r['objects']}) | "
                + " | ".join(cells)
                + f" | {r['ks_nearest']:.3f} | {r['touching']:.2f} | {r['density']:.2f} |"
            )
    lines.append("")
    for preset, c in results["cost"].items():
        lines.append(
            f"- {preset}: sketch {c['sketch_cpu_seconds']:.2f} CPU s, whole item {c['item_cpu_seconds']:.2f} CPU s"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
