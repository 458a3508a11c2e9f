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

from mmdlm.lazy import by_module, lazy_exports

_EXPORTS = by_module(__name__, {
    "reader": "open_slide SlideReader mpp_for_magnification", "tissue": "tissue_mask TissueMask",
    "levels": "tile_geometry TileGeometry", "grid": "tile_grid read_tile tissue_fractions",
    "pipeline": "tile_slides tile_slide", "store": "open_store TileStore read_index store_path",
    "config": "TilingConfig",
})

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_exports(__name__, _EXPORTS)
