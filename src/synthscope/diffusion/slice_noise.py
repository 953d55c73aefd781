"""Noise for a stack of 2D slices that is correlated from slice to slice.

A 2D model applied slice by slice to a volume gives unrelated slices when each starts
from independent noise. Mixing a noise image common to all slices with one unique to
each (cascaded diffusion, ISBI 2025),

    c_s = rho / sqrt(1 + rho^2) * c_common + 1 / sqrt(1 + rho^2) * c_unique_s,

keeps unit variance and gives a correlation of rho^2 / (1 + rho^2) between any two slices.
"""

import math

import torch


def slice_noise(shape, *, rho=None, generator=None):
    """Return standard normal noise of `shape` whose first axis (slices) is correlated.

    Parameters
    ----------
    shape : tuple of int
        ``(slices, ...)``.
    rho : float, optional
        Weight of the common part; None (or 0) gives independent slices.
    generator : torch.Generator, optional

    Returns
    -------
    torch.Tensor
        float32, mean 0, variance 1, correlation ``rho**2 / (1 + rho**2)`` between slices.

    Examples
    --------
    >>> noise = slice_noise((2, 1, 128, 128), rho=1.0, generator=torch.Generator().manual_seed(0))
    >>> round(torch.corrcoef(noise.flatten(1))[0, 1].item(), 1)
    0.5
    """
    unique = torch.randn(shape, generator=generator)
    if not rho:
        return unique
    common = torch.randn((1, *shape[1:]), generator=generator)
    return (rho * common + unique) / math.sqrt(1 + rho**2)
