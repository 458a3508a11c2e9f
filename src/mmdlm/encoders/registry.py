"""The one place encoder families are registered: `model.encoder.family` -> the family that builds it."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from mmdlm.encoders.config import EncoderConfig
from mmdlm.encoders.encoder import Encoder
from mmdlm.encoders.families import TimmFamily, TorchvisionFamily

#: family key -> family object (a new family: one class with `key` and `build(cfg) -> Encoder`, added here)
FAMILIES: Mapping[str, object] = MappingProxyType({f.key: f for f in (TorchvisionFamily(), TimmFamily())})


def build_encoder(cfg: EncoderConfig) -> Encoder:
    """The encoder `cfg` describes, in eval mode on the CPU (its weights from a local file: no download)."""
    return FAMILIES[cfg.family].build(cfg).eval()
