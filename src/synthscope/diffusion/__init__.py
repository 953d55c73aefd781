"""Diffusion engine: train and sample 2D/3D denoisers on a CPU.

MONAI's ``DiffusionModelUNet`` is the network and diffusers' schedulers own the noise
math; this package adds what no library has: SDEdit and region-held multi-stage
refinement, tiled sampling with blended overlaps, slice-consistent noise for volumes,
and a CPU training loop (bfloat16, EMA, checkpoints, resume). It knows nothing about
cells. Images are float32 in [0, 1] outside the model.
"""

from synthscope.diffusion.checkpoint import load_denoiser, save_denoiser
from synthscope.diffusion.denoiser import Denoiser, DenoiserConfig, build_denoiser
from synthscope.diffusion.patches import PatchSampler
from synthscope.diffusion.sample import Stage, refine, sample
from synthscope.diffusion.train import train_denoiser

__all__ = [
    "Denoiser",
    "DenoiserConfig",
    "PatchSampler",
    "Stage",
    "build_denoiser",
    "load_denoiser",
    "refine",
    "sample",
    "save_denoiser",
    "train_denoiser",
]
