"""Seconds per refined image on this CPU: the published schedule against our default.

    python benchmarks/sampling.py [--model NAME|FOLDER] [--student NAME|FOLDER] [--quick]

For one fixed 2D denoiser (a bundled model or a model folder; by default a randomly
initialised ~1.1M-parameter model of the default config) it prints:

- seconds per 256x256 SDEdit from t=400 for (a) the published schedule, 400 ancestral
  DDPM steps in float32, and (b) our default, DPM-Solver++ with 20 steps in bfloat16;
  their ratio and network evaluations (NFE); the mean absolute difference of (b) and of
  DDIM to (a), next to that of two seeds of (b) (the spread of the sampler itself);
- the pipeline overhead: total time / (NFE x one pass of the network over the tiles);
- with ``--student``, a distilled student (``synthscope distill``) refining the same image
  at its noise level in its steps (its condition: the image's bright discs), beside (a);
- tiled 1024x1024 and 32x256x256 (2D model slice by slice) time and peak memory, each
  in a fresh process, and the time per pixel relative to 256x256.

Wall and CPU seconds are both given; ratios use CPU seconds, which a busy neighbour on a
shared machine disturbs least. ``--threads`` sets torch's thread count (default 1: with
two OpenMP threads on two shared cores a neighbour made bf16 passes 20x slower, measured).
``--quick`` runs the published schedule for 40 of its 400 steps and scales the time.
"""

import argparse
import functools
import json
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

from synthscope.diffusion import DenoiserConfig, Stage, build_denoiser, load_denoiser, refine, save_denoiser
from synthscope.diffusion.denoiser import autocast


def test_image(shape, seed=0):
    """Bright blurred discs on a dark background in [0, 1]: a sketch-like input."""
    from scipy import ndimage as ndi

    rng = np.random.default_rng(seed)
    grid = np.indices(shape[-2:])
    image = np.zeros(shape[-2:], np.float32)
    for _ in range(int(np.prod(shape[-2:]) / 2000)):
        centre, radius = rng.uniform(0, shape[-2:]), rng.uniform(5, 12)
        image[((grid - centre[:, None, None]) ** 2).sum(0) < radius**2] = rng.uniform(0.5, 0.9)
    image = ndi.gaussian_filter(image, 1.5) + 0.05
    return np.broadcast_to(image, shape).copy().clip(0, 1)


def timed(function):
    wall, cpu = time.perf_counter(), time.process_time()
    result = function()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def forward_seconds(model, *, bf16, tiles=25, batch=8, repeats=3):
    """CPU seconds of one network pass over the 25 tiles of a 256x256 image (64x64, overlap 1/4)."""
    x = torch.randn(tiles, 1, *model.config.patch_size)
    t = torch.full((batch,), 300)

    def once():
        with torch.inference_mode(), autocast(bf16):
            for start in range(0, tiles, batch):
                model(x[start : start + batch], t[: len(x[start : start + batch])])

    once()
    return min(timed(once)[2] for _ in range(repeats))


