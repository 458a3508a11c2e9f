"""The discrete-time survival task of PORPOISE, MCAT and SurvPath: hazards over quantile time bins of the
training fold's event times, the censoring-aware NLL of Zadeh & Schmid (2020), risk = minus the summed
survival. It shares the risk statistics (C-index first) and the event-stratified folds of the Cox task."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from mmdlm.errors import MmdlmError
from mmdlm.tasks.base import RiskTask

if TYPE_CHECKING:
    from mmdlm.tasks.targets import Targets


def quantile_bins(times: Sequence[float], events: Sequence[float], n_bins: int) -> tuple[float, ...]:
    """The n_bins - 1 inner cut points: quantiles of the event times (bins [0, c_1), ..., [c_{K-1}, inf))."""
    t = np.asarray(times, dtype=float)[np.asarray(events, dtype=float) > 0]
    if len(t) == 0:
        raise MmdlmError("no event among the training patients: discrete time bins need event times",
                         field="event")
    return tuple(float(c) for c in np.quantile(t, np.linspace(0, 1, n_bins + 1))[1:-1])


def bin_of(times: np.ndarray, cuts: Sequence[float]) -> np.ndarray:
    """Bin index 0..K-1 of each time (a time equal to a cut point goes to the later bin)."""
    return np.searchsorted(np.asarray(cuts, dtype=float), np.asarray(times, dtype=float), side="right")


@dataclass(frozen=True)
class DiscreteTask(RiskTask):
    """`n_bins` hazards; `cuts`: inner bin boundaries fitted on the training fold (None before `fitted`);
    `alpha`: weight of the uncensored terms in the NLL."""

    name: ClassVar[str] = "discrete"
    title: ClassVar[str] = "Discrete-time survival (hazards over quantile time bins)"
    likelihood: ClassVar[str] = "discrete-time"
    n_bins: int = 4
    alpha: float = 0.15
    cuts: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if self.cuts is not None:  # from a checkpoint's plain list
            object.__setattr__(self, "cuts", tuple(float(c) for c in self.cuts))

    @property
    def head_width(self) -> int:
        return self.n_bins

    def fitted(self, train: Sequence[Any]) -> DiscreteTask:
        cuts = quantile_bins([r.time for r in train], [r.event for r in train], self.n_bins)
        return DiscreteTask(n_bins=self.n_bins, alpha=self.alpha, cuts=cuts)

    def params(self) -> dict:
        return {"n_bins": self.n_bins, "alpha": self.alpha,
                "cuts": None if self.cuts is None else list(self.cuts)}

    def loss(self, out: Any, targets: Targets, ties: str = "efron") -> Any:
        import torch

        from mmdlm.tasks.losses import discrete_survival_nll

        if self.cuts is None:
            raise MmdlmError("discrete task used for training before its time bins were fitted", field="task")
        cuts = torch.tensor(self.cuts, dtype=targets.time.dtype, device=targets.time.device)
        y = torch.bucketize(targets.time, cuts, right=True)
        return discrete_survival_nll(out.out.float(), y, targets.event, self.alpha)

    def score(self, out: Any) -> Any:
        import torch

        surv = torch.cumprod(1.0 - torch.sigmoid(out.out.float()), dim=1)
        return -surv.sum(dim=1)

    def scalar_target(self, out: Any) -> Any:
        return self.score(out)
