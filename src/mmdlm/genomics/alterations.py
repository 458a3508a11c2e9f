"""The patient x feature 0/1 alteration matrix from a study's MAF / CNA files or from a ready table.

Rule (written into features.json):
- mutations: a patient has `<gene>_mut` = 1 if any of their samples has a MAF row for the gene whose
  Variant_Classification is not excluded (default: Silent, Intron, 3'UTR, 5'UTR, 3'Flank, 5'Flank, IGR, RNA,
  lincRNA). Patients are counted, not mutations.
- copy number: `<gene>_del` = 1 for a GISTIC value <= -threshold, `<gene>_amp` = 1 for >= threshold
  (threshold 2 = deep deletion / high-level amplification).
- profiled patients (the rows of alterations.csv): for mutations the samples of
  case_lists/cases_sequenced.txt, else the samples named in the MAF plus the CNA columns (a MAF lists
  no unmutated sample); for copy number the CNA columns. With both files a patient needs both; others
  are counted as partial.
- selection: the `top_n` features altered in most profiled patients (ties alphabetical, never a feature
  altered in nobody), or the explicit `alteration_features` list (each gene must exist in its table).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from mmdlm.cohort.matching import tcga_patient
from mmdlm.errors import MmdlmError
from mmdlm.genomics.cna import altered_samples, cna_samples, read_cna
from mmdlm.genomics.maf import maf_samples, mutated_samples, read_maf
from mmdlm.genomics.ready_matrix import read_ready_matrix
from mmdlm.genomics.select import check_requested, split_feature, top_features


@dataclass
class AlterationResult:
    """The matrix (patient_id + one int 0/1 column per feature), its features and what was seen."""

    matrix: pd.DataFrame
    features: list[str]
    info: dict
    unmatched: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def sample_patient(sample: str, sample_map: Mapping[str, str], patients: set[str]) -> str | None:
    """Patient of a sample: the study's sample file, else a TCGA barcode's first 12 characters, else a sample
    id equal to a patient id; None if it matches no cohort patient."""
    pid = sample_map.get(sample)
    if pid is None:
        pid = tcga_patient(sample) or sample
    return pid if pid in patients else None


def _finish(
    altered: dict[str, set[str]],
    profiled: set[str],
    patients: Sequence[str],
    known: dict[str, set[str]],
    top_n: int,
    requested: Sequence[str],
    source: str,
    rule: dict,
) -> tuple[pd.DataFrame, list[str], dict]:
    counts = {f: len(p & profiled) for f, p in altered.items()}
    if requested:
        features = check_requested(requested, known, source)
        how = "explicit list (ingest.alteration_features)"
    else:
        features = top_features(counts, top_n)
        how = f"top {top_n} by number of altered patients (ties alphabetical; never one altered in nobody)"
    rows = [p for p in patients if p in profiled]
    matrix = pd.DataFrame({"patient_id": rows})
    for f in features:
        hit = altered.get(f, set())
        matrix[f] = [int(p in hit) for p in rows]
    info = {
        "features": features,
        "selection": how,
        "source": source,
        "rule": rule,
        "n_patients": len(rows),
        "counts": {f: int(counts.get(f, 0)) for f in features},
        "candidate_counts": dict(
            sorted(((f, int(c)) for f, c in counts.items() if c > 0), key=lambda kv: (-kv[1], kv[0]))[:50]
        ),
    }
    return matrix, features, info


def from_study(
    maf_files: Sequence[Path],
    cna_file: Path | None,
    sample_map: Mapping[str, str],
    patients: Sequence[str],
    *,
    sequenced: set[str] | frozenset[str] | None,
    top_n: int,
    threshold: int,
    excluded_classes: Sequence[str],
    requested: Sequence[str] = (),
) -> AlterationResult | None:
    """Matrix from a study's data_mutations*.txt and data_cna.txt; None when it has neither."""
    if not maf_files and cna_file is None:
        return None
    pset = set(patients)
    altered: dict[str, set[str]] = {}
    known: dict[str, set[str]] = {"mut": set(), "del": set(), "amp": set()}
    unmatched: set[str] = set()
    warnings: list[str] = []

    def to_patients(samples: set[str]) -> set[str]:
        out = set()
        for s in samples:
            pid = sample_patient(s, sample_map, pset)
            if pid is None:
                unmatched.add(s)
            else:
                out.add(pid)
        return out

    cna_cols: set[str] = set()
    cna_pat: set[str] | None = None
    if cna_file is not None:
        cna = read_cna(cna_file)
        cna_cols = set(cna_samples(cna))
        cna_pat = to_patients(cna_cols)
        dels, amps = altered_samples(cna, threshold)
        for kind, table in (("del", dels), ("amp", amps)):
            for gene, samples in table.items():
                name = f"{gene}_{kind}"
                known[kind].add(name)
                altered.setdefault(name, set()).update(to_patients(samples))
    mut_pat: set[str] | None = None
    if maf_files:
        all_samples: set[str] = set()
        for path in maf_files:
            maf = read_maf(path)
            all_samples |= maf_samples(maf)
            for gene, samples in mutated_samples(maf, excluded_classes).items():
                name = f"{gene}_mut"
                known["mut"].add(name)
                altered.setdefault(name, set()).update(to_patients(samples))
        if sequenced is not None:
            mut_pat = to_patients(set(sequenced))
            profiled_rule = "case_lists/cases_sequenced.txt"
        else:
            mut_pat = to_patients(all_samples | cna_cols)
            profiled_rule = "samples named in the MAF" + (" or the CNA table" if cna_cols else "")
            warnings.append(
                f"no case_lists/cases_sequenced.txt: mutation-profiled samples taken as the {profiled_rule}"
            )
    if mut_pat is not None and cna_pat is not None:
        profiled = mut_pat & cna_pat
        partial = (mut_pat | cna_pat) - profiled
        if partial:
            warnings.append(
                f"{len(partial)} patient(s) profiled for only one of mutations / copy number: "
                "no alteration row"
            )
    else:
        profiled = mut_pat if mut_pat is not None else (cna_pat or set())
    if unmatched:
        warnings.append(
            f"{len(unmatched)} genomic sample(s) match no study patient (listed under "
            "unmatched.genomic_samples)"
        )
    rule = {
        "maf_files": [str(p.resolve()) for p in maf_files],
        "cna_file": str(cna_file.resolve()) if cna_file else None,
        "maf_excluded_classes": list(excluded_classes),
        "cna_threshold": threshold,
        "mutation_profiled": profiled_rule if maf_files else None,
    }
    missing = [f for f in requested if split_feature(f)[1] == "mut" and not maf_files]
    if missing:
        raise MmdlmError(
            f"requested alteration {missing[0]!r} needs a MAF (data_mutations*.txt)",
            field="ingest.alteration_features",
        )
    matrix, features, info = _finish(
        altered, profiled, patients, known, top_n, requested, "the study's MAF / CNA files", rule
    )
    return AlterationResult(
        matrix=matrix, features=features, info=info, unmatched=sorted(unmatched), warnings=warnings
    )