def run_case(folder, case):
    """One tiled case in this (fresh) process: seconds and peak resident memory."""
    model = load_denoiser(folder)
    shape = {"tiled_1024": (1024, 1024), "volume_32x256x256": (32, 256, 256)}[case]
    image = test_image(shape)
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    _, wall, cpu = timed(lambda: refine(model, image, steps=20, rng=0, slice_rho=1.0 if len(shape) == 3 else None))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {"wall": wall, "cpu": cpu, "peak_mib": peak, "baseline_mib": baseline, "pixels": int(np.prod(shape))}
        )
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="bundled model name or model folder (default: random default-config model)")
    parser.add_argument("--student", help="a distilled student (model folder or bundled name) to time beside (a)")
    parser.add_argument("--quick", action="store_true", help="time 40 of the 400 reference steps and scale")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    options = parser.parse_args()
    torch.set_num_threads(options.threads)
    if options.case:
        return run_case(options.model, options.case)

    folder = options.model
    if folder is None:
        torch.manual_seed(0)
        model = build_denoiser(DenoiserConfig())
        with torch.no_grad():  # the output layer starts at zero: give it weights so outputs are not trivial
            for parameter in model.net.out.parameters():
                parameter.normal_(0, 0.02)
        folder = tempfile.mkdtemp()
        save_denoiser(model, folder)
    model = load_denoiser(folder)
    parameters = sum(p.numel() for p in model.parameters())
    print(
        f"model: {options.model or 'random default config'}, {parameters / 1e6:.2f}M parameters, "
        f"{torch.get_num_threads()} threads, bf16 {torch.ops.mkldnn._is_mkldnn_bf16_supported()}"
    )

    image = test_image((256, 256))
    reference_steps = 40 if options.quick else 400
    reference, ref_wall, ref_cpu = timed(
        lambda: refine(
            model,
            image,
            stages=[Stage(t_start=reference_steps)],
            sampler="ddpm",
            steps=reference_steps,
            bf16=False,
            rng=0,
        )
    )
    ref_wall, ref_cpu = ref_wall * 400 / reference_steps, ref_cpu * 400 / reference_steps
    refine(model, image, steps=2, rng=0)  # warm up the bf16 kernels
    forward = {bf16: forward_seconds(model, bf16=bf16) for bf16 in (None, False)}

    print("\n256x256 SDEdit from t=400             wall s   cpu s  NFE  speed-up (cpu)  mean |diff| to (a)  overhead")
    print(
        f"(a) published: DDPM 400, fp32      {ref_wall:7.1f} {ref_cpu:7.1f}  400"
        f"{'  (scaled from 40 steps)' if options.quick else ''}{'':33s}{ref_cpu / (400 * forward[False]) - 1:+.0%}"
    )
    ours = "(b) ours: DPM-Solver++ 20, bf16"
    variants = {
        ours: {"steps": 20},
        "    ours, another seed": {"steps": 20, "rng": 1},
        "    DPM-Solver++ 10, bf16": {"steps": 10},
        "    DDIM 20, bf16": {"sampler": "ddim", "steps": 20},
        "    DPM-Solver++ 20, fp32": {"steps": 20, "bf16": False},
    }
    cpu_seconds = {}
    for name, variant in variants.items():
        variant = {"rng": 0, "bf16": None, **variant}
        out, wall, cpu = timed(functools.partial(refine, model, image, stages=[Stage(t_start=400)], **variant))
        cpu_seconds[name] = cpu
        difference = "" if options.quick else f"{np.abs(out - reference).mean():.4f}"
        overhead = cpu / (variant["steps"] * forward[variant["bf16"]]) - 1
        print(
            f"{name:34s} {wall:7.2f} {cpu:7.2f} {variant['steps']:4d} {ref_cpu / cpu:15.1f} {difference:>19s} "
            f"{overhead:+9.0%}"
        )
    if options.student:
        student = load_denoiser(options.student)
        record = student.extra["distilled"]
        channels = student.config.condition_channels
        condition = np.repeat((image > 0.3)[None], channels, axis=0).astype(np.float32) if channels else None
        stages = [Stage(t_start=record["t_starts"][0])]
        options_ = {"sampler": record["sampler"], "steps": record["steps"], "condition": condition, "rng": 0}
        refine(student, image, stages=stages, **options_)  # warm up
        _, wall, cpu = timed(functools.partial(refine, student, image, stages=stages, **options_))
        overhead = cpu / (record["steps"] * forward[None]) - 1
        name = f"    student: DDIM {record['steps']} from t={record['t_starts'][0]}, bf16"
        print(
            f"{name:34s} {wall:7.2f} {cpu:7.2f} {record['steps']:4d} {ref_cpu / cpu:15.1f} {'':>19s} {overhead:+9.0%}"
        )
    print(
        f"one network pass over the 25 tiles of 64x64, cpu s: bf16 {forward[None]:.3f}, fp32 {forward[False]:.3f}; "
        "overhead = cpu s / (NFE x pass) - 1"
    )

    print("\ntiled, 64x64 tiles, overlap 1/4, batch 8   wall s   cpu s  peak MiB (after import)  cpu s per 256x256")
    for case in ("tiled_1024", "volume_32x256x256"):
        command = [sys.executable, __file__, "--model", str(folder), "--case", case, "--threads", str(options.threads)]
        result = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
        per_image = result["cpu"] / (result["pixels"] / 256**2)
        print(
            f"{case:40s} {result['wall']:8.1f} {result['cpu']:7.1f} {result['peak_mib']:6.0f} "
            f"({result['baseline_mib']:.0f})"
            f"         {per_image:.2f} ({per_image / cpu_seconds[ours] - 1:+.0%} vs 256x256)"
        )


if __name__ == "__main__":
    main()
