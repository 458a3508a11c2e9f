"""Sliding-window markup: score every tissue tile of a slide with the model, batched, in inference mode.

Tiles come from the slides package (its tissue mask and grid): read from the slide's tile store when it holds
exactly that grid (`mmdlm.explain.tilesource`), else decoded from the slide; DataLoader workers read them so
the model is never starved. The other modalities are either the patient's own inputs held fixed (their branch
embeddings are computed once and reused for every batch) or muted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from mmdlm.data.transforms import normalise, to_chw
from mmdlm.errors import MmdlmError
from mmdlm.explain.tilesource import StoreTileDataset, TileSource, choose_tile_source
from mmdlm.modalities import GENOMICS, IMAGE_MODALITIES, MODALITIES, magnification_modality
from mmdlm.slides.grid import read_tile_at, tile_grid
from mmdlm.slides.levels import TileGeometry, tile_geometry
from mmdlm.slides.reader import SlideReader, open_slide
from mmdlm.slides.tissue import Thumbnail, slide_thumbnail, tissue_mask
from mmdlm.tasks.registry import get_task

Transform = Callable[[np.ndarray], torch.Tensor]


class SlideTileDataset(Dataset):
    """The tiles at `coords` (level-0 top-left) of one slide as uint8 [3, S, S] tensors, S = `image_size`
    (mmdlm.data's `to_chw`; normalised later, on the model's device, by the scorer). Each worker opens its own
    OpenSlide handle on first use."""

    def __init__(
        self,
        slide_path: str | Path,
        coords: np.ndarray,
        geometry: TileGeometry,
        image_size: int | None = None,
        reader: str = "openslide",
    ) -> None:
        self.slide_path = Path(slide_path)
        self.reader = reader
        self.coords = np.asarray(coords, dtype=np.int64).reshape(-1, 2)
        self.geometry = geometry
        self.transform: Transform = partial(to_chw, size=image_size or geometry.tile_size)
        self._slide: SlideReader | None = None

    def __len__(self) -> int:
        return len(self.coords)

    def __getitem__(self, index: int) -> torch.Tensor:
        if self._slide is None:
            self._slide = open_slide(self.slide_path, self.reader)
        return self.transform(read_tile_at(self._slide, self.coords[index], self.geometry))

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_slide"] = None  # an OpenSlide handle never crosses a process boundary
        return state

    def close(self) -> None:
        """Release this process's OpenSlide handle, if open."""
        if self._slide is not None:
            self._slide.close()
            self._slide = None


class TileScorer:
    """Scores batches of one tile modality: risk (cox) or p(deceased) (5yss) per tile.

    `context`: the patient's other inputs (modality -> tensor with a batch dimension of 1) held fixed; a
    modality not in `context` is muted. Fixed branches are evaluated once, here, and reused for every batch.
    uint8 tiles are normalised (mmdlm.data's ImageNet normalisation) on the model's device; float tiles are
    taken as already normalised. `bf16`: bfloat16 autocast on the model's device; on CUDA the tiles are also
    made channels_last (pair it with `model.to(memory_format=torch.channels_last)`).
    """

    def __init__(
        self,
        model: nn.Module,
        tile_modality: str,
        context: Mapping[str, torch.Tensor] | None = None,
        bf16: bool = False,
    ) -> None:
        if tile_modality not in IMAGE_MODALITIES or not tile_modality.startswith("tile_"):
            raise MmdlmError(
                f"'{tile_modality}' is not a tile modality of the model", field="markup_magnification"
            )
        context = dict(context or {})
        context.pop(tile_modality, None)
        unknown = set(context) - set(MODALITIES)
        if unknown:
            raise MmdlmError(f"unknown modality {sorted(unknown)} in the markup context", field="context")
        self.model = model.eval()
        self.task = get_task(model.task)
        self.tile_modality = tile_modality
        self.active = [m for m in MODALITIES if m == tile_modality or m in context]
        device = next(model.parameters()).device
        with torch.inference_mode():
            self._fixed = {m: model.branches[m](x.to(device)[:1]).clone() for m, x in context.items()}
        self.device = device
        self.bf16 = bf16
        self._mask_row = torch.tensor([m in self.active for m in MODALITIES], dtype=torch.bool, device=device)

    @torch.inference_mode()
    def __call__(self, tiles: torch.Tensor) -> torch.Tensor:
        """[B, 3, S, S] tiles (uint8, or float already normalised) -> score [B] (float32, model's device)."""
        tiles = tiles.to(self.device, non_blocking=True)
        if tiles.dtype == torch.uint8:
            tiles = normalise(tiles, channels_last=self.device.type == "cuda")
        batch = tiles.shape[0]
        mask = self._mask_row.expand(batch, -1)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            # the tile branch embeds each tile; the context's cached embeddings are fused with every one
            parts = [self.model.branches[m](tiles) if m == self.tile_modality
                     else self._fixed[m].expand(batch, -1) if m in self._fixed else None for m in MODALITIES]
            out = self.model.fuse(self.model.stack(parts, batch), mask)
        return self.task.score(out)


