"""Config section `features` (owned by mmdlm.features): how `mmdlm features` runs the encoder."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mmdlm.config_base import StrictModel


class FeaturesConfig(StrictModel):
    """Batching and devices of feature extraction; none of these change the features beyond float16 rounding
    (bf16 autocast on a GPU does, within bf16 precision), so none is part of a store's identity."""

    #: tiles per encoder forward pass
    batch_size: int = Field(64, ge=1)
    #: DataLoader processes decoding tiles while the encoder runs (0: in the encoding process; always 0
    #: inside a worker process of the executor, which cannot start its own)
    num_workers: int = Field(2, ge=0)
    #: `auto`: the first CUDA device when there is one, else the CPU
    device: Literal["auto", "cpu", "cuda"] = "auto"
    #: bf16 autocast on CUDA (`auto`: on when the device is CUDA); channels_last memory layout on CUDA too
    bf16: Literal["auto", "on", "off"] = "auto"
    #: torch threads of the encoding process on the CPU (0: torch's default)
    cpu_threads: int = Field(0, ge=0)
