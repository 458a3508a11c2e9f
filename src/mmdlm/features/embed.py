"""Embedding one slide's tissue tiles (and one patient's radiology planes) with an encoder, batched, with a
DataLoader decoding tiles while the encoder runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader

from mmdlm.encoders.encoder import Encoder
from mmdlm.features.config import FeaturesConfig
from mmdlm.features.store import MagnificationFeatures
from mmdlm.features.tiles import GridTiles, SlideGrid, collate_tiles

#: progress(tiles done in this call) after each batch
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Runtime:
    """Where and how the encoder runs: device, bf16 autocast, channels_last, DataLoader workers."""

    device: torch.device
    bf16: bool
    channels_last: bool
    num_workers: int
    batch_size: int


def runtime(cfg: FeaturesConfig, *, in_worker: bool) -> Runtime:
    """The runtime `cfg` asks for on this machine; DataLoader workers are 0 inside an executor's worker
    process (a Dask or pool worker cannot start its own children reliably)."""
    cuda = cfg.device == "cuda" or (cfg.device == "auto" and torch.cuda.is_available())
    device = torch.device("cuda" if cuda else "cpu")
    bf16 = cuda and cfg.bf16 != "off" or cfg.bf16 == "on"
    if cfg.cpu_threads and not cuda:
        torch.set_num_threads(cfg.cpu_threads)
    return Runtime(device, bf16, cuda, 0 if in_worker else cfg.num_workers, cfg.batch_size)


def embed_grid(
    encoder: Encoder, grid: SlideGrid, blur_threshold: float, rt: Runtime, progress: Progress | None = None
) -> tuple[list[MagnificationFeatures], dict[float, int]]:
    """Features of every grid tile the blur filter keeps, per magnification (row-major, like the tile store),
    and the number of tiles dropped as blurred per magnification."""
    data = GridTiles(grid, blur_threshold)
    loader = DataLoader(
        data,
        batch_size=rt.batch_size,
        num_workers=rt.num_workers,
        collate_fn=collate_tiles,
        pin_memory=rt.device.type == "cuda",
        persistent_workers=False,
        prefetch_factor=4 if rt.num_workers else None,
    )
    n_mag = len(grid.geometries)
    feats = [np.zeros((len(c), encoder.width), dtype=np.float16) for c in grid.coords]
    kept_mask = [np.zeros(len(c), dtype=bool) for c in grid.coords]
    for mags, pos, tiles, kept in loader:
        if bool(kept.any()):
            out = encoder.embed(
                tiles[kept].to(rt.device, non_blocking=True), channels_last=rt.channels_last, bf16=rt.bf16
            )
            out = out.to(torch.float16).cpu().numpy()
            mk, pk = mags[kept].numpy(), pos[kept].numpy()
            for m in range(n_mag):
                feats[m][pk[mk == m]] = out[mk == m]
                kept_mask[m][pk[mk == m]] = True
        if progress is not None:
            progress(len(kept))
    parts, n_blurred = [], {}
    for m, (geometry, coords) in enumerate(zip(grid.geometries, grid.coords, strict=True)):
        keep = kept_mask[m]
        parts.append(
            MagnificationFeatures(
                geometry.magnification,
                feats[m][keep],
                coords.reshape(-1, 2)[keep],
                geometry.level0_size,
                geometry.effective_mpp,
            )
        )
        n_blurred[geometry.magnification] = int((~keep).sum())
    return parts, n_blurred


def embed_images(encoder: Encoder, images: list[np.ndarray], rt: Runtime) -> np.ndarray:
    """float16 features [N, D] of uint8 images (grayscale [H, W] repeated to RGB, or [H, W, 3])."""
    from mmdlm.data.transforms import to_chw

    out = []
    for start in range(0, len(images), rt.batch_size):
        chunk = images[start : start + rt.batch_size]
        batch = torch.stack([to_chw(im, max(im.shape[:2])) for im in chunk])  # the encoder resizes
        out.append(encoder.embed(batch.to(rt.device), channels_last=rt.channels_last, bf16=rt.bf16))
    return torch.cat(out).to(torch.float16).cpu().numpy() if out else np.zeros((0, encoder.width), np.float16)
