"""Are learned masks closer to held-out real nuclei than rule-based ones? Shapes, populations and cost.

    python benchmarks/learned_masks.py --out runs/learned/masks [--specimens cells3d,hela,cho]
        [--items 16] [--seeds 0,1,2] [--model nuclei-masks-2d] [--cost-items 3] [--touching 0,0.1,0.2,0.3]
        [--gap 2,3] [--min-distance 0,1.6,1.9,2.2] [--mask-steps 20]
    python benchmarks/learned_masks.py --out runs/learned/samplers --samplers ddpm:20:1.0,ddpm:50:0.5 [--masks 300]

For every specimen of ``synthscope.sample_data.SPECIMENS``, the objects of its test split
(never used to train the mask model or to fit anything) are compared with the masks of
these generators, each making label images at the specimen's pixel size of the shape of
its real images (``--window real``: population figures such as nearest-neighbour
distances depend on the window, through the objects near its border) covering the area
of ``--items`` 256x256 images, or ``--items`` 256x256 images (``--window 256``):

- ``fit``: the rule-based ``nuclei`` generator with the preset ``synthscope fit`` makes
  from the specimen's training images and labels;
- ``nuclei-2d``: the built-in preset as it is (fitted to cells3d);
- ``learned-fit-sizes``: the ``learned`` generator with the fitted preset's sizes,
  density, mitotic share and brightness (`synthscope.phantoms.learned.as_learned`), the
  mask model conditioned on the specimen (``learned.specimen``; ``"any"`` for a model
  without that class), and the packing calibrated for ``learned`` below: the learned
  shapes with the rule-based sizes;
- ``learned``: the same with its own count (the objects per pixel of the training
  images, as a ``learned.density``: `count_matched`), its own size law, a lognormal fitted to the equivalent radii of
  the training objects (not cut by the border) either by their 5th and 95th percentiles
  (``quantiles``) or by their median and quartiles (``robust`` to the small tail, which
  the mitotic share draws again at 0.6 times the radius), and its ``touching``, ``gap``
  and ``min_distance`` (centre hard core, ``--min-distance`` times the training objects'
  median radius): the law and the packing are chosen together on the training labels
  (the least sum of the differences in touching share and in labelled fraction and the
  KS statistic of nearest-neighbour distances, on items of 4 distinct shapes each);
- ``learned-any``: ``learned`` with ``specimen: any``, the mask model's class-free
  mixture of the specimens' shapes (what the conditioning changes).

Per object (those not cut by the image border): area, perimeter, solidity,
eccentricity and the first four Fourier descriptors of the centroid-distance signature
(|c_k| / |c_0|, k = 1..4); the table gives the two-sample Kolmogorov-Smirnov statistic
against the real test objects (lower is closer). Per population: the share of touching
objects (within 2 pixels of another, as `synthscope.phantoms.measure`), the labelled
fraction and the KS statistic of nearest-neighbour centroid distances. With several
``--seeds`` every arm draws its ``--items`` once per seed and the tables give the mean
(the JSON keeps each seed's figures). Cost: seconds per
256x256 item of ``sketch_item`` and of an ``ItemMaker`` (with refinement) for the presets
``nuclei-2d`` and ``nuclei-2d-learned``, measured in the same run. Writes
``OUT/learned_masks.json`` and ``OUT/learned_masks.md``.

With ``--samplers`` the script compares ways of sampling the mask model instead, on
shapes alone: for each ``sampler:steps:smoothing`` and specimen, ``--masks`` masks at the
model's crop scale against crops of the specimen's test objects at the same equivalent
radius (`synthscope.phantoms.mask_crops.mask_crops`): KS of solidity, eccentricity and
fd1-fd4, the quartiles of eccentricity, and the CPU seconds (masks that fail the checks
are redrawn, so a setting with many rejects costs more). Writes
``OUT/samplers.json`` and ``OUT/samplers.md``.
"""

import argparse
import itertools
import json
import os
import time
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import ndtri
from scipy.stats import ks_2samp
from skimage.measure import find_contours, regionprops

