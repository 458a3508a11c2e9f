"""Study folders with sample file, MAF and CNA through ingest; PFI endpoint; sample-level grade."""

from __future__ import annotations

import pytest

from mmdlm.cohort.config import IngestConfig
from mmdlm.errors import MmdlmError
from mmdlm.pipeline.ingest import IngestSources, ingest

MAF = (
    "Hugo_Symbol\tTumor_Sample_Barcode\tVariant_Classification\n"
    "VHL\tTCGA-AA-0001-01\tMissense_Mutation\n"
    "VHL\tTCGA-AA-0002-01\tSilent\n"
    "PBRM1\tTCGA-AA-0002-01\tNonsense_Mutation\n"
    "VHL\tTCGA-QQ-0000-01\tMissense_Mutation\n"
)
CNA = "Hugo_Symbol\tTCGA-AA-0001-01\tTCGA-AA-0002-01\tTCGA-AA-0003-01\nMYC\t2\t0\t1\nVHL\t-2\t-1\t0\n"
SAMPLES = [
    ["TCGA-AA-0001-01", "TCGA-AA-0001", "G2"],
    ["TCGA-AA-0001-06", "TCGA-AA-0001", "G3"],
    ["TCGA-AA-0002-01", "TCGA-AA-0002", "ISUP 4"],
    ["TCGA-AA-0003-01", "TCGA-AA-0003", "GX"],
    ["TCGA-AA-0009-01", "TCGA-AA-0009", "G1"],
]


def test_study_with_samples_maf_cna(make_study):
    res = ingest(IngestSources(cbioportal=make_study(samples=SAMPLES, maf=MAF, cna=CNA)), IngestConfig())
    p = res.patients.set_index("patient_id")
    assert (
        p["grade"].tolist()[:2] == [2, 4] and p["grade"].isna().tolist()[2]
    )  # first sample wins; GX missing
    assert p.loc["TCGA-AA-0001", "grade_raw"] == "G2"
    assert any("disagreeing on grade" in w for w in res.summary["warnings"])
    assert res.summary["unmatched"]["samples"] == ["TCGA-AA-0009"]
    assert res.summary["unmatched"]["genomic_samples"] == ["TCGA-QQ-0000-01"]
    a = res.alterations.set_index("patient_id")
    assert res.features_info["features"] == ["MYC_amp", "PBRM1_mut", "VHL_del", "VHL_mut"]
    assert a.loc["TCGA-AA-0001"].tolist() == [1, 0, 1, 1]
    assert a.loc["TCGA-AA-0002"].tolist() == [0, 1, 0, 0]  # silent VHL not counted
    assert a.loc["TCGA-AA-0003"].tolist() == [0, 0, 0, 0]  # in the CNA: profiled, unaltered
    assert res.summary["availability"]["patients_with_genomics"] == 3


def test_requested_gene_absent_from_maf(make_study):
    cfg = IngestConfig(alteration_features=("VHL_mut", "KRAS_mut"))
    with pytest.raises(MmdlmError) as exc:
        ingest(IngestSources(cbioportal=make_study(maf=MAF, cna=CNA)), cfg)
    assert "KRAS_mut" in exc.value.message


def test_pfi_reads_pfs_columns(make_study, patient_table):
    header, rows = patient_table
    header += ["PFS_STATUS", "PFS_MONTHS"]
    for r, (s, t) in zip(
        rows, [("0:CENSORED", "70"), ("1:PROGRESSION", "5"), ("1:PROGRESSION", "")], strict=True
    ):
        r += [s, t]
    res = ingest(
        IngestSources(cbioportal=make_study(rows=rows, header=header)), IngestConfig(), endpoint="PFI"
    )
    p = res.patients
    assert p["event"].tolist()[:2] == [0, 1] and p["time"].isna().tolist() == [False, False, True]
    assert res.summary["endpoint_counts"]["patients_without_endpoint"] == 1
    assert (p["endpoint"] == "PFI").all()
