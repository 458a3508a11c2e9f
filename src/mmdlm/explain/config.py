"""Config section owned by mmdlm.explain."""

from __future__ import annotations

from mmdlm.config_base import StrictModel


class ExplainConfig(StrictModel):
    """Grad-CAM gallery and sliding-window markup."""

    gallery_size: int = 3
    markup_batch_size: int = 64
    markup_slides: int = 1