from synthscope.io import write_text
from synthscope.maker import ItemMaker
from synthscope.phantoms import load_preset, sketch_item
from synthscope.phantoms.fit import fit_preset
from synthscope.phantoms.learned import LearnedRecipe, as_learned
from synthscope.phantoms.mask_crops import mask_crops
from synthscope.phantoms.mask_model import load_mask_model, model_specimens, sample_masks
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
    parser.add_argument("--seeds", default="0", help="item seeds of the arms, comma-separated (tables: the mean)")
    parser.add_argument(
        "--window", choices=("real", "256"), default="real", help="item shape: the real images' or 256x256"
    )
    parser.add_argument("--model", default="nuclei-masks-2d")
    parser.add_argument("--touching", default="0,0.1,0.2,0.3", help="candidate values of learned.touching")
    parser.add_argument("--gap", default="2,3", help="candidate values of learned.gap")
    parser.add_argument(
        "--min-distance", default="0,1.6,1.9,2.2", help="candidate learned.min_distance over the median radius"
    )
    parser.add_argument("--mask-steps", type=int, help="learned.steps of the learned arms (the recipe's default)")
    parser.add_argument("--cost-items", type=int, default=3, help="items timed per preset (0: no timing)")
    parser.add_argument("--samplers", help="compare sampler:steps:smoothing settings on shapes instead")
    parser.add_argument("--masks", type=int, default=300, help="masks per sampler setting and specimen")
    args = parser.parse_args()
    if args.samplers:
        return compare_samplers(args)
    classes = model_specimens(args.model)
    seeds = args.seeds.split(",")
    results = {"load_average_start": os.getloadavg(), "seeds": seeds, "specimens": {}}
    for name in args.specimens.split(","):
        specimen = SPECIMENS[name]
        images, labels = specimen.load("train")
        test_labels = specimen.load("test")[1]
        spacing = [specimen.pixel_size] * 2
        window = list(test_labels.shape[1:]) if args.window == "real" else [256, 256]
        items = max(2, round(args.items * 256 * 256 / np.prod(window)))  # the area of --items 256x256 items
        fitted = fit_preset(list(images), list(labels), spacing=spacing, rng=0)
        fitted = load_preset_dict(fitted, name, {"shape": window, "refine.model": None})
        real = object_features(test_labels)
        real_population = population(test_labels)
        train_touching = population(labels)["touching"]
        presets = {
            "fit": fitted,
            "nuclei-2d": load_preset("nuclei-2d", settings={"refine.model": None, "shape": window}),
        }
        sampling = {"steps": args.mask_steps} if args.mask_steps else {}
        learned_preset = as_learned(fitted, model=args.model, specimen=name if name in classes else "any", **sampling)
        radii = np.sqrt(object_features(labels)["area"] / np.pi)
        laws = {"quantiles": np.percentile(radii, [5, 95]).round(2).tolist(), "robust": robust_lognormal(radii)}
        train_density = population(labels)["density"]
        per_pixel = np.mean([np.unique(image).size - 1 for image in labels]) / np.prod(labels.shape[1:])
        train_nearest = population(labels)["nearest"]
        chosen = None
        for law, touching, gap, distance in itertools.product(
            laws, *(np.asarray(values.split(","), float) for values in (args.touching, args.gap, args.min_distance))
        ):  # calibrate on the training labels
            packing = {
                "learned.touching": float(touching),
                "learned.gap": int(gap),
                "learned.min_distance": round(float(distance * np.median(radii)), 1),
            }
            sizes = {
                "learned.radius": laws[law],
                "learned.radius_distribution": "lognormal",
                "learned.density": count_matched(learned_preset, laws[law], train_density, per_pixel, window),
            }
            trial = load_preset_dict(learned_preset, name, sizes | packing | {"learned.distinct": 4})  # 4 shapes: quick
            pop = population(generated_labels(trial, max(items // 4, 2), seed=10_000))
            score = abs(pop["touching"] - train_touching) + abs(pop["density"] - train_density)
            score += ks_2samp(pop["nearest"], train_nearest).statistic
            if chosen is None or score < chosen[2]:
                chosen = (sizes, packing, score, law)
        own_sizes, calibrated = chosen[:2]
        presets["learned-fit-sizes"] = load_preset_dict(learned_preset, name, calibrated)
        presets["learned"] = load_preset_dict(learned_preset, name, own_sizes | calibrated)
        presets["learned-any"] = load_preset_dict(presets["learned"], name, {"learned.specimen": "any"})
        row = {
            "window": window,
            "items": items,
            "real_objects": len(real["area"]),
            "train_touching": train_touching,
            "learned_specimen": presets["learned"]["learned"]["specimen"],
            "learned_packing": calibrated,
            "calibration_score": chosen[2],
            "learned_size_law": chosen[3],
            "learned_radius": own_sizes["learned.radius"],
            "learned_density": own_sizes["learned.density"],
            "fit_radius": list(fitted["nuclei"]["radius"]),
        }
        row["real_population"] = {k: v for k, v in real_population.items() if k != "nearest"}
        for arm in ARMS:
            runs = [compare(presets[arm], items, 1000 * int(seed), real, real_population) for seed in seeds]
            row[arm] = {key: _mean([run[key] for run in runs]) for key in runs[0]} | {"seeds": runs}
            print(name, arm, json.dumps({k: row[arm][k] for k in ("ks", "ks_nearest", "touching")}), flush=True)
        results["specimens"][name] = row
    results["cost"] = cost(args.cost_items) if args.cost_items else {}
    results["load_average_end"] = os.getloadavg()
    args.out.mkdir(parents=True, exist_ok=True)
    write_text(args.out / "learned_masks.json", json.dumps(results, indent=2, default=float) + "\n")
    write_text(args.out / "learned_masks.md", table(results))
    print(table(results))


def count_matched(preset, radius, density, per_pixel, window):
    """The ``learned.density`` at which the lognormal `radius` law gives `per_pixel` objects per pixel of `window`.

    `density` (the training images' labelled fraction) gives the count of the law's mean
    size; the objects per pixel of the training images decide it instead, since the
    nearest-neighbour distances follow the count.
    """
    law = {
        "radius": radius,
        "radius_distribution": "lognormal",
        "mitotic_fraction": preset["learned"]["mitotic_fraction"],
    }
    count = LearnedRecipe(density=density, **law).resolve(window)["count"]
    return round(float(min(density * per_pixel * np.prod(window) / count, 0.6)), 3)


def robust_lognormal(radii):
    """The 5th and 95th percentiles of the lognormal with the median and quartiles of `radii` (a size law)."""
    low, median, high = np.log(np.percentile(radii, [25, 50, 75]))
    sigma = (high - low) / (2 * ndtri(0.75))
    return np.exp(median + np.array([-1, 1]) * ndtri(0.95) * sigma).round(2).tolist()


def compare(preset, items, seed, real, real_population):
    """Shape KS statistics and population figures of `items` of `preset` drawn from `seed`, against the real ones."""
    started = time.process_time()
    arm_labels = generated_labels(preset, items, seed=seed)
    seconds = (time.process_time() - started) / items
    features = object_features(arm_labels)
    pop = population(arm_labels)
    return {
        "objects": len(features["area"]),
        "ks": {k: float(ks_2samp(features[k], real[k]).statistic) for k in SHAPE_FEATURES},
        "touching": pop["touching"],
        "density": pop["density"],
        "ks_nearest": float(ks_2samp(pop["nearest"], real_population["nearest"]).statistic),
        "cpu_seconds_per_item": seconds,
    }


def _mean(values):
    """The mean of numbers, or of dicts of numbers key by key."""
    if isinstance(values[0], dict):
        return {key: _mean([v[key] for v in values]) for key in values[0]}
    return float(np.mean(values))


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
            nearest = [run["ks_nearest"] for run in r["seeds"]]
            spread = f" ± {np.std(nearest):.3f}" if len(nearest) > 1 else ""
            lines.append(
                f"| {name} | {arm} ({r['objects']:.0f}) | "
                + " | ".join(cells)
                + f" | {r['ks_nearest']:.3f}{spread} | {r['touching']:.2f} | {r['density']:.2f} |"
            )
    lines.append("")
    for name, row in results["specimens"].items():
        packing = ", ".join(f"{k.split('.')[1]} {v}" for k, v in row["learned_packing"].items())
        lines.append(
            f"- {name}: {row['items']} items of {row['window'][0]}x{row['window'][1]} per seed; learned radius "
            f"{row['learned_radius']} ({row['learned_size_law']}), density {row['learned_density']}, {packing}"
        )
    for preset, c in results["cost"].items():
        lines.append(
            f"- {preset}: sketch {c['sketch_cpu_seconds']:.2f} CPU s, whole item {c['item_cpu_seconds']:.2f} CPU s"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
