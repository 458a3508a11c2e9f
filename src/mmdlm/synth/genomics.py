"""Synthetic somatic alterations: exact frequencies like TCGA-KIRC, almost no prognostic signal.

Features are named `<GENE>_mut` (any non-silent MAF row), `<GENE>_del` (GISTIC -2) and `<GENE>_amp`
(GISTIC 2).
Each feature is given to exactly round(frequency x patients) patients, so the ten most frequent are fixed:
VHL_mut, PBRM1_mut, TTN_mut, SETD2_mut, BAP1_mut, VHL_del, MUC16_mut, MTOR_mut, KDM5C_mut, DST_mut.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mmdlm.synth.config import SynthConfig
from mmdlm.synth.truth import STREAM_GENOMICS, cohort_rng

#: (feature, frequency) of every alteration the generator places; the first ten are the top ten.
FEATURES: tuple[tuple[str, float], ...] = (
    ("VHL_mut", 0.88),
    ("PBRM1_mut", 0.40),
    ("TTN_mut", 0.18),
    ("SETD2_mut", 0.13),
    ("BAP1_mut", 0.10),
    ("VHL_del", 0.085),
    ("MUC16_mut", 0.075),
    ("MTOR_mut", 0.065),
    ("KDM5C_mut", 0.055),
    ("DST_mut", 0.045),
    ("PTEN_mut", 0.03),
    ("ARID1A_mut", 0.03),
    ("TP53_mut", 0.025),
    ("CDKN2A_del", 0.025),
    ("KRAS_mut", 0.02),
    ("ATM_mut", 0.02),
    ("MYC_amp", 0.02),
    ("PIK3CA_mut", 0.015),
    ("NRAS_mut", 0.01),
)
#: Tiny log-hazard effects (BAP1 loss is mildly adverse in ccRCC, PBRM1 loss mildly favourable).
EFFECTS = {"BAP1_mut": 0.15, "PBRM1_mut": -0.05}
#: Genes with approximate hg19 locus and Entrez id (for MAF columns).
GENES: dict[str, tuple[str, int, int, int]] = {
    "VHL": ("3", 10183319, 10195354, 7428),
    "PBRM1": ("3", 52579368, 52719933, 55193),
    "TTN": ("2", 179390716, 179672150, 7273),
    "SETD2": ("3", 47057898, 47205467, 29072),
    "BAP1": ("3", 52435020, 52444121, 8314),
    "MUC16": ("19", 8959520, 9092018, 94025),
    "MTOR": ("1", 11166588, 11322608, 2475),
    "KDM5C": ("X", 53220503, 53254604, 8242),
    "DST": ("6", 56322785, 56819426, 667),
    "PTEN": ("10", 89623195, 89728532, 5728),
    "ARID1A": ("1", 27022522, 27108601, 8289),
    "TP53": ("17", 7565097, 7590856, 7157),
    "KRAS": ("12", 25358180, 25403854, 3845),
    "ATM": ("11", 108093559, 108239826, 472),
    "PIK3CA": ("3", 178866311, 178952497, 5290),
    "NRAS": ("1", 115247085, 115259515, 4893),
    "CDKN2A": ("9", 21967751, 21995300, 1029),
    "MYC": ("8", 128748315, 128753680, 4609),
}
#: Genes in data_cna.txt (3p genes mostly shallow-deleted, as in ccRCC).
CNA_GENES = ("VHL", "PBRM1", "SETD2", "BAP1", "CDKN2A", "MYC")
TRUNCATING_TSG = ("PBRM1", "SETD2", "BAP1", "KDM5C", "ARID1A", "PTEN", "ATM")
#: Non-silent Variant_Classification mixes: VHL, truncating tumour suppressors, everything else.
_CLASSES = {
    "VHL": (
        ("Missense_Mutation", 0.45),
        ("Frame_Shift_Del", 0.25),
        ("Nonsense_Mutation", 0.12),
        ("Frame_Shift_Ins", 0.08),
        ("Splice_Site", 0.06),
        ("In_Frame_Del", 0.04),
    ),
    "tsg": (
        ("Nonsense_Mutation", 0.3),
        ("Frame_Shift_Del", 0.3),
        ("Missense_Mutation", 0.2),
        ("Frame_Shift_Ins", 0.1),
        ("Splice_Site", 0.1),
    ),
    "other": (
        ("Missense_Mutation", 0.85),
        ("Nonsense_Mutation", 0.05),
        ("Frame_Shift_Del", 0.05),
        ("Splice_Site", 0.05),
    ),
}
_AA = "ACDEFGHIKLMNPQRSTVWY"
_BASES = "ACGT"
MAF_COLUMNS = (
    "Hugo_Symbol",
    "Entrez_Gene_Id",
    "Center",
    "NCBI_Build",
    "Chromosome",
    "Start_Position",
    "End_Position",
    "Strand",
    "Variant_Classification",
    "Variant_Type",
    "Reference_Allele",
    "Tumor_Seq_Allele1",
    "Tumor_Seq_Allele2",
    "dbSNP_RS",
    "Tumor_Sample_Barcode",
    "Matched_Norm_Sample_Barcode",
    "HGVSp_Short",
    "Protein_position",
    "t_ref_count",
    "t_alt_count",
    "n_ref_count",
    "n_alt_count",
)


@dataclass(frozen=True)
class SynthGenomics:
    """The intended alteration matrix and the study rows that encode it."""

    features: tuple[str, ...]  # column order of `matrix`: frequency descending, ties by name
    matrix: np.ndarray  # uint8 [patients, features]
    effect: np.ndarray  # float [patients] log-hazard contribution
    maf_rows: list[dict[str, object]]
    cna: dict[str, np.ndarray]  # gene -> int [patients] GISTIC value


def _variant(rng: np.random.Generator, gene: str, cls: str, sample: str) -> dict[str, object]:
    chrom, start, end, entrez = GENES[gene]
    pos = int(rng.integers(start, end))
    aa_pos = int(rng.integers(1, 1200 if gene not in ("TTN", "MUC16") else 30000))
    ref_aa, alt_aa = rng.choice(list(_AA)), rng.choice(list(_AA))
    if cls in ("Frame_Shift_Del", "In_Frame_Del"):
        length = 3 if cls == "In_Frame_Del" else int(rng.integers(1, 3))
        ref, alt, vtype, stop = "".join(rng.choice(list(_BASES), length)), "-", "DEL", pos + length - 1
        hgvsp = f"p.{ref_aa}{aa_pos}fs" if cls == "Frame_Shift_Del" else f"p.{ref_aa}{aa_pos}del"
    elif cls == "Frame_Shift_Ins":
        ref, alt, vtype, stop = "-", str(rng.choice(list(_BASES))), "INS", pos + 1
        hgvsp = f"p.{ref_aa}{aa_pos}fs"
    else:
        ref = str(rng.choice(list(_BASES)))
        alt = str(rng.choice([b for b in _BASES if b != ref]))
        vtype, stop = "SNP", pos
        hgvsp = {
            "Missense_Mutation": f"p.{ref_aa}{aa_pos}{alt_aa if alt_aa != ref_aa else 'W'}",
            "Nonsense_Mutation": f"p.{ref_aa}{aa_pos}*",
            "Silent": f"p.{ref_aa}{aa_pos}{ref_aa}",
            "Splice_Site": f"p.X{aa_pos}_splice",
        }[cls]
    depth = int(rng.integers(30, 200))
    alt_count = int(depth * rng.uniform(0.1, 0.6))
    return {
        "Hugo_Symbol": gene,
        "Entrez_Gene_Id": entrez,
        "Center": "synthetic",
        "NCBI_Build": "GRCh37",
        "Chromosome": chrom,
        "Start_Position": pos,
        "End_Position": stop,
        "Strand": "+",
        "Variant_Classification": cls,
        "Variant_Type": vtype,
        "Reference_Allele": ref,
        "Tumor_Seq_Allele1": ref,
        "Tumor_Seq_Allele2": alt,
        "dbSNP_RS": "novel",
        "Tumor_Sample_Barcode": sample,
        "Matched_Norm_Sample_Barcode": sample[:-3] + "-11",
        "HGVSp_Short": hgvsp,
        "Protein_position": f"{aa_pos}/{aa_pos + int(rng.integers(10, 500))}",
        "t_ref_count": depth - alt_count,
        "t_alt_count": alt_count,
        "n_ref_count": int(rng.integers(30, 150)),
        "n_alt_count": 0,
    }


def _class(rng: np.random.Generator, gene: str) -> str:
    key = "VHL" if gene == "VHL" else "tsg" if gene in TRUNCATING_TSG else "other"
    names, p = zip(*_CLASSES[key], strict=True)
    return str(rng.choice(names, p=np.asarray(p) / sum(p)))


def simulate_genomics(cfg: SynthConfig, sample_ids: list[str]) -> SynthGenomics:
    """Place every alteration on exactly round(freq x n) patients as MAF rows and GISTIC values."""
    n = len(sample_ids)
    rng = cohort_rng(cfg, STREAM_GENOMICS)
    names = [f for f, _ in FEATURES]
    matrix = np.zeros((n, len(FEATURES)), dtype=np.uint8)
    for j, (_, freq) in enumerate(FEATURES):
        matrix[rng.permutation(n)[: round(freq * n)], j] = 1
    counts = matrix.sum(axis=0)
    order = sorted(range(len(names)), key=lambda j: (-int(counts[j]), names[j]))
    features = tuple(names[j] for j in order)
    matrix = matrix[:, order]
    effect = sum((matrix[:, features.index(f)] * w for f, w in EFFECTS.items()), np.zeros(n))

    # GISTIC: 3p arm loss (-1) in most tumours, -2 / +2 exactly where the matrix says
    cna = {g: np.zeros(n, dtype=int) for g in CNA_GENES}
    loss_3p = rng.random(n) < 0.78
    for g in ("VHL", "PBRM1", "SETD2", "BAP1"):
        cna[g][loss_3p] = -1
    cna["CDKN2A"][rng.random(n) < 0.25] = -1
    cna["MYC"][rng.random(n) < 0.12] = 1
    for f in features:
        gene, kind = f.rsplit("_", 1)
        if kind in ("del", "amp"):
            cna[gene][matrix[:, features.index(f)] == 1] = -2 if kind == "del" else 2

    rows: list[dict[str, object]] = []
    for i, sample in enumerate(sample_ids):
        for j, f in enumerate(features):
            gene, kind = f.rsplit("_", 1)
            if kind != "mut" or not matrix[i, j]:
                continue
            n_rows = 2 if gene in ("TTN", "MUC16", "DST") and rng.random() < 0.3 else 1
            rows.extend(_variant(rng, gene, _class(rng, gene), sample) for _ in range(n_rows))
        # silent mutations (ingest must ignore them): ~0.6 per patient in any gene, VHL included
        for _ in range(int(rng.poisson(0.6))):
            rows.append(_variant(rng, str(rng.choice(sorted(GENES))), "Silent", sample))
    # make sure the cohort shows a silent-only VHL case when there is a VHL wild-type patient
    vhl = matrix[:, features.index("VHL_mut")]
    wild = [i for i in range(n) if not vhl[i]]
    if wild:
        rows.append(_variant(rng, "VHL", "Silent", sample_ids[wild[0]]))
    rows.sort(key=lambda r: (str(r["Tumor_Sample_Barcode"]), str(r["Hugo_Symbol"]), str(r["Start_Position"])))
    return SynthGenomics(features, matrix, effect, rows, cna)
