"""MAF / CNA / ready-table alteration matrices: the non-silent rule, patients not mutations, thresholds,
top-N selection, requested genes, per-patient aggregation of slide rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmdlm.cohort.config import DEFAULT_MAF_EXCLUDED
from mmdlm.errors import MmdlmError
from mmdlm.genomics.alterations import from_ready, from_study
from mmdlm.genomics.select import top_features

MAF_HEADER = "Hugo_Symbol\tEntrez_Gene_Id\tTumor_Sample_Barcode\tVariant_Classification\n"
PATIENTS = ["TCGA-AA-0001", "TCGA-AA-0002", "TCGA-AA-0003", "TCGA-AA-0004"]


def maf(tmp_path: Path, rows: list[tuple[str, str, str]]) -> Path:
    p = tmp_path / "data_mutations.txt"
    p.write_text("#version 2.4\n" + MAF_HEADER + "".join(f"{g}\t1\t{s}\t{c}\n" for g, s, c in rows))
    return p


def cna(tmp_path: Path, genes: dict[str, list[int | str]], samples: list[str]) -> Path:
    p = tmp_path / "data_cna.txt"
    lines = ["Hugo_Symbol\tEntrez_Gene_Id\t" + "\t".join(samples)]
    lines += [f"{g}\t1\t" + "\t".join(map(str, v)) for g, v in genes.items()]
    p.write_text("\n".join(lines) + "\n")
    return p


def run(maf_path=None, cna_path=None, top_n=10, threshold=2, requested=(), sequenced=None):
    return from_study(
        [maf_path] if maf_path else [],
        cna_path,
        {},
        PATIENTS,
        sequenced=sequenced,
        top_n=top_n,
        threshold=threshold,
        excluded_classes=DEFAULT_MAF_EXCLUDED,
        requested=requested,
    )


def test_maf_rule_counts_patients_not_mutations(tmp_path):
    rows = [
        ("VHL", "TCGA-AA-0001-01", "Missense_Mutation"),
        ("VHL", "TCGA-AA-0001-01", "Nonsense_Mutation"),  # same patient twice: counted once
        ("VHL", "TCGA-AA-0002-01", "Silent"),  # silent: not a mutation
        ("VHL", "TCGA-AA-0003-01", "3'UTR"),
        ("PBRM1", "TCGA-AA-0002-01", "Frame_Shift_Del"),
        ("PBRM1", "TCGA-AA-0003-01", "Splice_Site"),
        ("TTN", "TCGA-AA-0004-01", "Intron"),
        ("TTN", "TCGA-ZZ-9999-01", "Missense_Mutation"),  # not a study patient
    ]
    res = run(maf(tmp_path, rows))
    assert res.features == ["PBRM1_mut", "VHL_mut"]  # TTN only intronic in study patients
    m = res.matrix.set_index("patient_id")
    assert m["VHL_mut"].tolist() == [1, 0, 0, 0] and m["PBRM1_mut"].tolist() == [0, 1, 1, 0]
    assert res.info["counts"] == {"PBRM1_mut": 2, "VHL_mut": 1}
    assert res.unmatched == ["TCGA-ZZ-9999-01"]
    assert list(m.index) == PATIENTS  # all four named in the MAF: profiled


def test_cna_thresholds(tmp_path):
    samples = [f"{p}-01" for p in PATIENTS]
    path = cna(tmp_path, {"VHL": [-2, -1, 0, -2], "MYC": [2, 1, 0, "NA"]}, samples)
    res = run(cna_path=path)
    assert res.features == ["VHL_del", "MYC_amp"]
    assert res.matrix["VHL_del"].tolist() == [1, 0, 0, 1] and res.matrix["MYC_amp"].tolist() == [1, 0, 0, 0]
    res1 = run(cna_path=path, threshold=1)
    assert res1.matrix.set_index("patient_id")["MYC_amp"].tolist() == [1, 1, 0, 0]
    assert res1.info["counts"]["VHL_del"] == 3


def test_cna_bad_value(tmp_path):
    path = cna(tmp_path, {"VHL": [-2, 5, 0, 0]}, [f"{p}-01" for p in PATIENTS])
    with pytest.raises(MmdlmError) as exc:
        run(cna_path=path)
    assert exc.value.field == "TCGA-AA-0002-01" and exc.value.row == 2 and "VHL" in exc.value.message


def test_top_n_ties_alphabetical_and_zero_skipped():
    assert top_features({"B_mut": 3, "A_mut": 3, "C_del": 5, "D_amp": 0}, 2) == ["C_del", "A_mut"]
    assert top_features({"B_mut": 3, "D_amp": 0}, 10) == ["B_mut"]


def test_requested_features(tmp_path):
    path = maf(
        tmp_path, [("VHL", "TCGA-AA-0001-01", "Missense_Mutation"), ("TTN", "TCGA-AA-0002-01", "Silent")]
    )
    res = run(path, requested=("TTN_mut", "VHL_mut"))
    assert res.features == ["TTN_mut", "VHL_mut"] and res.matrix["TTN_mut"].sum() == 0
    with pytest.raises(MmdlmError) as exc:
        run(path, requested=("VHL_mut", "KRAS_mut"))
    assert "KRAS_mut" in exc.value.message and exc.value.field == "ingest.alteration_features"


def test_profiled_by_case_list_and_both_sources(tmp_path):
    path = maf(tmp_path, [("VHL", "TCGA-AA-0001-01", "Missense_Mutation")])
    res = run(path, sequenced={"TCGA-AA-0001-01", "TCGA-AA-0002-01"})
    assert res.matrix["patient_id"].tolist() == ["TCGA-AA-0001", "TCGA-AA-0002"]
    c = cna(tmp_path, {"VHL": [0, -2, 0]}, [f"{p}-01" for p in PATIENTS[1:]])
    res = run(path, c, sequenced={"TCGA-AA-0001-01", "TCGA-AA-0002-01"})
    assert res.matrix["patient_id"].tolist() == ["TCGA-AA-0002"]  # only one profiled by both
    assert any("only one of" in w for w in res.warnings)


def test_ready_table_aggregates_slides(tmp_path):
    p = tmp_path / "alt.tsv"
    p.write_text(
        "case_id\tslide_id\tVHL_mut\tBAP1_mut\tVHL_cnv\n"
        "TCGA-AA-0001\ts1\t1\t0\t-2\n"
        "TCGA-AA-0001\ts2\t0\t0\t-2\n"  # disagrees with s1 on VHL_mut: conflict, OR kept
        "TCGA-AA-0002\ts3\t0\t1\t2\n"
        "TCGA-AA-0002\ts4\t0\t1\t2\n"
        "TCGA-XX-0000\ts5\t1\t1\t0\n"
    )
    res = from_ready(p, PATIENTS, top_n=10, threshold=2)
    m = res.matrix.set_index("patient_id")
    assert list(m.index) == ["TCGA-AA-0001", "TCGA-AA-0002"]
    assert m.loc["TCGA-AA-0001", ["VHL_mut", "BAP1_mut", "VHL_del", "VHL_amp"]].tolist() == [1, 0, 1, 0]
    assert m.loc["TCGA-AA-0002", "VHL_amp"] == 1 and m.loc["TCGA-AA-0002", "BAP1_mut"] == 1
    assert res.conflicts == ["TCGA-AA-0001"] and res.info["conflicts"] == 1
    assert res.unmatched == ["TCGA-XX-0000"]
    assert sorted(res.features) == ["BAP1_mut", "VHL_amp", "VHL_del", "VHL_mut"]
