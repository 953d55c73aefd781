"""Shared networks: 2D and 3D from one factory, weights fixed by the rng, torch's state untouched."""

import numpy as np
import pytest
import torch

from synthscope.evaluate import SegmenterNetwork
from synthscope.nets import segmentation_unet


def _weights(net):
    return torch.cat([p.detach().flatten() for p in net.parameters()])


@pytest.mark.parametrize("dims", [2, 3])
def test_segmentation_unet_in_2d_and_3d(dims):
    net = segmentation_unet(dims, in_channels=2, out_channels=3, channels=(4, 8), rng=0)
    assert net(torch.zeros(1, 2, *(8,) * dims)).shape == (1, 3, *(8,) * dims)


def test_weights_come_from_the_rng_and_leave_the_global_state_alone():
    options = dict(in_channels=1, out_channels=3, channels=(4, 8, 8))
    state = torch.random.get_rng_state()
    first = _weights(segmentation_unet(2, rng=1, **options))
    assert torch.equal(torch.random.get_rng_state(), state)
    assert torch.equal(first, _weights(segmentation_unet(2, rng=1, **options)))
    assert not torch.equal(first, _weights(segmentation_unet(2, rng=2, **options)))
    seed = int(np.random.default_rng(3).integers(2**63))  # a Generator gives one draw
    assert torch.equal(
        _weights(segmentation_unet(2, rng=np.random.default_rng(3), **options)),
        _weights(segmentation_unet(2, rng=seed, **options)),
    )


def test_the_benchmark_network_spells_out_every_setting():
    net = SegmenterNetwork(channels=(4, 8)).build(2, rng=0)
    expected = segmentation_unet(
        2, in_channels=1, out_channels=3, channels=(4, 8), strides=(2,), num_res_units=1, rng=0
    )
    assert torch.equal(_weights(net), _weights(expected))
    with pytest.raises(AttributeError):
        SegmenterNetwork().channels = (8,)  # frozen: the judge does not move
