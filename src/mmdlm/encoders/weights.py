"""Reading a local weights file into a network (never a download) and its content hash."""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch
from torch import nn

from mmdlm.errors import MmdlmError

#: Keys under which training frameworks nest a state dict inside a checkpoint file.
_NESTED = ("state_dict", "model", "teacher")


def file_hash(path: Path) -> str:
    """sha256 of the whole file (hex)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def missing_weights(path: Path, what: str, source: str) -> MmdlmError:
    """The one-line error for an absent weights file: the file, and where such weights come from."""
    return MmdlmError(
        f"{what} weights not found; nothing is downloaded at run time: {source}",
        file=path,
        field="model.encoder.weights",
    )


def read_state(path: Path) -> dict[str, torch.Tensor]:
    """A state dict from a .safetensors or torch file (nested `state_dict`/`model` keys unwrapped)."""
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the user's input
        raise MmdlmError(
            f"cannot read weights ({exc.__class__.__name__}: {exc})"[:300],
            file=path,
            field="model.encoder.weights",
        ) from None
    for key in _NESTED:
        if isinstance(state, dict) and isinstance(state.get(key), dict) and len(state) <= 4:
            state = state[key]
    if not isinstance(state, dict):
        raise MmdlmError("weights file holds no state dict", file=path, field="model.encoder.weights")
    return state


def load_weights(net: nn.Module, path: Path, what: str, source: str, drop_prefix: str | None = None) -> str:
    """Load `path` into `net` (strict: every tensor must match; keys under `drop_prefix`, a classifier head
    the encoder does not have, are ignored); returns the file's sha256."""
    path = Path(path)
    if not path.is_file():
        raise missing_weights(path, what, source)
    state = read_state(path)
    if drop_prefix:
        state = {k: v for k, v in state.items() if not k.startswith(drop_prefix)}
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).replace("\n", " ")[:240]
        raise MmdlmError(
            f"weights do not fit {what} (wrong architecture or kwargs?): {first}",
            file=path,
            field="model.encoder.weights",
        ) from None
    return file_hash(path)
