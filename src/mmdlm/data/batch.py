"""The collated batch the end-to-end loaders yield: uint8 images per present image modality, the genomic
vectors, the modality mask, each sample's record index and the task targets.

Not frozen, so Lightning's true-precision plugins can convert its float tensors (as they did for a dict);
the LightningModule moves it with `Batch.to` (SurvivalModule.transfer_batch_to_device) and a DataLoader with
pin_memory calls `Batch.pin_memory`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from mmdlm.data.transforms import normalise
from mmdlm.modalities import GENOMICS
from mmdlm.tasks.targets import Targets


@dataclass
class Batch:
    """`images`: uint8 [B, 3, S, S] per image modality present in a sample (zeros where a sample lacks it);
    `genomics`: float32 [B, G] (zeros where absent); `mask`: bool [B, M] over MODALITIES; `index`: long [B],
    each sample's record index in its dataset; `targets`: time, event and 5-year label."""

    images: dict[str, torch.Tensor]
    genomics: torch.Tensor
    mask: torch.Tensor
    index: torch.Tensor
    targets: Targets

    def __len__(self) -> int:
        return len(self.index)

    def map(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> Batch:
        """The batch with `fn` applied to every tensor, images and targets included."""
        return Batch({m: fn(x) for m, x in self.images.items()}, fn(self.genomics), fn(self.mask),
                     fn(self.index), self.targets.map(fn))

    def to(self, device: str | torch.device, non_blocking: bool = False) -> Batch:
        """The same batch on `device`."""
        return self.map(lambda t: t.to(device, non_blocking=non_blocking))

    def pin_memory(self) -> Batch:
        """The same batch in page-locked memory (called by a DataLoader with pin_memory)."""
        return self.map(lambda t: t.pin_memory())

    def inputs(self, channels_last: bool = False) -> dict[str, torch.Tensor]:
        """The net's inputs from a batch already on its device: normalised float images per modality (uint8
        until here, so loader->device copies stay small) and the genomic vectors."""
        inputs = {m: normalise(x, channels_last) for m, x in self.images.items()}
        inputs[GENOMICS] = self.genomics
        return inputs
