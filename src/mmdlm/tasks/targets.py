"""What a task's loss is trained against: each sample's survival time, event and 5-year label as tensors.

Torch-free at import (the tasks package is resolved while configs load): torch is imported only when the
tensors are built. Not frozen, so Lightning's true-precision plugins can convert its float tensors in place of
a copy, as they do for any dataclass batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

#: the 5-year label of a patient without one (censored before five years): ignored by the 5YSS loss
NO_LABEL = -1


@dataclass
class Targets:
    """Survival time (float32 [B], months), event (float32 [B], 1 = death) and 5-year label (long [B]: 1 dead
    within five years, 0 alive after five, NO_LABEL none) of the samples of one batch."""

    time: torch.Tensor
    event: torch.Tensor
    label: torch.Tensor

    @classmethod
    def of(cls, times: Iterable[float], events: Iterable[float], labels: Iterable[int | None]) -> Targets:
        """The targets of per-sample values (a label None is NO_LABEL)."""
        import torch

        return cls(
            time=torch.tensor(list(times), dtype=torch.float32),
            event=torch.tensor(list(events), dtype=torch.float32),
            label=torch.tensor([NO_LABEL if v is None else v for v in labels], dtype=torch.long),
        )

    def map(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> Targets:
        """The targets with `fn` applied to each tensor (a move, a copy)."""
        return Targets(fn(self.time), fn(self.event), fn(self.label))

    def to(self, device: str | torch.device, non_blocking: bool = False) -> Targets:
        """The same targets on `device`."""
        return self.map(lambda t: t.to(device, non_blocking=non_blocking))

    def pin_memory(self) -> Targets:
        """The same targets in page-locked memory (what a DataLoader with pin_memory asks of a batch)."""
        return self.map(lambda t: t.pin_memory())

    def __len__(self) -> int:
        return len(self.time)
