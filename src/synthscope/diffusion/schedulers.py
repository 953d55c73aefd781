"""diffusers schedulers built from a model's training noise schedule.

The scheduler owns the noise math (``add_noise``, ``step``); this module only builds
one with the model's betas and the timesteps of a run from ``t_start`` down to 0.

All three samplers are diffusers' ``DPMSolverMultistepScheduler``, which takes any list
of timesteps (so an SDEdit run starts exactly at ``t_start``) and accepts the step noise
from the caller (so noise is drawn for the whole image, whatever the tiling):

- ``"dpm"``: DPM-Solver++ 2M, the fast default;
- ``"ddim"``: its first-order form, which is exactly DDIM (eta = 0);
- ``"ddpm"``: first-order SDE-DPM-Solver++, which is exactly the DDPM ancestral
  posterior step. The tests check both against diffusers' own DDIM and DDPM loops
  (with ``clip_sample``; DDIM re-deriving the noise from the clipped prediction).
"""

import numpy as np
from diffusers import DDPMScheduler, DPMSolverMultistepScheduler

from synthscope.errors import InputError

SAMPLERS = {
    "dpm": {"solver_order": 2, "algorithm_type": "dpmsolver++"},
    "ddim": {"solver_order": 1, "algorithm_type": "dpmsolver++"},
    "ddpm": {"solver_order": 1, "algorithm_type": "sde-dpmsolver++"},
}


def schedule_options(config):
    """Return the diffusers keyword arguments of `config`'s training noise schedule."""
    return {
        "num_train_timesteps": config.num_train_timesteps,
        "beta_schedule": config.beta_schedule,
        "beta_start": config.beta_start,
        "beta_end": config.beta_end,
        "prediction_type": config.prediction_type,
    }


def training_scheduler(config):
    """Return the `DDPMScheduler` that noises clean images (``add_noise``, ``get_velocity``)."""
    return DDPMScheduler(**schedule_options(config), clip_sample=False)


def make_scheduler(config, sampler, *, steps, t_start=None):
    """Return a fresh scheduler and the timesteps of a run from `t_start` down to 0.

    Parameters
    ----------
    config : DenoiserConfig
    sampler : {"dpm", "ddim", "ddpm"}
    steps : int
        Network evaluations, spread evenly over ``[0, t_start]`` ("trailing" spacing:
        the first is at ``t_start - 1``); at most `t_start`. ``steps == t_start == 400``
        with ``"ddpm"`` is the published SDEdit schedule: every timestep from 399 to 0.
    t_start : int, optional
        Start of the run in (0, T]; T (pure noise) when omitted.

    Returns
    -------
    scheduler : DPMSolverMultistepScheduler
        Fresh, so that multistep state never leaks from one stage to the next.
    timesteps : torch.Tensor
        Decreasing int64 timesteps; the first is the noise level to start from.

    Examples
    --------
    >>> from synthscope.diffusion import DenoiserConfig
    >>> _, timesteps = make_scheduler(DenoiserConfig(), "dpm", steps=20, t_start=400)
    >>> len(timesteps), int(timesteps[0]), int(timesteps[-1])
    (20, 399, 19)
    """
    total = config.num_train_timesteps
    t_start = total if t_start is None else t_start
    check_sampler(sampler, steps=steps)
    if not isinstance(t_start, (int, np.integer)) or not 0 < t_start <= total:
        raise InputError(f"t_start: must be an integer in (0, {total}], got {t_start!r}")
    steps = min(steps, int(t_start))
    # Clip each step's prediction of the clean image to the data range [-1, 1] (dynamic
    # thresholding capped at 1 is exactly that clip, as DDPM's clip_sample): without it a
    # half-trained model saturated 79% of the pixels of its samples (measured).
    scheduler = DPMSolverMultistepScheduler(
        **schedule_options(config), **SAMPLERS[sampler], thresholding=True, sample_max_value=1.0
    )
    scheduler.set_timesteps(timesteps=np.round(np.arange(steps) * (-t_start / steps) + t_start).astype(np.int64) - 1)
    return scheduler, scheduler.timesteps


def check_sampler(sampler, *, steps):
    """Raise `InputError` unless `sampler` is known and `steps` a positive integer."""
    if sampler not in SAMPLERS:
        raise InputError(f"sampler: expected one of {sorted(SAMPLERS)}, got {sampler!r}")
    if not isinstance(steps, (int, np.integer)) or steps < 1:
        raise InputError(f"steps: expected a positive integer, got {steps!r}")
