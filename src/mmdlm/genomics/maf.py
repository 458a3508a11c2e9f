"""Mutation Annotation Format (MAF): which samples carry a non-silent mutation in which gene."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from mmdlm.cohort.tables import Table, read_table

MAF_COLUMNS: tuple[str, ...] = ("Hugo_Symbol", "Tumor_Sample_Barcode", "Variant_Classification")


def read_maf(path: str | Path) -> Table:
    """A MAF (tab separated, leading '#' version lines skipped); the three columns used are required."""
    table = read_table(path)
    table.require(*MAF_COLUMNS)
    return table


def mutated_samples(maf: Table, excluded_classes: Iterable[str]) -> dict[str, set[str]]:
    """gene -> samples with at least one mutation whose Variant_Classification is not excluded
    (case-insensitive); genes with only excluded mutations map to an empty set (the gene is still known)."""
    excluded = {c.lower() for c in excluded_classes}
    out: dict[str, set[str]] = {}
    frame = maf.frame
    for gene, sample, cls in zip(
        frame["Hugo_Symbol"], frame["Tumor_Sample_Barcode"], frame["Variant_Classification"], strict=True
    ):
        if not gene or not sample:
            continue
        hits = out.setdefault(gene, set())
        if cls.lower() not in excluded:
            hits.add(sample)
    return out


def maf_samples(maf: Table) -> set[str]:
    """Every Tumor_Sample_Barcode named in the MAF."""
    return {s for s in maf.frame["Tumor_Sample_Barcode"] if s}
