"""Measure a nuclei model the way its model card reports it, and write the reports.

Usage: ``python scripts/evaluate_default_model.py MODEL --out DIR [--count N]``

1. ``synthscope.generate("nuclei-2d", ...)`` with MODEL: refined images, their sketches
   and updated labels, exactly as a user gets them.
2. Realism (SWD; FID/KID when the Inception extra is installed) of the refined images
   and of the raw sketches against the held-out real slices, next to the real-vs-real
   floor; as 32x32 patches by default (192 held-out patches: enough for FID).
3. The downstream benchmark: the fixed segmenter trained on real slices, on sketches,
   on refined images, and on real + refined, scored on the held-out real slices.
"""

import argparse
import json
import time
from pathlib import Path

from synthscope.evaluate import downstream_benchmark, realism, to_patches, write_report
from synthscope.evaluate.report import downstream_chart, downstream_table, realism_table
from synthscope.io import read_dataset
from synthscope.pipeline import generate
from synthscope.sample_data import nuclei_2d


def _load(root):
    """Refined images, sketches and labels of every item, each file read once."""
    items = list(read_dataset(root))
    return [item.image for item in items], [item.sketch for item in items], [item.labels for item in items]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--count", type=int, default=24)
    parser.add_argument("--preset", default="nuclei-2d")
    parser.add_argument("--steps", type=int, default=600, help="segmenter training steps")
    parser.add_argument("--set", action="append", default=[], help="extra preset setting key=value (YAML value)")
    parser.add_argument("--card", type=Path, help="write the model card (markdown) here")
    parser.add_argument("--refined-only", action="store_true", help="skip the raw-sketch baseline")
    parser.add_argument(
        "--patch-size",
        type=int,
        default=32,
        help="realism patch size: 32 gives 192 held-out patches, enough for FID (>= 50 per half)",
    )
    args = parser.parse_args()

    import yaml

    settings = {"refine.model": args.model}
    settings.update({k: yaml.safe_load(v) for k, v in (s.split("=", 1) for s in args.set)})
    started = time.perf_counter()
    root = generate(args.preset, count=args.count, out=args.out / "data", rng=1000, settings=settings)
    seconds_per_item = (time.perf_counter() - started) / args.count
    refined, sketches, labels = _load(root)
    real_train, real_test = nuclei_2d("train"), nuclei_2d("test")

    reference = to_patches(list(real_test[0]), size=args.patch_size)
    kinds = {"refined": refined} if args.refined_only else {"sketches": sketches, "refined": refined}
    scores = {}
    for name, images in kinds.items():
        scores[name] = realism(reference, to_patches(images, size=args.patch_size), rng=0)
        write_report(scores[name], args.out, name=f"realism-{name}", table=realism_table(scores[name]))

    benchmark = {}
    for name, images in kinds.items():
        benchmark[name] = downstream_benchmark(real_train, real_test, synthetic=(images, labels), steps=args.steps)
        write_report(
            benchmark[name],
            args.out,
            name=f"downstream-{name}",
            table=downstream_table(benchmark[name]),
            figure=downstream_chart(benchmark[name]),
        )
    summary = {
        "model": args.model,
        "preset": args.preset,
        "settings": settings,
        "seconds_per_item": round(seconds_per_item, 2),
        "patch_size": args.patch_size,
        "item_shape": list(refined[0].shape),
        "realism": {k: v["metrics"] for k, v in scores.items()},
        "downstream_ap50": {k: {c: r["ap50"] for c, r in v["conditions"].items()} for k, v in benchmark.items()},
    }
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2, default=float) + "\n")
    print(json.dumps(summary, indent=2, default=float))
    if args.card:
        args.card.write_text(model_card(args.model, summary, scores, benchmark))


CONDITIONED = {
    0: "for SDEdit refinement of fluorescence nuclei sketches.",
    1: "conditioned on the nuclei foreground mask (concatenated as a second input channel), for mask-faithful "
    "SDEdit refinement of fluorescence nuclei sketches (`refine.condition: mask`).",
    2: "conditioned on the nuclei foreground mask and on the mask of the whole nuclei just beyond the section "
    "(concatenated as two more input channels), for mask-faithful SDEdit refinement of fluorescence nuclei "
    "sketches that draws the out-of-plane light itself (`refine.condition: mask+out_of_plane`).",
}


def model_card(name, summary, scores, benchmark):
    """Markdown card: data, command, training cost and the measured metrics."""
    from synthscope.diffusion import load_denoiser

    model = load_denoiser(name)
    extra, config = model.extra, model.config
    lines = [
        f"# {name}",
        "",
        f"A {config.spatial_dims}D denoising diffusion model (MONAI DiffusionModelUNet, channels "
        f"{list(config.channels)}, "
        f"attention at the coarsest level, {sum(p.numel() for p in model.parameters()):,} parameters, "
        f"{config.prediction_type} prediction, {config.beta_schedule} schedule of {config.num_train_timesteps} steps) "
        + CONDITIONED[config.condition_channels],
        "",
        "## Training",
        f"- Data: {extra.get('data')}; intensities mapped to [0, 1] by {config.normalisation}.",
        f"- {extra.get('steps')} steps of batch {extra.get('batch_size')} random "
        f"{config.patch_size[0]}x{config.patch_size[1]} "
        "patches (flips, 90-degree rotations, mild intensity jitter), bfloat16 autocast, AdamW; "
        f"{extra.get('weights')}.",
        f"- CPU time: {extra.get('cpu_minutes')} minutes on one thread of a shared 2-core x86-64 machine; final loss "
        f"{extra.get('final_loss')}.",
        "- Reproduce: `scripts/train_default_models.sh` (training, then this evaluation and card).",
        "",
        "## Measured (scripts/evaluate_default_model.py)",
        f"{summary['settings']} on preset `{summary['preset']}`, "
        f"{len(benchmark['refined']['settings'].get('seeds', []))} seeds; "
        f"{summary['seconds_per_item']} s per {'x'.join(map(str, summary['item_shape']))} item end to end on this "
        "machine.",
        "",
        "Sketch rows pair the raw sketches with the labels this run wrote (after the annotation update and the "
        "mismatch policy).",
        "",
        f"Realism against the held-out real slices ({summary['patch_size']}x{summary['patch_size']} patches; "
        "floor = two halves of the real set):",
        "",
        "| images | metric | score | real-vs-real floor |",
        "|---|---|---|---|",
    ]
    for kind, report in scores.items():
        for metric, value in report["metrics"].items():
            lines.append(f"| {kind} | {metric} | {value['score']:.4g} | {value['floor']:.4g} |")
    lines += [
        "",
        "Downstream segmentation (AP@0.5 on held-out real slices, mean +- std over seeds):",
        "",
        "| synthetic images | condition | AP@0.5 |",
        "|---|---|---|",
    ]
    for kind, report in benchmark.items():
        for condition, result in report["conditions"].items():
            ap = result["ap50"]
            lines.append(f"| {kind} | {condition} | {ap['mean']:.3f} +- {ap['std']:.3f} |")
    lines += [
        "",
        "Limits: one specimen (skimage cells3d nuclei); held-out slices are other depths of the same "
        "nuclei, not other specimens.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
