"""Default models shipped inside the package: one folder each, ``config.json`` +
``model.safetensors`` + ``card.md`` (data, command to reproduce, CPU time, metrics)."""

from importlib import resources


def bundled_models():
    """Return the names of the models shipped with the package, sorted.

    Examples
    --------
    >>> isinstance(bundled_models(), list)
    True
    """
    root = resources.files(__name__)
    return sorted(p.name for p in root.iterdir() if p.is_dir() and (p / "config.json").is_file())


def bundled_model_path(name):
    """Return the folder of the bundled model `name`, or None if no such model ships."""
    folder = resources.files(__name__) / name
    return folder if (folder / "config.json").is_file() else None
