"""The Cox partial likelihood against lifelines and scikit-survival (Efron and Breslow ties)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from lifelines import CoxPHFitter
from lifelines.datasets import load_rossi

from mmdlm.errors import MmdlmError
from mmdlm.tasks.losses import cox_ph_loss, survival_5y_loss


def _fit_linear(x: np.ndarray, time: np.ndarray, event: np.ndarray, ties: str) -> np.ndarray:
    """Full-batch LBFGS on standardised covariates; coefficients on the original scale."""
    X = torch.tensor(x, dtype=torch.float64)
    mu, sd = X.mean(0), X.std(0)
    Xs = (X - mu) / sd
    t = torch.tensor(time, dtype=torch.float64)
    e = torch.tensor(event, dtype=torch.float64)
    w = torch.zeros(X.shape[1], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS(
        [w], lr=1, max_iter=500, tolerance_grad=1e-12, tolerance_change=1e-15, line_search_fn="strong_wolfe"
    )

    def closure():
        opt.zero_grad()
        loss = cox_ph_loss(Xs @ w, t, e, ties)
        loss.backward()
        return loss

    opt.step(closure)
    return (w / sd).detach().numpy()


@pytest.fixture(scope="module")
def rossi():
    df = load_rossi()
    return df.drop(columns=["week", "arrest"]), df["week"].to_numpy(float), df["arrest"].to_numpy(float)


def test_efron_reproduces_lifelines_coefficients_and_likelihood(rossi) -> None:
    x, t, e = rossi
    cph = CoxPHFitter().fit(x.assign(week=t, arrest=e), "week", "arrest")
    beta = _fit_linear(x.to_numpy(float), t, e, "efron")
    np.testing.assert_allclose(beta, cph.params_.to_numpy(), atol=1e-3)
    # the loss at lifelines' optimum is its partial log-likelihood per event
    risk = torch.tensor(x.to_numpy(float) @ cph.params_.to_numpy())
    loss = cox_ph_loss(risk, torch.tensor(t), torch.tensor(e), "efron")
    assert float(loss) * e.sum() == pytest.approx(-cph.log_likelihood_, rel=1e-9)


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_ties_match_scikit_survival(ties: str) -> None:
    from sksurv.linear_model import CoxPHSurvivalAnalysis
    from sksurv.util import Surv

    # heavy ties: 200 patients on 8 distinct times
    rng = np.random.default_rng(3)
    x = rng.normal(size=(200, 3))
    t = rng.integers(1, 9, size=200).astype(float) - np.clip(x[:, 0], -1, 1).round()
    t = np.clip(t, 1, None)
    e = (rng.random(200) < 0.7).astype(float)
    assert len(np.unique(t[e == 1])) <= 10
    sk = CoxPHSurvivalAnalysis(ties=ties, tol=1e-12, n_iter=200).fit(x, Surv.from_arrays(e.astype(bool), t))
    beta = _fit_linear(x, t, e, ties)
    np.testing.assert_allclose(beta, sk.coef_, atol=1e-4)
    other = "efron" if ties == "breslow" else "breslow"
    assert np.abs(_fit_linear(x, t, e, other) - sk.coef_).max() > 1e-3  # the tie rule really matters here


def test_no_event_batch_is_zero_with_gradient() -> None:
    risk = torch.randn(5, requires_grad=True)
    loss = cox_ph_loss(risk, torch.arange(5.0), torch.zeros(5))
    assert loss.detach().item() == 0.0 and loss.requires_grad
    loss.backward()
    assert risk.grad is not None and torch.all(risk.grad == 0)


def test_loss_is_shift_invariant_and_rejects_unknown_ties() -> None:
    risk, t, e = torch.randn(20, dtype=torch.float64), torch.rand(20, dtype=torch.float64), torch.ones(20)
    assert torch.allclose(cox_ph_loss(risk, t, e), cox_ph_loss(risk + 100.0, t, e))
    with pytest.raises(MmdlmError, match="ties"):
        cox_ph_loss(risk, t, e, ties="exact")


def test_5y_cross_entropy_ignores_censored() -> None:
    logits = torch.tensor([[2.0, 0.0], [0.0, 2.0], [5.0, -5.0]])
    full = survival_5y_loss(logits, torch.tensor([0, 1, -1]))
    two = torch.nn.functional.cross_entropy(logits[:2], torch.tensor([0, 1]))
    assert torch.allclose(full, two)
    assert float(survival_5y_loss(logits, torch.tensor([-1, -1, -1]))) == 0.0
