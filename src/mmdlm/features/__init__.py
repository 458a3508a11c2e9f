"""mmdlm.features: `mmdlm features`, every tissue tile and radiology plane embedded once
(docs/formats/features.md).

Public names are imported lazily (PEP 562): reading `mmdlm.features.config` never imports torch.
"""

from mmdlm.lazy import by_module, lazy_exports

_EXPORTS = by_module(__name__, {"pipeline": "extract_features", "config": "FeaturesConfig"})

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
