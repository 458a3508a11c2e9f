"""The one C-index wrapper (ground floor): Harrell's C-index of a risk score via lifelines, with one
convention for undefined values: None when no pair is comparable (fewer than two patients, no event, or
lifelines finds no admissible pair), never an exception and never a made-up number."""

from __future__ import annotations

import numpy as np


def harrell_cindex(time, event, risk) -> float | None:
    """Harrell's C-index of a risk score (higher = worse) via lifelines; None when no pair is comparable."""
    from lifelines.utils import concordance_index

    t, e, r = (np.asarray(x, dtype=float) for x in (time, event, risk))
    if len(t) < 2 or e.sum() == 0:
        return None
    try:
        return float(concordance_index(t, -r, e))  # lifelines expects a survival score
    except ZeroDivisionError:  # "No admissable pairs in the dataset."
        return None
