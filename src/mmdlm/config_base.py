"""Base class of every config section: strict (unknown keys are errors), typed, frozen."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """A config section: unknown keys raise, values are validated on load."""

    model_config = ConfigDict(extra="forbid", frozen=True)
