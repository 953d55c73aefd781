"""Model folders: ``config.json`` + ``model.safetensors`` (+ ``ema.safetensors``).

Loading reads JSON and safetensors only, so a checkpoint can never run code.
"""

import hashlib
import json
import os
from pathlib import Path

import safetensors
import safetensors.torch
import torch

from synthscope.diffusion.denoiser import Denoiser, DenoiserConfig
from synthscope.errors import InputError
from synthscope.io import atomic_path, write_text


def save_denoiser(
    model: Denoiser,
    folder: str | os.PathLike,
    *,
    ema: Denoiser | None = None,
    extra: dict | None = None,
    dtype: torch.dtype | None = None,
) -> None:
    """Write `model` (and its `ema` copy) to `folder` as a self-describing model folder.

    Each file is written to a temporary name and renamed, so an interrupted save never
    leaves a half-written file.

    Parameters
    ----------
    model : Denoiser
    folder : str or Path
        Created if missing; existing model files are replaced.
    ema : Denoiser, optional
        Exponential moving average of the weights; `load_denoiser` prefers it.
    extra : dict, optional
        JSON-ready provenance (training steps, data, loss), stored as ``config.json["extra"]``.
    dtype : torch.dtype, optional
        Store the weights in this type (``torch.bfloat16`` halves the file, for a model that
        samples under bfloat16 autocast anyway); `load_denoiser` loads them as float32.

    Examples
    --------
    >>> import tempfile, torch
    >>> from synthscope.diffusion import build_denoiser
    >>> model = build_denoiser(channels=(8, 8, 8))
    >>> folder = tempfile.mkdtemp()
    >>> save_denoiser(model, folder, extra={"steps": 0})
    >>> loaded = load_denoiser(folder)
    >>> x, t = torch.zeros(1, 1, 16, 16), torch.tensor([5])
    >>> bool((loaded(x, t) == model.eval()(x, t)).all())
    True
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, module in (("model", model), ("ema", ema)):
        if module is not None:
            with atomic_path(folder / f"{name}.safetensors") as tmp:
                if dtype is None:
                    safetensors.torch.save_model(module, str(tmp))
                else:
                    weights = {key: value.to(dtype).contiguous() for key, value in module.state_dict().items()}
                    safetensors.torch.save_file(weights, str(tmp))
    record = {**model.config.to_dict(), "extra": extra or {}}
    write_text(folder / "config.json", json.dumps(record, indent=2) + "\n")


def load_denoiser(name_or_path: str | os.PathLike) -> Denoiser:
    """Return the denoiser in a model folder or a bundled model, in eval mode.

    Parameters
    ----------
    name_or_path : str or Path
        A model folder (or its ``model.safetensors``), or the name of a model shipped in
        ``synthscope.models``.

    Returns
    -------
    model : Denoiser
        EMA weights when the folder has them. ``model.source`` records the folder, the
        weights file and its sha256; ``model.extra`` the saved provenance.

    Raises
    ------
    InputError
        If nothing is found, a file is not safetensors, or config and weights disagree.
    """
    folder = _resolve(name_or_path)
    try:
        record = json.loads((folder / "config.json").read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise InputError(f"{folder / 'config.json'}: cannot read the model config ({error})") from None
    extra = record.pop("extra", {})
    model = Denoiser(DenoiserConfig.from_dict(record))
    weights = folder / "ema.safetensors"
    if not weights.is_file():
        weights = folder / "model.safetensors"
    try:
        missing, unexpected = safetensors.torch.load_model(model, str(weights), strict=False)
    except safetensors.SafetensorError as error:
        raise InputError(f"{weights}: not a safetensors file ({error})") from None
    except (OSError, RuntimeError) as error:
        raise InputError(f"{weights}: weights do not match config.json ({str(error).splitlines()[0]})") from None
    if missing or unexpected:
        raise InputError(
            f"{weights}: weights do not match config.json "
            f"(missing {len(missing)}, unexpected {len(unexpected)} tensors)"
        )
    model.source = {"path": str(folder), "weights": weights.name, "sha256": _sha256(weights)}
    model.extra = extra
    return model.eval()


def _resolve(name_or_path):
    from synthscope.models import bundled_model_path

    path = Path(name_or_path)
    if path.is_file():
        if path.suffix != ".safetensors":
            raise InputError(f"{path}: not a safetensors checkpoint; synthscope loads only safetensors model folders")
        path = path.parent
    if (path / "config.json").is_file():
        return path
    bundled = bundled_model_path(str(name_or_path))
    if bundled is not None:
        return Path(str(bundled))
    raise InputError(
        f"{name_or_path}: no model folder (config.json + model.safetensors) and no bundled model of that name"
    )


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
