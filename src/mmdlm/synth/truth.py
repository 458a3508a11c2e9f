"""The synthetic cohort's ground truth: latent image features, risk components, clinical values and survival.

The log-hazard of disease-specific death is
    risk = w_fine * z_fine + w_coarse * z_coarse + w_volume * z_volume + genomics,
where each z is a standard normal that the images show: z_fine sets the nuclear grade (size, pleomorphism,
hyperchromasia, nucleoli; seen at ~10x), z_coarse the necrosis + haemorrhage fraction (seen at ~5x) and
z_volume the log tumour volume (seen on CT/MRI). The alterations add almost nothing (see genomics.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.special import expit, ndtr

from mmdlm.synth.config import SynthConfig

#: Days per month used for *_MONTHS (as cBioPortal's TCGA files: days / 30.4167).
DAYS_PER_MONTH = 30.4167
#: Stream ids of the cohort-level random generators (per-patient images use their own streams).
STREAM_LATENT, STREAM_CLINICAL, STREAM_SURVIVAL, STREAM_GENOMICS, STREAM_IDS = range(5)
#: Median equivalent-sphere tumour diameter (mm) and the SD of its log.
MEDIAN_DIAMETER_MM = 55.0
LOG_DIAMETER_SD = 0.42
#: Grade cut points on z_fine + noise (G1 ~3%, G2 ~43%, G3 ~40%, G4 ~14%, as in TCGA-KIRC).
GRADE_NOISE_SD = 0.35
GRADE_CUTS = (-1.88, -0.10, 1.08)


def patient_id(i: int, site: str = "SY") -> str:
    """TCGA-style barcode of the i-th (0-based) synthetic patient of tissue-source site `site`."""
    return f"TCGA-{site}-{i + 1:04d}"


def cohort_rng(cfg: SynthConfig, stream: int) -> np.random.Generator:
    """The generator of one cohort-level stream (independent of worker count and order)."""
    return np.random.default_rng([cfg.seed, 0, stream])


def patient_rng(cfg: SynthConfig, index: int, stream: int) -> np.random.Generator:
    """The generator of one patient's stream (slides = 1, radiology = 2)."""
    return np.random.default_rng([cfg.seed, 1, index, stream])


@dataclass(frozen=True)
class PatientTruth:
    """Everything the generator decided for one patient (the rows of truth.csv plus image parameters)."""

    index: int
    patient_id: str
    sample_id: str
    # latent standardised features and what the images show
    z_fine: float
    z_coarse: float
    z_volume: float
    grade_score: float  # Phi(z_fine), 0..1
    nuclear_diameter_um: float
    necrosis_fraction: float
    haemorrhage_fraction: float
    tumour_axes_mm: tuple[float, float, float]  # full ellipsoid diameters (x, y, z)
    tumour_volume_ml: float
    tumour_side: str  # "left" | "right" kidney
    modality: str  # "CT" | "MR"
    # risk components (log-hazard contributions) and the total
    fine_histology: float
    coarse_histology: float
    tumour_volume: float
    genomics: float
    risk: float
    # clinical file values
    grade: str
    t_stage: str
    n_stage: str
    m_stage: str
    ajcc_stage: str
    age: int
    sex: str
    # survival (months) and events
    os_months: float
    os_event: int
    dss_months: float
    dss_event: int
    pfs_months: float
    pfs_event: int

    @property
    def max_diameter_mm(self) -> float:
        """Largest tumour diameter (mm)."""
        return max(self.tumour_axes_mm)

    def truth_row(self) -> dict[str, object]:
        """The row of truth.csv (evaluation only)."""
        row = asdict(self)
        ax = row.pop("tumour_axes_mm")
        row.pop("index")
        row["tumour_diameter_x_mm"], row["tumour_diameter_y_mm"], row["tumour_diameter_z_mm"] = ax
        row["tumour_max_diameter_mm"] = max(ax)
        return row


