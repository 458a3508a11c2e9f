"""cBioPortal study files (clinical, MAF, discrete CNA, meta, case lists) in cBioPortal's formats."""

from __future__ import annotations

from pathlib import Path

from mmdlm.synth.genomics import CNA_GENES, MAF_COLUMNS, SynthGenomics
from mmdlm.synth.truth import PatientTruth

STUDY_ID = "kirc_mmdlm_synth"

#: (column, display name, description, datatype, priority) of data_clinical_patient.txt.
PATIENT_COLUMNS = (
    ("PATIENT_ID", "Patient Identifier", "Identifier to uniquely specify a patient.", "STRING", "1"),
    ("CANCER_TYPE_ACRONYM", "Cancer Type Acronym", "Cancer type acronym.", "STRING", "1"),
    ("AGE", "Diagnosis Age", "Age at which a condition or disease was first diagnosed.", "NUMBER", "1"),
    ("SEX", "Sex", "Sex", "STRING", "1"),
    (
        "AJCC_PATHOLOGIC_TUMOR_STAGE",
        "Neoplasm Disease Stage American Joint Committee on Cancer Code",
        "AJCC pathologic stage.",
        "STRING",
        "1",
    ),
    (
        "PATH_M_STAGE",
        "American Joint Committee on Cancer Metastasis Stage Code",
        "AJCC pathologic M stage.",
        "STRING",
        "1",
    ),
    (
        "PATH_N_STAGE",
        "Neoplasm Disease Lymph Node Stage American Joint Committee on Cancer Code",
        "AJCC pathologic N stage.",
        "STRING",
        "1",
    ),
    (
        "PATH_T_STAGE",
        "American Joint Committee on Cancer Tumor Stage Code",
        "AJCC pathologic T stage.",
        "STRING",
        "1",
    ),
    ("OS_STATUS", "Overall Survival Status", "Overall patient survival status.", "STRING", "9"),
    (
        "OS_MONTHS",
        "Overall Survival (Months)",
        "Overall survival in months since initial diagnosis.",
        "NUMBER",
        "1",
    ),
    ("DSS_STATUS", "Disease-specific Survival status", "Disease-specific survival status.", "STRING", "1"),
    (
        "DSS_MONTHS",
        "Months of disease-specific survival",
        "Disease-specific survival in months.",
        "NUMBER",
        "1",
    ),
    ("PFS_STATUS", "Progression Free Status", "Progression free status.", "STRING", "1"),
    ("PFS_MONTHS", "Progress Free Survival (Months)", "Progression free survival in months.", "NUMBER", "1"),
)
SAMPLE_COLUMNS = (
    ("SAMPLE_ID", "Sample Identifier", "A unique sample identifier.", "STRING", "1"),
    ("PATIENT_ID", "Patient Identifier", "Identifier to uniquely specify a patient.", "STRING", "1"),
    ("CANCER_TYPE", "Cancer Type", "Cancer type.", "STRING", "1"),
    ("CANCER_TYPE_DETAILED", "Cancer Type Detailed", "Cancer type detailed.", "STRING", "1"),
    ("ONCOTREE_CODE", "Oncotree Code", "Oncotree code.", "STRING", "1"),
    (
        "SAMPLE_TYPE",
        "Sample Type",
        "The type of sample (i.e., normal, primary, met, recurrence).",
        "STRING",
        "1",
    ),
    (
        "GRADE",
        "Neoplasm Histologic Grade",
        "Numeric value to express the degree of abnormality of cancer cells.",
        "STRING",
        "1",
    ),
)
OS_CODES = ("0:LIVING", "1:DECEASED")
DSS_CODES = ("0:ALIVE OR DEAD TUMOR FREE", "1:DEAD WITH TUMOR")
PFS_CODES = ("0:CENSORED", "1:PROGRESSION")


def _clinical(columns: tuple[tuple[str, str, str, str, str], ...], rows: list[dict[str, str]]) -> str:
    names = [c[0] for c in columns]
    lines = ["#" + "\t".join(c[k] for c in columns) for k in (1, 2, 3, 4)]
    lines.append("\t".join(names))
    lines.extend("\t".join(r[c] for c in names) for r in rows)
    return "\n".join(lines) + "\n"


def _months(x: float) -> str:
    return f"{x:.9f}".rstrip("0").rstrip(".")


def patient_file(patients: list[PatientTruth]) -> str:
    """data_clinical_patient.txt."""
    rows = [
        {
            "PATIENT_ID": p.patient_id,
            "CANCER_TYPE_ACRONYM": "KIRC",
            "AGE": str(p.age),
            "SEX": p.sex,
            "AJCC_PATHOLOGIC_TUMOR_STAGE": p.ajcc_stage,
            "PATH_M_STAGE": p.m_stage,
            "PATH_N_STAGE": p.n_stage,
            "PATH_T_STAGE": p.t_stage,
            "OS_STATUS": OS_CODES[p.os_event],
            "OS_MONTHS": _months(p.os_months),
            "DSS_STATUS": DSS_CODES[p.dss_event],
            "DSS_MONTHS": _months(p.dss_months),
            "PFS_STATUS": PFS_CODES[p.pfs_event],
            "PFS_MONTHS": _months(p.pfs_months),
        }
        for p in patients
    ]
    return _clinical(PATIENT_COLUMNS, rows)


