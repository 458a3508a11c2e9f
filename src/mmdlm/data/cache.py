"""Prepared images (uint8 [3, S, S], resized once) kept in memory for the stages of a fold that read them."""

from __future__ import annotations

import torch

from mmdlm.data.sources import ImageSource
from mmdlm.data.transforms import to_chw


class ImageCache:
    """`to_chw(source[i], size)` computed once per (source, i, size) and kept while it fits in `max_bytes`
    (then computed on every read, as without a cache). The cached tensors are never changed in place:
    augmentation and collation copy them."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = int(max_bytes)
        self.bytes = 0
        self._images: dict[tuple[int, int, int], torch.Tensor] = {}
        self._sources: dict[int, ImageSource] = {}  # keeps each keyed source alive: its id is never reused

    def __len__(self) -> int:
        return len(self._images)

    def get(self, source: ImageSource, i: int, size: int) -> torch.Tensor:
        """The prepared image `i` of `source` at `size` (from the cache when it was prepared before)."""
        key = (id(source), int(i), int(size))
        image = self._images.get(key)
        if image is None:
            image = to_chw(source[i], size)
            nbytes = image.numel() * image.element_size()
            if self.bytes + nbytes <= self.max_bytes:
                self._images[key] = image
                self._sources[key[0]] = source
                self.bytes += nbytes
        return image