def _grade(z_fine: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    observed = z_fine + rng.normal(0.0, GRADE_NOISE_SD, z_fine.shape)
    return np.array(["G1", "G2", "G3", "G4"])[np.searchsorted(GRADE_CUTS, observed)]


def _t_stage(max_diam_mm: float, risk: float, rng: np.random.Generator) -> str:
    measured = max_diam_mm * rng.lognormal(0.0, 0.08)
    if rng.random() < expit(1.0 * risk - 0.7):  # extension beyond the kidney
        u = rng.random()
        return "T3A" if u < 0.62 else "T3B" if u < 0.9 else "T3C" if u < 0.94 else "T4"
    if measured <= 40:
        return "T1A" if rng.random() > 0.05 else "T1"
    if measured <= 70:
        return "T1B" if rng.random() > 0.05 else "T1"
    sub = "T2A" if measured <= 100 else "T2B"
    return sub if rng.random() > 0.6 else "T2"  # TCGA often lacks the T2 sub-stage


def _ajcc(t: str, n: str, m: str) -> str:
    if m == "M1" or t == "T4":
        return "STAGE IV"
    if t.startswith("T3") or n == "N1":
        return "STAGE III"
    if t.startswith("T2"):
        return "STAGE II"
    return "STAGE I"


def simulate_truth(cfg: SynthConfig, genomics_effect: np.ndarray) -> list[PatientTruth]:
    """Draw every patient's latent features, clinical values, survival; `genomics_effect` per patient."""
    n = cfg.patients
    lat = cohort_rng(cfg, STREAM_LATENT)
    z_fine, z_coarse, z_volume = lat.standard_normal((3, n))
    grade_score = ndtr(z_fine)
    bad = 0.45 * ndtr(z_coarse) ** 1.5
    haem_share = lat.uniform(0.2, 0.45, n)
    diameter = MEDIAN_DIAMETER_MM * np.exp(LOG_DIAMETER_SD * z_volume)  # equivalent-sphere diameter
    shape = np.exp(lat.normal(0.0, 0.12, (n, 3)))
    shape /= np.cbrt(shape.prod(axis=1, keepdims=True))
    axes = np.minimum(diameter[:, None] * shape, 150.0)
    volume_ml = np.pi / 6.0 * axes.prod(axis=1) / 1000.0
    side = np.where(lat.random(n) < 0.5, "left", "right")
    n_mr = round(cfg.mri_fraction * n)
    modality = np.full(n, "CT", dtype=object)
    modality[lat.permutation(n)[:n_mr]] = "MR"

    fine = cfg.weight_fine_histology * z_fine
    coarse = cfg.weight_coarse_histology * z_coarse
    vol = cfg.weight_tumour_volume * z_volume
    risk = fine + coarse + vol + genomics_effect

    cl = cohort_rng(cfg, STREAM_CLINICAL)
    grade = _grade(z_fine, cl)
    age = np.clip(np.rint(cl.normal(61.0, 12.0, n)), 26, 90).astype(int)
    sex = np.where(cl.random(n) < 0.65, "Male", "Female")
    t_stage = [_t_stage(float(axes[i].max()), float(risk[i]), cl) for i in range(n)]
    n_stage = [
        "NX" if cl.random() < 0.4 else ("N1" if cl.random() < expit(1.2 * risk[i] - 3.2) else "N0")
        for i in range(n)
    ]
    m_stage = [
        "MX" if cl.random() < 0.05 else ("M1" if cl.random() < expit(1.3 * risk[i] - 2.6) else "M0")
        for i in range(n)
    ]

    sv = cohort_rng(cfg, STREAM_SURVIVAL)
    t_dss = sv.exponential(1.0, n) / (cfg.baseline_hazard * np.exp(risk))
    t_other = sv.exponential(1.0, n) / (0.0012 * np.exp(0.05 * (age - 60)))
    follow_up = sv.uniform(6.0, cfg.max_follow_up_months, n)  # staggered accrual: administrative censoring
    lost = sv.exponential(400.0, n)  # random loss to follow-up
    censor = np.minimum(follow_up, lost)
    os_time = np.minimum.reduce([t_dss, t_other, censor])
    os_event = (np.minimum(t_dss, t_other) <= censor).astype(int)
    dss_event = ((t_dss <= t_other) & (t_dss <= censor)).astype(int)
    t_prog = np.minimum(
        t_dss * sv.uniform(0.3, 0.9, n), sv.exponential(1.0, n) / (0.5 * cfg.baseline_hazard * np.exp(risk))
    )
    pfs_time = np.minimum.reduce([t_prog, t_other, censor])
    pfs_event = (t_prog <= np.minimum(t_other, censor)).astype(int)

    def months(t: np.ndarray) -> np.ndarray:  # whole days, as registries record them
        return np.maximum(np.ceil(t * DAYS_PER_MONTH), 1.0) / DAYS_PER_MONTH

    os_m, pfs_m = months(os_time), months(pfs_time)
    # per-patient columns by the type PatientTruth holds them in
    as_float = {
        "z_fine": z_fine, "z_coarse": z_coarse, "z_volume": z_volume, "grade_score": grade_score,
        "nuclear_diameter_um": 5.0 + 7.0 * grade_score, "necrosis_fraction": bad * (1 - haem_share),
        "haemorrhage_fraction": bad * haem_share, "tumour_volume_ml": volume_ml, "fine_histology": fine,
        "coarse_histology": coarse, "tumour_volume": vol, "genomics": genomics_effect, "risk": risk,
        "os_months": os_m, "dss_months": os_m, "pfs_months": pfs_m,
    }
    as_int = {"age": age, "os_event": os_event, "dss_event": dss_event, "pfs_event": pfs_event}
    as_str = {"tumour_side": side, "modality": modality, "grade": grade, "sex": sex}
    out = []
    for i in range(n):
        pid = patient_id(i, cfg.site_code)
        out.append(
            PatientTruth(
                index=i,
                patient_id=pid,
                sample_id=f"{pid}-01",
                tumour_axes_mm=(float(axes[i, 0]), float(axes[i, 1]), float(axes[i, 2])),
                t_stage=t_stage[i],
                n_stage=n_stage[i],
                m_stage=m_stage[i],
                ajcc_stage=_ajcc(t_stage[i], n_stage[i], m_stage[i]),
                **{k: float(v[i]) for k, v in as_float.items()},
                **{k: int(v[i]) for k, v in as_int.items()},
                **{k: str(v[i]) for k, v in as_str.items()},
            )
        )
    return out


#: Columns of truth.csv scored by `component_cindices` (risk components and the full truth).
COMPONENTS = ("fine_histology", "coarse_histology", "tumour_volume", "genomics", "risk")


def component_cindices(truth: object, endpoint: str = "dss") -> dict[str, float | None]:
    """Harrell's C-index (lifelines) of each risk component and the full risk (truth.csv).

    `truth` is a pandas DataFrame read from truth.csv (or built from `truth_row`s).
    """
    from mmdlm.cindex import harrell_cindex

    t = truth[f"{endpoint}_months"].to_numpy(float)  # type: ignore[index]
    e = truth[f"{endpoint}_event"].to_numpy(int)  # type: ignore[index]
    return {c: harrell_cindex(t, e, truth[c].to_numpy(float)) for c in COMPONENTS}  # type: ignore
