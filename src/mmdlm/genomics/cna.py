"""GISTIC discrete copy number (genes x samples, -2..2): deep deletions and amplifications per gene."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mmdlm.cohort.tables import Table, read_table
from mmdlm.errors import MmdlmError

#: Non-sample columns a cBioPortal data_cna.txt may carry besides Hugo_Symbol.
CNA_ANNOTATION_COLUMNS: frozenset[str] = frozenset({"Hugo_Symbol", "Entrez_Gene_Id", "Cytoband"})


def read_cna(path: str | Path) -> Table:
    """data_cna.txt: Hugo_Symbol, optional Entrez_Gene_Id / Cytoband, then one column per sample."""
    table = read_table(path)
    table.require("Hugo_Symbol")
    return table


def cna_samples(cna: Table) -> list[str]:
    """The sample columns of a CNA table."""
    return [c for c in cna.frame.columns if c not in CNA_ANNOTATION_COLUMNS]


def altered_samples(cna: Table, threshold: int) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(gene -> samples with value <= -threshold, gene -> samples with value >= threshold); an empty cell or
    'NA' is not altered; any other non-integer value, or one outside -2..2, is an error naming file, row,
    gene and sample. A gene listed on several rows is altered if any row says so."""
    samples = cna_samples(cna)
    frame = cna.frame
    raw = frame[samples]
    empty = raw.isin(["", "NA", "NaN", "nan"]).to_numpy()
    values = raw.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        bad = ~empty & ~(np.isfinite(values) & (values == np.round(values)) & (np.abs(values) <= 2))
    if bad.any():
        i, j = (int(x[0]) for x in np.nonzero(bad))
        raise MmdlmError(
            f"GISTIC value must be an integer -2..2, got {raw.iat[i, j]!r} "
            f"(gene {frame['Hugo_Symbol'].iloc[i]})",
            file=cna.path,
            row=cna.line(i),
            field=samples[j],
        )
    values = np.where(empty, 0.0, values)
    genes = frame["Hugo_Symbol"].tolist()
    deleted: dict[str, set[str]] = {g: set() for g in genes if g}
    amplified: dict[str, set[str]] = {g: set() for g in genes if g}
    for target, mask in ((deleted, values <= -threshold), (amplified, values >= threshold)):
        for i, j in zip(*np.nonzero(mask), strict=True):
            if genes[i]:
                target[genes[i]].add(samples[j])
    return deleted, amplified
