"""Config section owned by mmdlm.cohort (ingest); the synthetic cohort's section lives in mmdlm.synth."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mmdlm.config_base import StrictModel

__all__ = ["IngestConfig", "DEFAULT_MAF_EXCLUDED"]

#: MAF Variant_Classification values that do not count as a mutation (silent or outside the coding sequence).
DEFAULT_MAF_EXCLUDED: tuple[str, ...] = (
    "Silent",
    "Intron",
    "3'UTR",
    "5'UTR",
    "3'Flank",
    "5'Flank",
    "IGR",
    "RNA",
    "lincRNA",
)


class IngestConfig(StrictModel):
    """How a cohort is turned into the manifest (docs/formats/manifest.md)."""

    endpoint: Literal["DSS", "OS", "PFI"] = "DSS"
    #: 5YSS horizon: died of the endpoint before it = 1, followed at least this long event-free = 0.
    horizon_months: float = Field(60.0, gt=0)
    #: Number of alteration features kept (most frequent by number of altered patients).
    top_n_alterations: int = Field(10, ge=1)
    #: GISTIC deep deletion <= -threshold -> `<gene>_del`; amplification >= threshold -> `<gene>_amp`.
    cna_threshold: int = Field(2, ge=1, le=2)
    #: Variant classes of a MAF that are not counted as mutations.
    maf_excluded_classes: tuple[str, ...] = DEFAULT_MAF_EXCLUDED
    #: Explicit feature list (e.g. ["VHL_mut", "PBRM1_mut", "VHL_del"]) instead of the top-N rule; every
    #: gene named must exist in its source table (an error otherwise).
    alteration_features: tuple[str, ...] = ()
    #: File endings taken as whole-slide images in a slides folder.
    slide_extensions: tuple[str, ...] = (
        ".svs",
        ".tif",
        ".tiff",
        ".ndpi",
        ".mrxs",
        ".scn",
        ".vms",
        ".vmu",
        ".bif",
        ".svslide",
    )
    #: Modality assumed for a NIfTI volume whose name says neither CT nor MR (counted as a warning).
    nifti_default_modality: Literal["CT", "MR"] = "CT"
    #: KiTS19 histologic subtypes kept by `mmdlm ingest --kits19`.
    kits19_subtypes: tuple[str, ...] = ("clear_cell_rcc",)
