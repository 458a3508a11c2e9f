"""The Cox task: a log-risk head trained with the Cox negative log partial likelihood."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from mmdlm.tasks.base import RiskTask

if TYPE_CHECKING:
    from mmdlm.tasks.targets import Targets


@dataclass(frozen=True)
class CoxTask(RiskTask):
    """Risk [B] from a one-unit head; loss: Cox partial likelihood (Efron or Breslow ties)."""

    name: ClassVar[str] = "cox"
    title: ClassVar[str] = "Cox proportional-hazards risk"

    @property
    def head_width(self) -> int:
        return 1

    def loss(self, out: Any, targets: Targets, ties: str = "efron") -> Any:
        from mmdlm.tasks.losses import cox_ph_loss

        return cox_ph_loss(out.out.float(), targets.time, targets.event, ties)

    def score(self, out: Any) -> Any:
        return out.out.float()

    def scalar_target(self, out: Any) -> Any:
        return out.out
