"""What the stages of one fold share in memory so that each fixed cost is paid once: the seeded initial model
and the resized images (once per run when its folds train in one process: RunShare), the checkpoints a stage
writes and the next one reads, and the validation predictions of the weights a stage hands on.

Nothing here changes a result: every shortcut returns exactly what the disk or a new computation would.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import torch

from mmdlm.data.cache import ImageCache
from mmdlm.train.checkpoints import read_checkpoint


def _cpu_copy(value):
    """A checkpoint value with every tensor copied to the CPU (the live weights go on training)."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {k: _cpu_copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cpu_copy(v) for v in value)
    return copy.deepcopy(value)


def _key(path: Path | str) -> Path:
    """One name per file: Lightning hands the checkpoint hook a resolved path, while a stage names its files
    from the run folder as given (relative to the working directory, say)."""
    return Path(path).resolve()


@dataclass
class InitialNet:
    """A freshly seeded MultimodalNet, the torch RNG state right after building it, and the nets of finished
    stages handed back to be reset to it (`spare`)."""

    net: torch.nn.Module
    rng_state: torch.Tensor
    spare: list[torch.nn.Module] = field(default_factory=list)


def _reset(net: torch.nn.Module, initial: torch.nn.Module) -> torch.nn.Module:
    """`net` (of the same architecture, plain: not compiled, contiguous) made equal to `initial`: its values
    copied in place, every parameter trainable again without a gradient, in training mode."""
    net.load_state_dict(initial.state_dict())
    for p in net.parameters():
        p.requires_grad_(True)
        p.grad = None
    return net.train()


@dataclass
class RunShare:
    """What the folds of one run share when they train in the same process, one after another: the resized
    images and the seeded initial nets (with a finished stage's net to reset). It never crosses processes
    with its contents: pickled (a fold sent to a pool or Dask worker) it arrives empty, and that process
    fills its own."""

    image_bytes: int = 0
    images: ImageCache = field(init=False)
    initial: dict[str, InitialNet] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.images = ImageCache(self.image_bytes)

    @classmethod
    def for_config(cls, cfg) -> RunShare:
        """Sized by data.preload_max_mb (the memory the config allows for images)."""
        return cls(image_bytes=int(cfg.data.preload_max_mb * 2**20))

    def __getstate__(self) -> dict:
        return {"image_bytes": self.image_bytes}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["image_bytes"])


@dataclass
class FoldReuse:
    """In-memory state shared by the stages of one fold (one process); `image_bytes`: the image cache's
    budget; `shared`: the run's RunShare when the folds of a run share images and initial nets (else the
    fold's own)."""

    image_bytes: int = 0
    shared: RunShare | None = None
    checkpoints: dict[Path, dict] = field(default_factory=dict)
    predictions: dict[Path, pd.DataFrame] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.shared is None:
            self.shared = RunShare(self.image_bytes)

    @property
    def images(self) -> ImageCache:
        """The resized images (the run's, when shared)."""
        return self.shared.images

    @property
    def initial(self) -> dict[str, InitialNet]:
        """The seeded initial nets by key (the run's, when shared)."""
        return self.shared.initial

    @classmethod
    def for_config(cls, cfg, shared: RunShare | None = None) -> FoldReuse:
        """Sized by data.preload_max_mb (the memory the config allows for images); `shared`: the run's."""
        return cls(image_bytes=int(cfg.data.preload_max_mb * 2**20), shared=shared)

    def keep_checkpoint(
        self, path: Path, checkpoint: dict, predictions: pd.DataFrame | None, weights: bool = True
    ) -> None:
        """Remember what was just written to `path` (a CPU copy, unless not `weights`: then it is read from
        disk if ever needed) and, when known, the validation predictions of exactly these weights."""
        key = _key(path)
        if weights:
            self.checkpoints[key] = _cpu_copy(checkpoint)
        else:
            self.checkpoints.pop(key, None)
        if predictions is None:
            self.predictions.pop(key, None)
        else:
            self.predictions[key] = predictions.copy()

    def read(self, path: Path) -> dict:
        """The checkpoint at `path`: the copy kept when this process wrote it, else read from disk."""
        kept = self.kept_checkpoint(path)
        return kept if kept is not None else read_checkpoint(path)

    def kept_checkpoint(self, path: Path) -> dict | None:
        """The copy of the checkpoint at `path` kept when this process wrote it, if any."""
        return self.checkpoints.get(_key(path))

    def kept_predictions(self, path: Path) -> pd.DataFrame | None:
        """The validation predictions of exactly the weights in `path`, if a validation epoch gave them."""
        return self.predictions.get(_key(path))

    def initial_net(self, key: dict, build) -> torch.nn.Module:
        """A copy of the net `build()` makes right after seeding (built once per key; a finished stage's net
        handed back with `recycle` is reset to it, else it is copied); the torch RNG is left exactly as
        building it would have left it."""
        name = json.dumps(key, sort_keys=True, default=str)
        kept = self.initial.get(name)
        if kept is None:
            net = build()
            kept = self.initial[name] = InitialNet(copy.deepcopy(net), torch.get_rng_state())
            return net
        torch.set_rng_state(kept.rng_state)
        if kept.spare:
            return _reset(kept.spare.pop(), kept.net)
        return copy.deepcopy(kept.net)

    def recycle(self, key: dict, net: torch.nn.Module) -> None:
        """Hand back the net a finished stage trained (from `initial_net(key, ...)`, never compiled or made
        channels_last): the next stage with that key gets it reset in place instead of a new copy."""
        kept = self.initial.get(json.dumps(key, sort_keys=True, default=str))
        if kept is not None and not kept.spare:
            kept.spare.append(net)
