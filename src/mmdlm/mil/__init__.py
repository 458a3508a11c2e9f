"""mmdlm.mil: the attention-MIL model family over feature stores (gated-attention pooling of every tissue
tile per image modality, then the end-to-end model's modality fusion and heads), trained per fold.

Public names are imported lazily (PEP 562): reading `mmdlm.mil.config` never imports torch.
"""

from mmdlm.lazy import lazy_exports

_EXPORTS = {
    "GatedAttentionPool": "mmdlm.mil.pooling",
    "MilNet": "mmdlm.mil.model",
    "BagRecord": "mmdlm.mil.bags",
    "load_bags": "mmdlm.mil.bags",
    "train_fold": "mmdlm.mil.staged",
    "MilConfig": "mmdlm.mil.config",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
