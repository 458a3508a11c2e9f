"""Ground truth: each image component carries signal, together strong, genomics none; clinical coherence."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from mmdlm.synth import SynthConfig
from mmdlm.synth.genomics import simulate_genomics
from mmdlm.synth.truth import component_cindices, patient_id, simulate_truth


def _truth(n: int, seed: int) -> tuple[pd.DataFrame, object]:
    cfg = SynthConfig(patients=n, seed=seed)
    genomics = simulate_genomics(cfg, [f"{patient_id(i)}-01" for i in range(n)])
    return pd.DataFrame([p.truth_row() for p in simulate_truth(cfg, genomics.effect)]), genomics


def test_component_cindices_on_a_large_cohort():
    df, _ = _truth(3000, 11)
    c = component_cindices(df)
    for name in ("fine_histology", "coarse_histology", "tumour_volume"):
        assert 0.65 <= c[name] <= 0.75, (name, c[name])
    assert c["risk"] >= 0.8
    assert abs(c["genomics"] - 0.5) < 0.04
    assert 0.25 <= df.dss_event.mean() <= 0.35
    assert (df.os_event >= df.dss_event).all()
    # 5-year labels exist on both sides
    assert ((df.dss_event == 1) & (df.dss_months < 60)).sum() > 300
    assert (df.dss_months >= 60).sum() > 300
    assert df.dss_months.max() <= 120


def test_clinical_values_follow_the_image_features():
    df, _ = _truth(2000, 5)
    grade = df.grade.str[1].astype(int)
    assert spearmanr(grade, df.z_fine).statistic > 0.8
    assert set(df.grade) == {"G1", "G2", "G3", "G4"}
    t_num = df.t_stage.str[1].astype(int)
    organ_confined = t_num <= 2
    assert spearmanr(t_num[organ_confined], df.tumour_max_diameter_mm[organ_confined]).statistic > 0.7
    assert df.loc[df.m_stage == "M1", "risk"].mean() > df.loc[df.m_stage == "M0", "risk"].mean() + 0.8
    assert 0.05 < (df.m_stage == "M1").mean() < 0.3 and (df.n_stage == "N1").mean() < 0.15
    assert np.isclose((df.modality == "MR").mean(), 31 / 230, atol=0.01)


def test_top_ten_alterations_are_the_common_kirc_ones():
    _, g = _truth(120, 0)
    counts = g.matrix.sum(axis=0)
    assert g.features[0] == "VHL_mut" and 0.85 < counts[0] / 120 < 0.92
    assert set(g.features[:10]) == {
        "VHL_mut",
        "PBRM1_mut",
        "TTN_mut",
        "SETD2_mut",
        "BAP1_mut",
        "VHL_del",
        "MUC16_mut",
        "MTOR_mut",
        "KDM5C_mut",
        "DST_mut",
    }
    assert counts[9] > counts[10]  # no tie at the cut