def from_ready(
    path: Path, patients: Sequence[str], *, top_n: int, threshold: int, requested: Sequence[str] = ()
) -> AlterationResult:
    """Matrix from a ready table (see genomics.ready_matrix): rows of non-cohort patients are unmatched."""
    ready = read_ready_matrix(path, threshold)
    pset = set(patients)
    in_cohort = [p for p in ready.matrix.index if p in pset]
    unmatched = sorted(p for p in ready.matrix.index if p not in pset)
    altered = {f: set(ready.matrix.index[ready.matrix[f].to_numpy() == 1]) for f in ready.matrix.columns}
    known = {"": set(ready.matrix.columns)}
    rule = {
        "table": str(Path(path).resolve()),
        "cna_threshold": threshold,
        "aggregation": "OR over a patient's rows (slides / samples); disagreeing rows counted as conflicts",
        "source_columns": ready.source_columns,
    }
    matrix, features, info = _finish(
        altered, set(in_cohort), patients, known, top_n, requested, f"the alteration table {path}", rule
    )
    warnings = []
    if unmatched:
        warnings.append(
            f"{len(unmatched)} patient(s) of the alteration table are not study patients (listed "
            "under unmatched.alterations)"
        )
    conflicts = [p for p in ready.conflicts if p in pset]
    if conflicts:
        warnings.append(f"{len(conflicts)} patient(s) have alteration rows that disagree (OR kept)")
    info["conflicts"] = len(conflicts)
    info["rows_per_patient_max"] = ready.rows_per_patient_max
    return AlterationResult(matrix=matrix, features=features, info=info, unmatched=unmatched,
                            conflicts=conflicts, warnings=warnings)
