"""Seconds per refined image on this CPU: the published schedule against our default.

    python benchmarks/sampling.py [--model NAME|FOLDER] [--quick]

For one fixed 2D denoiser (a bundled model or a model folder; by default a randomly
initialised ~1.1M-parameter model of the default config) it prints:

- seconds per 256x256 SDEdit from t=400 for (a) the published schedule, 400 ancestral
  DDPM steps in float32, and (b) our default, DPM-Solver++ with 20 steps in bfloat16;
  their ratio and network evaluations (NFE); the mean absolute difference of (b) and of
  DDIM to (a), next to that of two seeds of (b) (the spread of the sampler itself);
- the pipeline overhead: total time / (NFE x one pass of the network over the tiles);
- tiled 1024x1024 and 32x256x256 (2D model slice by slice) time and peak memory, each
  in a fresh process, and the time per pixel relative to 256x256.

Wall and CPU seconds are both given: on a shared machine the CPU time is the steadier.
``--quick`` runs the published schedule for 40 of its 400 steps and scales the time.
"""

import argparse
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
    """Seconds of one network pass over the 25 tiles of a 256x256 image (64x64, overlap 1/4)."""
    x = torch.randn(tiles, 1, *model.config.patch_size)
    t = torch.full((batch,), 300)

    def once():
        with torch.inference_mode(), autocast(bf16):
            for start in range(0, tiles, batch):
                model(x[start : start + batch], t[: len(x[start : start + batch])])

    once()
    return min(timed(once)[1] for _ in range(repeats))


def run_case(folder, case):
    """One tiled case in this (fresh) process: seconds and peak resident memory."""
    model = load_denoiser(folder)
    shape = {"tiled_1024": (1024, 1024), "volume_32x256x256": (32, 256, 256)}[case]
    image = test_image(shape)
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    _, wall, cpu = timed(lambda: refine(model, image, steps=20, generator=0, slice_rho=1.0 if len(shape) == 3 else None))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"wall": wall, "cpu": cpu, "peak_mib": peak, "baseline_mib": baseline, "pixels": int(np.prod(shape))}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="bundled model name or model folder (default: random default-config model)")
    parser.add_argument("--quick", action="store_true", help="time 40 of the 400 reference steps and scale")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    options = parser.parse_args()
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
    print(f"model: {options.model or 'random default config'}, {parameters / 1e6:.2f}M parameters, "
          f"{torch.get_num_threads()} threads, bf16 {torch.ops.mkldnn._is_mkldnn_bf16_supported()}")

    image = test_image((256, 256))
    sdedit = [Stage(t_start=400)]
    reference_steps = 40 if options.quick else 400
    reference, ref_wall, ref_cpu = timed(lambda: refine(model, image, stages=[Stage(t_start=reference_steps)] if options.quick else sdedit,
                                                        sampler="ddpm", steps=reference_steps, bf16=False, generator=0))
    scale = 400 / reference_steps
    ref_wall, ref_cpu = ref_wall * scale, ref_cpu * scale
    refine(model, image, steps=2, generator=0)  # warm up the bf16 kernels
    ours, wall, cpu = timed(lambda: refine(model, image, stages=sdedit, steps=20, generator=0))
    ours_seed1 = refine(model, image, stages=sdedit, steps=20, generator=1)
    ddim = refine(model, image, stages=sdedit, sampler="ddim", steps=20, generator=0)
    forward_bf16, forward_fp32 = forward_seconds(model, bf16=None), forward_seconds(model, bf16=False)

    print("\n256x256 SDEdit from t=400               wall s    cpu s   NFE")
    print(f"(a) published: DDPM 400 steps, fp32  {ref_wall:8.1f} {ref_cpu:8.1f}   400" + ("  (scaled from 40)" if options.quick else ""))
    print(f"(b) ours: DPM-Solver++ 20, bf16      {wall:8.2f} {cpu:8.2f}    20")
    print(f"speed-up (a)/(b)                     {ref_wall / wall:8.1f} {ref_cpu / cpu:8.1f}")
    print(f"one network pass (25 tiles of 64x64)  bf16 {forward_bf16:.3f} s, fp32 {forward_fp32:.3f} s")
    print(f"pipeline overhead (b): {wall / (20 * forward_bf16) - 1:+.1%}; (a): {ref_wall / (400 * forward_fp32) - 1:+.1%}")
    if not options.quick:
        print(f"mean |difference| to (a): ours {np.abs(ours - reference).mean():.4f}, DDIM 20 {np.abs(ddim - reference).mean():.4f}; "
              f"ours seed 0 vs seed 1 {np.abs(ours - ours_seed1).mean():.4f}")

    print("\ntiled, 64x64 tiles, overlap 1/4, batch 8   wall s   cpu s  peak MiB (after import)  s per 256x256-equivalent")
    for case in ("tiled_1024", "volume_32x256x256"):
        result = json.loads(subprocess.run([sys.executable, __file__, "--model", str(folder), "--case", case],
                                           check=True, capture_output=True, text=True).stdout)
        per_image = result["wall"] / (result["pixels"] / 256**2)
        print(f"{case:40s} {result['wall']:8.1f} {result['cpu']:7.1f} {result['peak_mib']:6.0f} ({result['baseline_mib']:.0f})"
              f"   {per_image:.2f} ({per_image / wall - 1:+.0%} vs 256x256)")


if __name__ == "__main__":
    main()
