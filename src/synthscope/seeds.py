"""Seeds: item i of a data set is the same however the set is made; the seed an `rng` stands for."""

import numpy as np


def item_seed(base_seed, index):
    """Return the seed of item `index` in a data set made with `base_seed`.

    The seed depends only on the pair, so a data set is identical whether it is made
    serially, in parallel or resumed after an interruption.

    Parameters
    ----------
    base_seed : int
        The seed of the whole data set (non-negative).
    index : int
        The item's position in the data set (non-negative).

    Returns
    -------
    seed : int
        A 63-bit seed, usable for both ``numpy.random.default_rng`` and
        ``torch.Generator.manual_seed``.

    Examples
    --------
    >>> item_seed(0, 1) == item_seed(0, 1)
    True
    >>> item_seed(0, 1) != item_seed(0, 2) != item_seed(1, 1)
    True
    """
    state = np.random.SeedSequence([int(base_seed), int(index)]).generate_state(2, dtype=np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1]))


def as_seed(rng: int | np.random.Generator | None) -> int:
    """Return the integer seed that `rng` stands for, e.g. for ``torch.Generator.manual_seed``.

    Parameters
    ----------
    rng : int, numpy.random.Generator or None
        An int is its own seed; a Generator gives one draw (and so advances); None
        gives fresh entropy from the operating system.

    Returns
    -------
    seed : int
        Non-negative for a Generator or None, below ``2**63``.

    Examples
    --------
    >>> as_seed(7)
    7
    >>> as_seed(np.random.default_rng(0)) == as_seed(np.random.default_rng(0))
    True
    """
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(2**63))
    if rng is None:
        return np.random.SeedSequence().entropy % 2**63
    return int(rng)
