"""Pre-specified same-patient comparisons: corrected resampled t-test, paired bootstrap, reference choice,
clinical factors on the same folds, survival metrics against scikit-survival / scikit-learn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines.utils import concordance_index

from mmdlm.evaluate.paired import (
    compare_paired,
    corrected_resampled_ttest,
    folds_statement,
    min_wilcoxon_p,
    paired_bootstrap,
)


def test_corrected_ttest_is_the_nadeau_bengio_formula_and_more_conservative() -> None:
    from scipy.stats import t as student_t
    from scipy.stats import ttest_1samp

    d = [0.04, 0.01, 0.06, 0.03, 0.05, 0.02]
    # with no training/test overlap term it is the one-sample t-test of the differences (scipy)
    plain = corrected_resampled_ttest(d, n_train=1e12, n_test=1.0)
    assert plain["p"] == pytest.approx(ttest_1samp(d, 0.0).pvalue, rel=1e-6)
    got = corrected_resampled_ttest(d + [None], n_train=200.0, n_test=40.0)
    assert got["n_folds"] == 6 and got["df"] == 5
    t = np.mean(d) / np.sqrt((1 / 6 + 40 / 200) * np.var(d, ddof=1))
    assert got["t"] == pytest.approx(t) and got["p"] == pytest.approx(2 * student_t.sf(t, 5))
    assert got["p"] > plain["p"]
    assert corrected_resampled_ttest([0.1], 10, 2)["p"] is None


def test_too_few_folds_are_stated() -> None:
    assert min_wilcoxon_p(3) == 0.25 and min_wilcoxon_p(6) == pytest.approx(0.03125)
    assert "cannot reach p < 0.05" in folds_statement(3) and "0.25" in folds_statement(3)
    assert folds_statement(6) is None
    assert "no test over folds" in folds_statement(1)


def _fold_frames(rng, n=60, k=3, noise_a=0.3, noise_b=3.0):
    hazard = rng.normal(size=n)
    t_event = rng.exponential(30 * np.exp(-hazard))
    t_cens = rng.uniform(10, 120, n)
    time, event = np.minimum(t_event, t_cens), (t_event <= t_cens).astype(int)
    fold = np.arange(n) % k
    base = pd.DataFrame({"patient_id": [f"P{i}" for i in range(n)], "fold": fold, "time": time,
                         "event": event})
    a = base.assign(risk=hazard + rng.normal(0, noise_a, n))
    b = base.assign(risk=hazard + rng.normal(0, noise_b, n))
    return a, b


def test_paired_bootstrap_detects_a_better_score_and_not_an_identical_one() -> None:
    rng = np.random.default_rng(0)
    a, b = _fold_frames(rng, n=90)
    folds = [a[a.fold == k].assign(score_a=a.risk, score_b=b.risk) for k in range(3)]
    res = paired_bootstrap(folds, "cox", n_boot=400, seed=1)
    want = np.mean([concordance_index(f.time, -f.score_a, f.event) - concordance_index(f.time, -f.score_b,
                                                                                         f.event)
                    for f in folds])
    assert res["difference"] == pytest.approx(want)
    assert res["low"] > 0 and res["p"] < 0.05
    same = paired_bootstrap([f.assign(score_b=f.score_a) for f in folds], "cox", n_boot=200, seed=1)
    assert same["difference"] == 0 and same["low"] == 0 == same["high"] and same["p"] == 1.0
    # seeded
    assert paired_bootstrap(folds, "cox", n_boot=400, seed=1) == res


def test_comparison_uses_only_the_patients_both_score() -> None:
    rng = np.random.default_rng(3)
    a, b = _fold_frames(rng, n=90)
    b = b.iloc[::2]  # the other configuration scores half of the patients
    res = compare_paired("cox", a, b, "risk", n_cohort=90, n_boot=100, seed=0)
    assert res["n_patients"] == len(b) and res["folds"] == [0, 1, 2] and res["n_folds_used"] == 3
    for k, v in enumerate(res["a_folds"]):
        common = a[a.patient_id.isin(b.patient_id) & (a.fold == k)]
        assert v == pytest.approx(concordance_index(common.time, -common.risk, common.event))
    assert res["corrected_ttest"]["p"] > res["as_in_paper"]["ttest_p"]
    assert "as in the paper" in res["as_in_paper"]["label"] and "cannot reach" in res["note"]


def test_time_dependent_auc_and_ibs_equal_scikit_survival() -> None:
    from sksurv.metrics import cumulative_dynamic_auc, integrated_brier_score
    from sksurv.util import Surv

    from mmdlm.stats.metrics import breslow_survival, brier_grid, integrated_brier, time_dependent_auc

    rng = np.random.default_rng(4)
    a, _ = _fold_frames(rng, n=150)
    tr, te = a.iloc[:100], a.iloc[100:]
    te = te[te.time < tr.time.max()]
    got = time_dependent_auc(te.time, te.event, te.risk, tr.time, tr.event, (12.0, 36.0, 1e6))
    st = Surv.from_arrays(tr.event.astype(bool), tr.time)
    ss = Surv.from_arrays(te.event.astype(bool), te.time)
    for when in (12.0, 36.0):
        assert got[f"{when:g}"] == pytest.approx(cumulative_dynamic_auc(st, ss, te.risk, [when])[0][0])
    assert got["1e+06"] is None  # beyond the follow-up: undefined, not an error
    times = brier_grid(te.time, tr.time)
    surv = breslow_survival(tr.risk, tr.time, tr.event, te.risk, times)
    assert surv.shape == (len(te), len(times)) and (np.diff(surv, axis=1) <= 1e-12).all()
    from sksurv.linear_model import CoxPHSurvivalAnalysis  # the same fit, its step functions at each time

    ref = CoxPHSurvivalAnalysis(alpha=1e-4, ties="breslow").fit(tr.risk.to_numpy()[:, None], st)
    fns = ref.predict_survival_function(te.risk.to_numpy()[:, None])
    np.testing.assert_array_equal(surv, [[fn(w) for w in times] for fn in fns])
    ibs = integrated_brier(te.time, te.event, surv, tr.time, tr.event, times)
    assert ibs == pytest.approx(integrated_brier_score(st, ss, surv, times))
    assert 0 < ibs < 0.25  # informative risk: better than the 0.25 of a coin


def test_calibration_points_equal_scikit_learn() -> None:
    from sklearn.calibration import calibration_curve
    from sklearn.metrics import brier_score_loss

    from mmdlm.stats.metrics import calibration_points

    rng = np.random.default_rng(5)
    p = rng.random(200)
    y = (rng.random(200) < p).astype(int)
    got = calibration_points(y, p, n_bins=5)
    obs, pred = calibration_curve(y, p, n_bins=5, strategy="quantile")
    assert got["observed"] == pytest.approx(obs.tolist()) and got["predicted"] == pytest.approx(pred.tolist())
    assert got["brier"] == pytest.approx(brier_score_loss(y, p))


def test_an_undefined_fold_is_left_out_and_counted() -> None:
    from mmdlm.evaluate.compare import comparison_rows
    from mmdlm.evaluate.summary import _aggregate

    agg = _aggregate([0.6, None, 0.7], None)
    assert agg["mean"] == pytest.approx(0.65) and agg["n_defined"] == 2 and agg["n_folds"] == 3
    assert agg["folds"] == [0.6, None, 0.7] and agg["max"] == 0.7
    rows = comparison_rows({"a": {"c_index": agg}}, "c_index", {}, "a")
    assert rows[0]["folds"][1] is None and rows[0]["n_defined"] == 2 and rows[0]["is_reference"]
    # a fold where one side has no comparable pair (no event among its patients): undefined, not used
    rng = np.random.default_rng(7)
    a, b = _fold_frames(rng, n=60)
    a.loc[a.fold == 2, "event"] = 0
    res = compare_paired("cox", a, b.assign(event=a.event), "risk", n_cohort=60, n_boot=50, seed=0)
    assert res["a_folds"][2] is None and res["differences"][2] is None and res["n_folds_used"] == 2
    assert res["corrected_ttest"]["n_folds"] == 2
