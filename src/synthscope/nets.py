"""MONAI network factories shared by every model of synthscope that is not a denoiser.

The downstream benchmark's fixed segmenter, and the segmentation and 2D-to-3D models
built on this package, take their networks from here: one function per network, 2D or
3D by `spatial_dims`, with the weights drawn from an `rng` so that a seed fixes them.
A caller that must never change (the benchmark) passes every setting explicitly.
MONAI and torch are imported when a network is made.
"""

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from synthscope.seeds import as_seed

if TYPE_CHECKING:
    import monai.networks.nets


def segmentation_unet(
    spatial_dims: int,
    *,
    in_channels: int,
    out_channels: int,
    channels: Sequence[int],
    strides: Sequence[int] | None = None,
    num_res_units: int = 1,
    rng: int | np.random.Generator | None = None,
) -> "monai.networks.nets.UNet":
    """Return a MONAI ``UNet`` for per-pixel classification, with reproducible initial weights.

    Parameters
    ----------
    spatial_dims : {2, 3}
    in_channels, out_channels : int
        Input channels and output classes (logits, no softmax).
    channels : sequence of int
        Feature channels per level, from the finest; each level halves the size (see
        `strides`), so inputs are multiples of ``2 ** (len(channels) - 1)``.
    strides : sequence of int, optional
        Downsampling between levels; 2 between every pair of levels by default.
    num_res_units : int, optional
        Residual units per block.
    rng : int or numpy.random.Generator, optional
        Seeds the initial weights (a Generator gives one draw); torch's global random
        state is left as it was.

    Returns
    -------
    monai.networks.nets.UNet

    Examples
    --------
    >>> import torch
    >>> net = segmentation_unet(2, in_channels=1, out_channels=3, channels=(8, 8, 8), rng=0)
    >>> net(torch.zeros(1, 1, 16, 16)).shape
    torch.Size([1, 3, 16, 16])
    >>> again = segmentation_unet(2, in_channels=1, out_channels=3, channels=(8, 8, 8), rng=0)
    >>> all(torch.equal(a, b) for a, b in zip(net.parameters(), again.parameters()))
    True
    """
    from monai.networks.nets import UNet

    shape = _shape(spatial_dims, in_channels, out_channels, channels, strides)
    return _seeded(rng, lambda: UNet(**shape, num_res_units=num_res_units))


def attention_unet(
    spatial_dims: int,
    *,
    in_channels: int,
    out_channels: int,
    channels: Sequence[int],
    strides: Sequence[int] | None = None,
    rng: int | np.random.Generator | None = None,
) -> "monai.networks.nets.AttentionUnet":
    """Return a MONAI ``AttentionUnet`` (attention gates on the skips), with reproducible initial weights.

    Parameters are those of `segmentation_unet` (the attention U-Net has no residual units).

    Returns
    -------
    monai.networks.nets.AttentionUnet

    Examples
    --------
    >>> import torch
    >>> net = attention_unet(3, in_channels=1, out_channels=3, channels=(8, 8, 8), rng=0)
    >>> net(torch.zeros(1, 1, 8, 16, 16)).shape
    torch.Size([1, 3, 8, 16, 16])
    """
    from monai.networks.nets import AttentionUnet

    return _seeded(rng, lambda: AttentionUnet(**_shape(spatial_dims, in_channels, out_channels, channels, strides)))


def _shape(spatial_dims, in_channels, out_channels, channels, strides):
    """The keywords both U-Nets share; strides of 2 between levels unless given."""
    strides = (2,) * (len(channels) - 1) if strides is None else tuple(strides)
    return dict(
        spatial_dims=spatial_dims,
        in_channels=in_channels,
        out_channels=out_channels,
        channels=tuple(channels),
        strides=strides,
    )


def _seeded(rng, build):
    """Return ``build()`` with torch's global generator seeded from `rng` and restored after."""
    import torch

    with torch.random.fork_rng():
        torch.manual_seed(as_seed(rng))
        return build()
