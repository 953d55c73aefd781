"""Texture from noise (issue 19, item 4): images drawn from pure noise by a mask-conditioned model.

    python benchmarks/texture_from_noise.py --out runs/texture/bench [--items 16] [--model DIR]
        [--seeds 0,1,2] [--specimens cells3d,hela,cho] [--arms sketches,sdedit,noise-tile256]

On the same items of ``nuclei-2d-learned`` (256x256, base seed 1000 + each of `--seeds`;
masks drawn by the mask model, ``learned.specimen: any``), against the held-out real images
of each of `--specimens` (`synthscope.sample_data.SPECIMENS` ``"test"``: by default the
cells3d slices, on which every model here was trained), compares (`--arms`, in brackets)

- the raw sketches (``sketches``);
- the preset's SDEdit refinement (``sdedit``: ``nuclei-fluo-2d-masked``, t=400, background held);
- drawn from pure noise (``refine.t_start: noise``, nothing held) by ``nuclei-fluo-2d-masked``
  (``noise-masked``: noise prediction, linear schedule, 64x64 tiles): the earlier attempt;
- drawn from pure noise by `--model` (velocity, cosine schedule; default
  ``nuclei-fluo-2d-noise``) in its 128x128 tiles (``noise``), and in one whole-image pass
  (``noise-tile256``: ``refine.tile: 256``);

each as `synthscope.maker.ItemMaker` makes the item (annotation update, mismatch policy);
and, to separate the tiling from the model, both models from noise in one whole-image pass
(``pass-masked``, ``pass-noise``: `synthscope.diffusion.refine` with a 256x256 tile, no
annotation update). For every set: realism (KID, FID, SWD of `synthscope.evaluate` on 32x32
patches, at most `--max-patches` drawn at random, against at most as many held-out patches
of each specimen (cells3d: all 192) whose Inception features are computed once, as
``benchmarks/distill.py`` does; the floor compares two random halves of them; the images
are compared as they are, at the pixel size of the preset and of each specimen),
the background (3 px from every label): its mean level, its spread over 32x32 blocks
(`synthscope.evaluate.seams.block_spread`) and the seam check at the 64- and 128-pixel tile
borders (`seam_step`: border step over interior step of the background's mean profiles),
the refinement's mismatches, and CPU seconds per item (one thread). In 3D (`--volumes`
items of ``nuclei-3d-learned``, 24x128x128): the texture z-correlation
(`synthscope.evaluate.texture_z_correlation`) of the preset's 3D model and of `--model`
drawing each volume slice by slice from noise mixed between slices by ``slice_rho``
(`synthscope.diffusion.slice_noise`, the cascaded-diffusion source's rho), beside the
held-out real planes'. With several seeds the tables give the mean (KID, FID, SWD: ± the
standard deviation over seeds; the JSON keeps each seed's figures). Writes
``OUT/results.json`` and prints markdown tables, one per specimen.
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage as ndi

from synthscope.diffusion import Stage, refine
from synthscope.evaluate import fid, inception_features, kid, swd, texture_z_correlation, to_patches
from synthscope.evaluate.seams import block_spread, seam_step
from synthscope.maker import ItemMaker
from synthscope.refine import condition
from synthscope.sample_data import SPECIMENS, nuclei_3d_zoomed

PRESET, PRESET_3D = "nuclei-2d-learned", "nuclei-3d-learned"
NOISE = {"refine.t_start": "noise", "refine.hold": None}
ARMS = ("sketches", "sdedit", "noise-masked", "noise", "noise-tile256", "pass-masked", "pass-noise")
#: Settings of every arm: masks of the mask model's class-free mixture, which every mask model draws.
BASE = {"learned.specimen": "any"}
#: The 2D preset as these figures were measured (session 11): no out-of-plane nuclei, refined by
#: the mask-conditioned model from t = 400 (the preset now draws out-of-plane nuclei and refines
#: as nuclei-2d does).
MEASURED_2D = {
    "learned.out_of_plane": 0,
    "learned.density": 0.271,
    "refine.model": "nuclei-fluo-2d-masked",
    "refine.condition": "mask",
    "refine.sampler": "dpm",
    "refine.steps": 10,
    "refine.t_start": 400,
    "refine.hold": "background",
}


def arms(model):
    """``{key: (label, settings)}`` of the arms made by `ItemMaker`; None settings: the raw sketches."""
    name = Path(model).name
    return {
        "sketches": ("sketches", None),
        "sdedit": ("SDEdit t=400, nuclei-fluo-2d-masked (preset)", {}),
        "noise-masked": ("noise, nuclei-fluo-2d-masked, 64 tiles", NOISE),
        "noise": (f"noise, {name}, 128 tiles", NOISE | {"refine.model": model}),
        "noise-tile256": (f"noise, {name}, refine.tile 256", NOISE | {"refine.model": model, "refine.tile": 256}),
    }


def passes(model):
    """``{key: (label, model)}`` of the arms drawn from noise in one whole-image pass."""
    return {
        "pass-masked": ("noise, nuclei-fluo-2d-masked, one 256x256 pass", "nuclei-fluo-2d-masked"),
        "pass-noise": (f"noise, {Path(model).name}, one 256x256 pass", model),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/texture/bench"))
    parser.add_argument("--items", type=int, default=16)
    parser.add_argument("--seeds", default="0", help="comma-separated; seed s draws the items of base seed 1000 + s")
    parser.add_argument("--specimens", default="cells3d", help="whose held-out images score every set")
    parser.add_argument("--arms", default=",".join(ARMS), help=f"comma-separated, of {', '.join(ARMS)}")
    parser.add_argument("--model", default="nuclei-fluo-2d-noise", help="the from-noise model (name or folder)")
    parser.add_argument("--patch-size", type=int, default=32)
    parser.add_argument("--max-patches", type=int, default=512, help="random patches kept of each set")
    parser.add_argument("--volumes", type=int, default=2, help="nuclei-3d-learned volumes for the 3D check (0: none)")
    parser.add_argument("--slice-rho", type=float, nargs="+", default=[0.0, 1.0, 3.0])
    args = parser.parse_args()
    names, chosen = args.specimens.split(","), args.arms.split(",")
    unknown = sorted(set(names) - set(SPECIMENS)) + sorted(set(chosen) - set(ARMS))
    if unknown:
        parser.error(f"unknown specimens or arms: {', '.join(unknown)}")
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    references, results = {}, {}
    for name in names:
        real_images, real_labels = SPECIMENS[name].load("test")
        references[name] = _reference(list(real_images), size=args.patch_size, max_patches=args.max_patches)
        results[name] = {"real test images": [_background(list(real_images), list(real_labels))]}
    for seed in (int(s) for s in args.seeds.split(",")):
        for label, row in _seed(1000 + seed, chosen, references, args).items():
            for name in names:
                results[name].setdefault(label, []).append(row["background"] | row[name])
            print(seed, label, json.dumps(row, default=float), flush=True)
    for name in names:
        results[name]["real vs real (floor: two halves)"] = [references[name]["floor"]]
        print(f"\n{name}\n\n{_table(results[name])}", flush=True)
    volumes = _volumes(args.model, args.volumes, rhos=args.slice_rho) if args.volumes else {}
    for label, value in volumes.items():
        print(f"| {label} | {value:.3f} |")
    output = {"seeds": args.seeds, "2d": results, "3d": volumes}
    (args.out / "results.json").write_text(json.dumps(output, indent=2, default=float) + "\n")


def _seed(rng, chosen, references, args):
    """``{label: {"background": ..., specimen: realism}}`` of the `chosen` arms on the items of base seed `rng`."""
    sketch_maker = ItemMaker(PRESET, rng=rng, settings=BASE | MEASURED_2D | {"refine.model": None})
    began = time.process_time()
    items = [sketch_maker(i) for i in range(args.items)]
    sketch_seconds = (time.process_time() - began) / args.items
    rows = {}
    for key, (label, settings) in arms(args.model).items():
        if key not in chosen:
            continue
        began = time.process_time()
        if settings is None:
            made, report = items, {"cpu_s_per_item": sketch_seconds}
        else:
            maker = ItemMaker(PRESET, rng=rng, settings=BASE | MEASURED_2D | settings)
            made = [maker(i) for i in range(args.items)]
            report = {"cpu_s_per_item": (time.process_time() - began) / args.items, **_mismatches(made)}
        images = [item.sketch if settings is None else item.image for item in made]
        rows[label] = _score(references, images, [item.labels for item in made], args)
        rows[label]["background"] |= report
    for key, (label, model) in passes(args.model).items():
        if key in chosen:
            images, seconds = _untiled(model, items, rng)
            rows[label] = _score(references, images, [item.labels for item in items], args)
            rows[label]["background"]["cpu_s_refine"] = seconds
    return rows


def _volumes(model, count, *, rhos):
    """Texture z-correlation of `count` ``nuclei-3d-learned`` volumes: the preset, and drawn from noise slice
    by slice by the 2D `model` with each slice correlation `rhos`; beside that of the held-out real planes."""
    real, _ = nuclei_3d_zoomed()
    scores = {"real held-out planes (nuclei_3d_zoomed, 20-29)": texture_z_correlation(real[20:30])}
    made = [ItemMaker(PRESET_3D, rng=1000, settings=BASE)(i) for i in range(count)]
    scores["SDEdit t=400, nuclei-fluo-3d (preset)"] = float(np.mean([texture_z_correlation(v.image) for v in made]))
    settings = BASE | NOISE | {"refine.model": model, "refine.condition": "mask"}
    maker = ItemMaker(PRESET_3D, rng=1000, settings=settings)
    denoiser, spec = maker.denoiser, maker.refine
    for rho in rhos:
        draws = [
            refine(
                denoiser,
                item.sketch,
                stages=[Stage(t_start=denoiser.config.num_train_timesteps)],
                condition=condition(item, spec.condition),
                sampler=spec.sampler,
                steps=spec.steps,
                slice_rho=rho,
                rng=index,
            )
            for index, item in enumerate(made)
        ]
        label = f"noise, {Path(model).name}, slice_rho {rho}"
        scores[label] = float(np.mean([texture_z_correlation(volume) for volume in draws]))
    return scores


def _untiled(model, items, rng):
    """Each item drawn from noise by `model` in one whole-image pass, and the CPU seconds per item."""
    maker = ItemMaker(PRESET, rng=rng, settings=BASE | MEASURED_2D | NOISE | {"refine.model": model})
    spec, denoiser, images = maker.refine, maker.denoiser, []
    began = time.process_time()
    for index, item in enumerate(items):
        stages = [Stage(t_start=denoiser.config.num_train_timesteps)]
        options = {"condition": condition(item, spec.condition), "sampler": spec.sampler, "steps": spec.steps}
        images.append(refine(denoiser, item.sketch, stages=stages, rng=index, tile_size=item.sketch.shape, **options))
    return images, (time.process_time() - began) / len(items)


def _score(references, images, labels, args):
    """The background figures of `images` and, per specimen of `references`, their KID, FID and SWD."""
    patches = to_patches(images, size=args.patch_size)
    if len(patches) > args.max_patches:
        patches = patches[np.sort(np.random.default_rng(0).choice(len(patches), args.max_patches, replace=False))]
    features = inception_features(list(patches))
    scores = {
        name: {
            "kid": kid(reference["features"], features, rng=0),
            "fid": fid(reference["features"], features),
            "swd": swd(reference["patches"], list(patches), rng=0),
        }
        for name, reference in references.items()
    }
    return {"background": _background(images, labels)} | scores


def _reference(images, *, size, max_patches):
    """Held-out patches (at most `max_patches`), their Inception features, and the metrics between two
    random halves of them (the floor)."""
    patches = to_patches(images, size=size)
    if len(patches) > max_patches:
        patches = patches[np.sort(np.random.default_rng(0).choice(len(patches), max_patches, replace=False))]
    patches = list(patches)
    features = inception_features(patches)
    a, b = np.array_split(np.random.default_rng(0).permutation(len(patches)), 2)
    floor = {
        "kid": kid(features[a], features[b], rng=0),
        "fid": fid(features[a], features[b]),
        "swd": swd([patches[i] for i in a], [patches[i] for i in b], rng=0),
    }
    return {"patches": patches, "features": features, "floor": floor}


def _background(images, labels):
    """Level and spread of the background (3 px from every label) and the seam check at 64 and 128 px tiles."""
    masks = [~ndi.binary_dilation(label > 0, iterations=3) for label in labels]
    report = {
        "background": float(np.mean([image[mask].mean() for image, mask in zip(images, masks)])),
        "block_spread_32": block_spread(images, block=(32, 32), masks=masks),
    }
    for tile in (64, 128):
        if tile < images[0].shape[-1]:
            report[f"seam_{tile}"] = seam_step(images, tile_size=(tile, tile), overlap=0.25, masks=masks)
    return report


def _mismatches(made):
    reports = [item.metadata["refinement"] for item in made]
    return {
        "attempts": float(np.mean([r["attempts"] for r in reports])),
        "unlabeled_objects": int(sum(r["unlabeled_objects"] for r in reports)),
        "empty_labels": int(sum(len(r["empty_labels"]) for r in reports)),
        "labels": int(sum(len(r["iou"]) + len(r["lost"]) for r in reports)),
        "lost": int(sum(len(r["lost"]) for r in reports)),
    }


COLUMNS = {
    "kid": ("KID", "{:.4f}"),
    "fid": ("FID", "{:.1f}"),
    "swd": ("SWD", "{:.3f}"),
    "background": ("background", "{:.3f}"),
    "block_spread_32": ("block spread", "{:.3f}"),
    "seam_64": ("seam 64", "{:.2f}"),
    "seam_128": ("seam 128", "{:.2f}"),
    "cpu_s_per_item": ("CPU s / item", "{:.2f}"),
    "cpu_s_refine": ("CPU s / refinement", "{:.2f}"),
}
SPREAD = ("kid", "fid", "swd")


def _table(results):
    """One row per set: the mean of its seeds' figures (KID, FID, SWD: ± their standard deviation)."""
    lines = ["| images | " + " | ".join(name for name, _ in COLUMNS.values()) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    for label, rows in results.items():
        cells = []
        for key, (_, form) in COLUMNS.items():
            values = [row[key] for row in rows if key in row]
            spread = f" ± {form.format(np.std(values))}" if key in SPREAD and len(values) > 1 else ""
            cells.append(form.format(np.mean(values)) + spread if values else "")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
