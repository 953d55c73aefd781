"""The end-to-end job ``generate``: items from `synthscope.ItemMaker`, written as a data set.

The pipeline only wires: the item API (`synthscope.maker`) draws, sketches and refines each
item (`synthscope.refine`), and `synthscope.io.DatasetWriter` writes it.
"""

from synthscope.errors import InputError
from synthscope.maker import ItemMaker


def generate(preset, *, count: int, out, rng=0, settings: dict | None = None, callback=None):
    """Write a data set of `count` annotated items made from `preset`.

    Each item is drawn by the preset's generator, rendered to a sketch, refined by the
    preset's diffusion model (if it names one), its masks updated to the refined image,
    and written to `out` in the synthscope data set layout. Item ``i`` depends only on
    ``(rng, i)`` and equals ``synthscope.make_item(preset, i, rng=rng, settings=settings)``;
    items already complete in `out` are skipped, so an interrupted job resumes where it
    stopped and ends with the same files an uninterrupted run writes.

    When a refined image and its labels disagree (an object with no label, a label with
    no object), the preset's ``refine.mismatch`` policy decides (see
    `synthscope.refine.refine_item`): by default the item is refined again with seeds
    derived from its own, and relabelled if that does not help, so that every written
    item agrees with its labels; ``refine.mismatch: keep`` only reports the disagreement.

    Parameters
    ----------
    preset : str or path
        A bundled preset name (see `synthscope.phantoms.preset_names`) or a YAML file.
    count : int
        Number of items.
    out : str or path
        The data set folder; created, or resumed if it holds the same job.
    rng : int or numpy.random.Generator, optional
        Base seed of the data set (a Generator is drawn from once; give an int to resume).
    settings : dict, optional
        Preset overrides by dotted key, e.g. ``{"nuclei.count": 30,
        "refine.model": None, "refine.steps": 10}``.
    callback : callable, optional
        Called as ``callback(done, total)`` after every item.

    Returns
    -------
    pathlib.Path
        The data set folder.

    Examples
    --------
    >>> import tempfile
    >>> out = generate("nuclei-2d", count=1, out=tempfile.mkdtemp() + "/set",
    ...                settings={"refine.model": None, "shape": [64, 64]})
    >>> sorted(p.name for p in out.iterdir())  # doctest: +ELLIPSIS
    [...'dataset.json', ...'labels', 'manifest.csv', ...]
    """
    from synthscope.io import DatasetWriter

    if count < 1:
        raise InputError(f"count must be at least 1, got {count}")
    maker = ItemMaker(preset, rng=rng, settings=settings)
    writer = DatasetWriter(out, info=maker.info)
    for index in range(count):
        if not writer.is_complete(index):
            writer.write(index, maker(index), record={"seed": maker.item_seed(index)})
        if callback is not None:
            callback(index + 1, count)
    return writer.root
