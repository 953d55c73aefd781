"""Smooth random texture (Perlin-like value noise) for any number of axes."""

import numpy as np


def value_noise(shape, *, scale=32.0, octaves=3, persistence=0.5, rng=None):
    """Return smooth random noise of `shape`, zero mean and unit standard deviation (float32).

    Octave ``k`` is a random grid with a node every ``scale / 2**k`` pixels, interpolated
    with Perlin's quintic fade between nodes and weighted ``persistence**k``. The
    interpolation is separable, one pass per axis, so 3D costs little more than 2D.

    Parameters
    ----------
    shape : sequence of int
    scale : float or sequence of float
        Feature size of the coarsest octave in pixels (per axis if a sequence).
    octaves : int
    persistence : float
        Weight ratio of successive octaves.
    rng : int or numpy.random.Generator, optional

    Examples
    --------
    >>> noise = value_noise((64, 64), scale=16, rng=0)
    >>> noise.dtype, noise.shape, round(float(noise.std()), 3)
    (dtype('float32'), (64, 64), 1.0)
    """
    rng = np.random.default_rng(rng)
    scale = np.broadcast_to(np.asarray(scale, float), (len(shape),))
    total = np.zeros(shape, np.float32)
    for k in range(octaves):
        samples = [_fade_samples(n, max(s / 2**k, 1.0), rng) for n, s in zip(shape, scale)]
        octave = rng.standard_normal([j[-1] + 2 for j, _ in samples]).astype(np.float32)
        for axis, (j, fade) in enumerate(samples):
            fade = fade.reshape((-1,) + (1,) * (len(shape) - axis - 1))
            octave = np.take(octave, j, axis) * (1 - fade) + np.take(octave, j + 1, axis) * fade
        total += persistence**k * octave
    total -= total.mean()
    return total / max(float(total.std()), 1e-12)


def _fade_samples(size, cell, rng):
    """Node index left of each of `size` samples, nodes `cell` pixels apart (random phase), and its fade weight."""
    x = (np.arange(size) + rng.uniform(0, cell)) / cell
    j = np.floor(x).astype(int)
    t = (x - j).astype(np.float32)
    return j, t * t * t * (t * (t * 6 - 15) + 10)
