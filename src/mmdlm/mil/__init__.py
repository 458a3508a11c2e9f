"""mmdlm.mil: the attention-MIL model family over feature stores (gated-attention pooling of every tissue
tile per image modality, then the end-to-end model's modality fusion and heads), trained per fold.

Public names are imported lazily (PEP 562): reading `mmdlm.mil.config` never imports torch.
"""

from mmdlm.lazy import by_module, lazy_exports

_EXPORTS = by_module(__name__, {
    "pooling": "GatedAttentionPool", "model": "MilNet", "bags": "BagRecord load_bags", "staged": "train_fold",
    "config": "MilConfig",
})

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
