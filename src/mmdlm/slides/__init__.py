"""mmdlm.slides: open whole-slide images (OpenSlide or tiffslide behind slides.reader), choose pyramid levels
for a magnification, detect tissue, tile at several magnifications into a resumable HDF5 tile store
(docs/formats/tiles.md).

Public API (imported lazily so `mmdlm.config` stays light):
    open_slide(path, reader="openslide") -> SlideReader (protocol)
    tissue_mask(slide, cfg=None) -> TissueMask
    tile_geometry(slide, magnification, tile_size) -> TileGeometry
    tile_grid(slide, magnification, tile_size, tissue_fraction, *, mask=None, cfg=None) -> int64 [N, 2]
    read_tile(slide, xy, magnification, tile_size) -> uint8 [S, S, 3]
    tile_slides(slides, out_dir, cfg, seed=0, workers=None, progress=True) -> summary dict
    open_store(path) -> TileStore;  read_index(tiles_dir) -> DataFrame
"""

from __future__ import annotations

from mmdlm.lazy import lazy_exports

_EXPORTS = {
    "open_slide": "reader",
    "SlideReader": "reader",
    "mpp_for_magnification": "reader",
    "tissue_mask": "tissue",
    "TissueMask": "tissue",
    "tile_geometry": "levels",
    "TileGeometry": "levels",
    "tile_grid": "grid",
    "read_tile": "grid",
    "tissue_fractions": "grid",
    "tile_slides": "pipeline",
    "tile_slide": "pipeline",
    "open_store": "store",
    "TileStore": "store",
    "read_index": "store",
    "store_path": "store",
    "TilingConfig": "config",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_exports(__name__, {name: f"mmdlm.slides.{module}" for name, module in _EXPORTS.items()})
