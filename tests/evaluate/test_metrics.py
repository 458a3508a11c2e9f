"""Metrics equal the libraries' numbers; the weighted bootstrap replicates equal the libraries on the
explicitly resampled patients."""

from __future__ import annotations

import numpy as np
import pytest
from lifelines.utils import concordance_index
from sklearn.metrics import accuracy_score, average_precision_score, roc_auc_score

from mmdlm.evaluate.compare import paired_pvalues
from mmdlm.evaluate.km import at_risk_counts, km_groups
from mmdlm.stats.bootstrap import (
    accuracy_weighted,
    average_precision_weighted,
    bootstrap_fold_mean,
    harrell_weighted,
    resample_counts,
    roc_auc_weighted,
)
from mmdlm.stats.metrics import classification_metrics, harrell_cindex, uno_cindex


def _survival(rng, n=60):
    t = rng.integers(1, 15, n).astype(float)  # many tied times
    e = rng.integers(0, 2, n)
    r = rng.integers(0, 5, n).astype(float) + (e * (15 - t)) / 5  # tied risks, some signal
    return t, e, r


def test_harrell_equals_lifelines_and_orientation():
    rng = np.random.default_rng(0)
    t, e, r = _survival(rng)
    assert harrell_cindex(t, e, r) == pytest.approx(concordance_index(t, -r, e), abs=1e-12)
    assert harrell_cindex(t, e, r) > 0.6  # higher risk = earlier death is concordant
    assert harrell_cindex(t, np.zeros_like(e), r) is None


def test_uno_equals_sksurv():
    from sksurv.metrics import concordance_index_ipcw
    from sksurv.util import Surv

    rng = np.random.default_rng(1)
    t, e, r = _survival(rng, 120)
    tr, te = slice(0, 80), slice(80, 120)
    got = uno_cindex(t[te], e[te], r[te], t[tr], e[tr])
    keep = t[te] < t[tr].max()
    want = concordance_index_ipcw(Surv.from_arrays(e[tr].astype(bool), t[tr]),
                                  Surv.from_arrays(e[te][keep].astype(bool), t[te][keep]), r[te][keep])[0]
    assert got == pytest.approx(want, abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_weighted_replicates_equal_libraries(seed):
    rng = np.random.default_rng(seed)
    t, e, r = _survival(rng)
    y = rng.integers(0, 2, 60)
    p = np.round(rng.random(60), 1)  # ties in the scores
    W = resample_counts(rng, 60, 5)
    hc, ra = harrell_weighted(W, t, e, r), roc_auc_weighted(W, y, p)
    ap, ac = average_precision_weighted(W, y, p), accuracy_weighted(W, y, p, 0.5)
    for b in range(5):
        idx = np.repeat(np.arange(60), W[b].astype(int))
        assert hc[b] == pytest.approx(concordance_index(t[idx], -r[idx], e[idx]), abs=1e-12)
        assert ra[b] == pytest.approx(roc_auc_score(y[idx], p[idx]), abs=1e-12)
        assert ap[b] == pytest.approx(average_precision_score(y[idx], p[idx]), abs=1e-12)
        assert ac[b] == pytest.approx(accuracy_score(y[idx], (p[idx] >= 0.5).astype(int)), abs=1e-12)


def test_bootstrap_interval_seeded_and_covers_mean():
    rng = np.random.default_rng(3)
    folds = [_survival(rng, 40) for _ in range(3)]
    a = bootstrap_fold_mean(folds, harrell_weighted, 300, seed=7)
    b = bootstrap_fold_mean(folds, harrell_weighted, 300, seed=7)
    assert a == b
    mean = np.mean([harrell_cindex(*f) for f in folds])
    assert a["low"] < mean < a["high"]
    assert 0.02 < a["high"] - a["low"] < 0.4


def test_classification_metrics_equal_sklearn():
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 50)
    p = np.clip(0.3 * y + 0.7 * rng.random(50), 0, 1)
    m = classification_metrics(y, p, 0.5)
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y, p))
    assert m["pr_auc"] == pytest.approx(average_precision_score(y, p))
    assert m["pr_auc_alive"] == pytest.approx(average_precision_score(1 - y, -p))
    assert m["accuracy"] == pytest.approx(accuracy_score(y, p >= 0.5))
    assert classification_metrics(np.ones(5), np.ones(5))["roc_auc"] is None


def test_paired_pvalues_equal_scipy():
    from scipy.stats import ttest_rel, wilcoxon

    a = [0.71, 0.75, 0.69, 0.80, 0.77, 0.73]
    b = [0.65, 0.70, 0.71, 0.72, 0.70, 0.66]
    r = paired_pvalues(a, b)
    assert r["ttest_p"] == pytest.approx(ttest_rel(a, b).pvalue)
    assert r["wilcoxon_p"] == pytest.approx(wilcoxon(a, b).pvalue)
    assert r["n_folds"] == 6
    assert paired_pvalues(a, a)["ttest_p"] is None
    assert paired_pvalues([0.7, None, 0.8], [0.6, 0.5, 0.6])["n_folds"] == 2


def test_km_groups_and_at_risk():
    from lifelines import KaplanMeierFitter
    from lifelines.statistics import logrank_test

    rng = np.random.default_rng(5)
    t = np.r_[rng.exponential(20, 40), rng.exponential(60, 40)]
    e = rng.integers(0, 2, 80)
    g = np.array(["high"] * 40 + ["low"] * 40)
    km = km_groups(t, e, g, labels=("low", "high"), times=(0, 12, 24, 60), name="x")
    assert km["p_logrank"] == pytest.approx(logrank_test(t[:40], t[40:], e[:40], e[40:]).p_value)
    low = KaplanMeierFitter().fit(t[40:], e[40:])
    assert km["groups"][0]["survival"] == pytest.approx(low.survival_function_.iloc[:, 0].tolist())
    want = [int((t[:40] > x).sum()) if x > 0 else 40 for x in (0, 12, 24, 60)]
    assert km["at_risk"]["rows"]["high"] == want
    assert at_risk_counts(np.array([1.0, 2.0, 3.0]), [0, 2, 5]) == [3, 1, 0]