def sample_file(patients: list[PatientTruth]) -> str:
    """data_clinical_sample.txt."""
    rows = [
        {
            "SAMPLE_ID": p.sample_id,
            "PATIENT_ID": p.patient_id,
            "CANCER_TYPE": "Renal Cell Carcinoma",
            "CANCER_TYPE_DETAILED": "Renal Clear Cell Carcinoma",
            "ONCOTREE_CODE": "CCRCC",
            "SAMPLE_TYPE": "Primary",
            "GRADE": p.grade,
        }
        for p in patients
    ]
    return _clinical(SAMPLE_COLUMNS, rows)


def maf_file(genomics: SynthGenomics) -> str:
    """data_mutations.txt (MAF 2.4, one row per variant, Tumor_Sample_Barcode = SAMPLE_ID)."""
    lines = ["#version 2.4", "\t".join(MAF_COLUMNS)]
    lines.extend("\t".join(str(r[c]) for c in MAF_COLUMNS) for r in genomics.maf_rows)
    return "\n".join(lines) + "\n"


def cna_file(genomics: SynthGenomics, sample_ids: list[str]) -> str:
    """data_cna.txt: discrete GISTIC values, genes x samples."""
    lines = ["\t".join(["Hugo_Symbol", *sample_ids])]
    lines.extend("\t".join([g, *(str(int(v)) for v in genomics.cna[g])]) for g in CNA_GENES)
    return "\n".join(lines) + "\n"


def _meta(pairs: dict[str, str]) -> str:
    return "".join(f"{k}: {v}\n" for k, v in pairs.items())


def write_study(folder: Path, patients: list[PatientTruth], genomics: SynthGenomics) -> list[Path]:
    """Write the study folder's data, meta and case-list files; returns the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "case_lists").mkdir(exist_ok=True)
    samples = [p.sample_id for p in patients]
    files = {
        "meta_study.txt": _meta(
            {
                "type_of_cancer": "ccrcc",
                "cancer_study_identifier": STUDY_ID,
                "name": "Kidney Renal Clear Cell Carcinoma (mmdlm synthetic)",
                "description": "Synthetic ccRCC cohort written by `mmdlm synth` (no real patient data).",
                "short_name": "KIRC (synthetic)",
                "add_global_case_list": "true",
                "reference_genome": "hg19",
            }
        ),
        "meta_clinical_patient.txt": _meta(
            {
                "cancer_study_identifier": STUDY_ID,
                "genetic_alteration_type": "CLINICAL",
                "datatype": "PATIENT_ATTRIBUTES",
                "data_filename": "data_clinical_patient.txt",
            }
        ),
        "meta_clinical_sample.txt": _meta(
            {
                "cancer_study_identifier": STUDY_ID,
                "genetic_alteration_type": "CLINICAL",
                "datatype": "SAMPLE_ATTRIBUTES",
                "data_filename": "data_clinical_sample.txt",
            }
        ),
        "meta_mutations.txt": _meta(
            {
                "cancer_study_identifier": STUDY_ID,
                "genetic_alteration_type": "MUTATION_EXTENDED",
                "datatype": "MAF",
                "stable_id": "mutations",
                "show_profile_in_analysis_tab": "true",
                "profile_name": "Mutations",
                "profile_description": "Synthetic somatic mutations.",
                "data_filename": "data_mutations.txt",
            }
        ),
        "meta_cna.txt": _meta(
            {
                "cancer_study_identifier": STUDY_ID,
                "genetic_alteration_type": "COPY_NUMBER_ALTERATION",
                "datatype": "DISCRETE",
                "stable_id": "gistic",
                "show_profile_in_analysis_tab": "true",
                "profile_name": "Putative copy-number alterations from GISTIC",
                "profile_description": "Synthetic discrete copy-number calls: -2 = deep deletion, "
                "-1 = shallow deletion, 0 = diploid, 1 = gain, 2 = amplification.",
                "data_filename": "data_cna.txt",
            }
        ),
        "data_clinical_patient.txt": patient_file(patients),
        "data_clinical_sample.txt": sample_file(patients),
        "data_mutations.txt": maf_file(genomics),
        "data_cna.txt": cna_file(genomics, samples),
        "case_lists/cases_sequenced.txt": _meta(
            {
                "cancer_study_identifier": STUDY_ID,
                "stable_id": f"{STUDY_ID}_sequenced",
                "case_list_name": "Sequenced Tumors",
                "case_list_description": f"All sequenced samples ({len(samples)} samples)",
                "case_list_ids": "\t".join(samples),
            }
        ),
        "case_lists/cases_cna.txt": _meta(
            {
                "cancer_study_identifier": STUDY_ID,
                "stable_id": f"{STUDY_ID}_cna",
                "case_list_name": "Samples with CNA data",
                "case_list_description": f"All samples with CNA data ({len(samples)} samples)",
                "case_list_ids": "\t".join(samples),
            }
        ),
    }
    written = []
    for name, text in files.items():
        path = folder / name
        path.write_text(text)
        written.append(path)
    return written
