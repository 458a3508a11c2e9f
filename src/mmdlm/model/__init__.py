"""mmdlm.model: image branches, genomic dense branch, attention fusion with muting, risk / 5YSS heads.

The public names are imported lazily (PEP 562) so that reading `mmdlm.model.config` does not import torch.
"""

from mmdlm.lazy import by_module, lazy_exports

_EXPORTS = by_module(__name__, {"fusion": "ModelOutput MultimodalNet build_model mute"})

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
