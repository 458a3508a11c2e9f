"""Checkpoints: written atomically, read only with torch.load(weights_only=True); the model and its meta."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO

from mmdlm.atomic import atomic_path, free_space
from mmdlm.directio import DirectWriter
from mmdlm.errors import MmdlmError
from mmdlm.modalities import MODALITIES
from mmdlm.model.fusion import MultimodalNet

#: hyper-parameters every checkpoint carries (plain types only, so weights_only loading works)
META_KEYS = ("task", "configuration", "active", "n_genomic", "feature_names", "image_size", "model")


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning checkpoint IO that writes to a temporary sibling past the page cache (mmdlm.directio), fsyncs
    and renames (never a half-written .ckpt), and loads with weights_only=True. `on_saved(path, checkpoint)`
    is called after each complete write."""

    def __init__(self, on_saved: Callable[[Path, dict], None] | None = None) -> None:
        super().__init__()
        self.on_saved = on_saved

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options: Any | None = None) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            try:
                with DirectWriter(tmp) as fh:  # close() writes the tail and fsyncs
                    torch.save(checkpoint, fh)
            except (OSError, RuntimeError) as exc:  # torch reports a full disk as "unexpected pos"
                reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else exc.__class__.__name__
                message = f"could not write the checkpoint ({reason}; {free_space(path.parent)} on its disk)"
                raise MmdlmError(message, file=path) from exc
        if self.on_saved is not None:
            self.on_saved(path, checkpoint)

    def load_checkpoint(
        self, path, map_location: Any | None = None, weights_only: bool | None = None
    ) -> dict:
        return read_checkpoint(path, map_location or "cpu")


def read_checkpoint(path: str | Path, map_location: Any = "cpu") -> dict:
    """A checkpoint's dict, loaded with weights_only=True (MmdlmError naming the file if unreadable)."""
    path = Path(path)
    if not path.is_file():
        raise MmdlmError("checkpoint not found", file=path)
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - a corrupt or foreign file is the user's input
        raise MmdlmError(f"not a readable mmdlm checkpoint ({exc.__class__.__name__})", file=path) from None


def model_state(checkpoint: dict) -> dict[str, torch.Tensor]:
    """The MultimodalNet state dict inside a Lightning checkpoint (module prefix 'model.' removed)."""
    state = checkpoint.get("state_dict", {})
    out = {
        k.removeprefix("model.").replace("_orig_mod.", ""): v
        for k, v in state.items()
        if k.startswith("model.")
    }
    return out


def load_model(checkpoint: str | Path) -> tuple[MultimodalNet, dict]:
    """(model in eval mode on CPU, meta: task, configuration, active, n_genomic, feature_names, image_size,
    model, epoch)."""
    return model_from_checkpoint(read_checkpoint(checkpoint), checkpoint)


def model_from_checkpoint(ckpt: dict, checkpoint: str | Path) -> tuple[MultimodalNet, dict]:
    """load_model for a checkpoint dict already in memory (`checkpoint`: its file, named in errors)."""
    hp = ckpt.get("hyper_parameters") or {}
    missing = [k for k in META_KEYS if k not in hp]
    if missing:
        raise MmdlmError(f"checkpoint lacks metadata {missing}", file=checkpoint, field="hyper_parameters")
    m = hp["model"]
    net = MultimodalNet(
        n_genomic=int(hp["n_genomic"]),
        task=hp["task"],
        width=int(m["width"]),
        dropout=float(m["dropout"]),
        backbone=m["backbone"],
        pretrained="none",
    )
    state = net.state_dict()
    saved = model_state(ckpt)
    muted = tuple(f"branches.{m}." for m in MODALITIES if m not in hp["active"])
    absent = [k for k in state if k not in saved and not k.startswith(muted)]
    if absent:
        raise MmdlmError(
            f"checkpoint lacks weights of its active modalities, e.g. {absent[0]}", file=checkpoint
        )
    state.update(saved)  # muted branches (not saved) keep the model's initial weights: they are never used
    try:
        net.load_state_dict(state)
    except RuntimeError as exc:
        raise MmdlmError(
            f"checkpoint weights do not fit the model ({str(exc)[:200]})", file=checkpoint
        ) from None
    meta = {k: hp[k] for k in META_KEYS}
    meta["epoch"] = ckpt.get("epoch")
    return net.eval(), meta
