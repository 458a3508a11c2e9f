"""The shared vocabulary of modalities and of the paper's model configurations."""

from __future__ import annotations

TILE_10X = "tile_10x"
TILE_5X = "tile_5x"
RADIOLOGY = "radiology"
GENOMICS = "genomics"

#: Order of modalities in every mask / attention tensor (column m of a [B, M] mask is MODALITIES[m]).
MODALITIES: tuple[str, ...] = (TILE_10X, TILE_5X, RADIOLOGY, GENOMICS)
IMAGE_MODALITIES: tuple[str, ...] = (TILE_10X, TILE_5X, RADIOLOGY)

#: The configurations compared in the paper, each a set of active (unmuted) modalities.
CONFIGURATIONS: dict[str, tuple[str, ...]] = {
    "radiology": (RADIOLOGY,),
    "histo_5x": (TILE_5X,),
    "histo_10x": (TILE_10X,),
    "genomics": (GENOMICS,),
    "histology": (TILE_10X, TILE_5X),
    "histo_radiology": (TILE_10X, TILE_5X, RADIOLOGY),
    "histo_radiology_genomics": (TILE_10X, TILE_5X, RADIOLOGY, GENOMICS),
}


def magnification_modality(magnification: float) -> str:
    """Name of the tile modality for a magnification (10 -> 'tile_10x')."""
    return f"tile_{magnification:g}x"


def most_fused(names) -> str | None:
    """The configuration among `names` with the most modalities (the full fused model first), or None."""
    known = [n for n in names if n in CONFIGURATIONS]
    if not known:
        return None
    return min(known, key=lambda c: (-len(CONFIGURATIONS[c]), list(CONFIGURATIONS).index(c)))
