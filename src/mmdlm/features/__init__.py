"""mmdlm.features: `mmdlm features`, every tissue tile and radiology plane embedded once
(docs/formats/features.md).

Public names are imported lazily (PEP 562): reading `mmdlm.features.config` never imports torch.
"""

from mmdlm.lazy import lazy_exports

_EXPORTS = {"extract_features": "mmdlm.features.pipeline", "FeaturesConfig": "mmdlm.features.config"}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