@dataclass(frozen=True)
class SlideScores:
    """Per-tile scores of one slide: level-0 top-left coords [N, 2], tile side in level-0 px, score [N]."""

    slide_path: Path
    width: int
    height: int
    magnification: float
    tile_size: int
    level0_size: int
    coords: np.ndarray
    scores: np.ndarray  # risk (cox) or p(deceased) (5yss)
    task: str
    context: tuple[str, ...]  # active modalities besides the tile modality
    tile_source: TileSource = TileSource("slide", None, "decoded from the slide")


def score_slide(
    model: nn.Module,
    slide_path: str | Path,
    *,
    magnification: float,
    tile_size: int,
    tissue_fraction: float,
    context: Mapping[str, torch.Tensor] | None = None,
    batch_size: int = 64,
    num_workers: int = 2,
    image_size: int | None = None,
    tiling_cfg=None,
    bf16: bool = False,
    store: str | Path | None = None,
    slide_id: str | None = None,
    store_workers: int = 0,
) -> SlideScores:
    """Score every tissue tile (the slides package's `tile_grid` at `magnification`) of a slide; tiles are
    read from `store` (the slide's tile store, checked against `slide_id`; `store_workers` readers) when it
    holds exactly that grid, else decoded as the tile store reads them (`tile_size` px, `num_workers`
    readers); resized to `image_size` as in training."""
    tile_modality = magnification_modality(magnification)
    reader = tiling_cfg.reader if tiling_cfg is not None else "openslide"
    with open_slide(slide_path, reader) as slide:
        geometry = tile_geometry(slide, magnification, tile_size)
        mask = tissue_mask(slide, tiling_cfg)
        coords = tile_grid(slide, magnification, tile_size, tissue_fraction, mask=mask, cfg=tiling_cfg)
        width, height = slide.dimensions
    source = choose_tile_source(store, slide_path, geometry, coords, slide_id)
    scorer = TileScorer(model, tile_modality, context, bf16=bf16)
    scores = score_tiles(
        scorer,
        tile_dataset(source, slide_path, coords, geometry, image_size, reader),
        batch_size=batch_size,
        num_workers=store_workers if source.kind == "store" else num_workers,
    )
    return SlideScores(
        Path(slide_path),
        int(width),
        int(height),
        float(magnification),
        int(tile_size),
        geometry.level0_size,
        coords,
        scores,
        scorer.task.name,
        tuple(m for m in scorer.active if m != tile_modality),
        source,
    )


def tile_dataset(
    source: TileSource,
    slide_path: str | Path,
    coords: np.ndarray,
    geometry: TileGeometry,
    image_size: int | None = None,
    reader: str = "openslide",
) -> Dataset:
    """The markup tiles at `coords` from `source`: the tile store's (same order) or decoded from the slide
    (by the `reader` backend)."""
    if source.kind == "store":
        return StoreTileDataset(source.store, geometry.magnification, len(coords), image_size)
    return SlideTileDataset(slide_path, coords, geometry, image_size, reader)


def score_tiles(
    scorer: Callable[[torch.Tensor], torch.Tensor],
    dataset: Dataset,
    *,
    batch_size: int = 64,
    num_workers: int = 2,
) -> np.ndarray:
    """Run `scorer` over a tile dataset in order, batched, with `num_workers` reader processes: float [N]."""
    if len(dataset) == 0:
        return np.zeros(0, dtype=np.float32)
    pin = torch.cuda.is_available()
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=False,
        num_workers=num_workers,
        pin_memory=pin,
        prefetch_factor=4 if num_workers > 0 else None,
        persistent_workers=False,
    )
    parts = [scorer(batch).cpu() for batch in loader]
    if hasattr(dataset, "close"):
        dataset.close()
    return torch.cat(parts).numpy().astype(np.float32)


def markup_thumbnail(slide_path: str | Path, max_side: int, reader: str = "openslide") -> Thumbnail:
    """The slide thumbnail the markup is drawn on (longer side `max_side`, read by the `reader` backend)."""
    with open_slide(slide_path, reader) as slide:
        return slide_thumbnail(slide, slide.mpp.x, max_side)


def context_inputs(inputs: Mapping[str, torch.Tensor], active: Sequence[str]) -> dict[str, torch.Tensor]:
    """The subset of one patient's inputs (batch of 1) kept fixed during markup: those in `active`."""
    keep = [m for m in active if m in inputs and m in (*IMAGE_MODALITIES, GENOMICS)]
    return {m: inputs[m][:1] for m in keep}
