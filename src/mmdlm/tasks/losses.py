"""Losses: the Cox negative log partial likelihood (Efron or Breslow ties), cross-entropy for 5YSS and the
discrete-time survival NLL (Zadeh & Schmid 2020).

Checked against lifelines' CoxPHFitter and scikit-survival's CoxPHSurvivalAnalysis in tests/train.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from mmdlm.errors import MmdlmError


def cox_ph_loss(
    risk: torch.Tensor, time: torch.Tensor, event: torch.Tensor, ties: str = "efron"
) -> torch.Tensor:
    """Negative log partial likelihood of log-risks `risk` [B], mean over events (0 with a grad when none).

    Efron: each of the d tied events at a time t_j subtracts l/d (l = 0..d-1) of the tied events' total risk
    from the risk set; Breslow: every tied event sees the full risk set.
    """
    if ties not in ("efron", "breslow"):
        raise MmdlmError(f"unknown ties method '{ties}' (efron or breslow)", field="train.ties")
    risk = risk.reshape(-1)
    time = time.reshape(-1).to(risk.dtype)
    event = event.reshape(-1).to(torch.bool)
    n_events = int(event.sum())
    if n_events == 0:
        return (risk * 0.0).sum()
    r_ev, t_ev = risk[event], time[event]
    # [E, B]: sample b is at risk at event e's time, and sample b is an event tied with e
    at_risk = time.unsqueeze(0) >= t_ev.unsqueeze(1)
    tied = (time.unsqueeze(0) == t_ev.unsqueeze(1)) & event.unsqueeze(0)
    neg_inf = torch.finfo(risk.dtype).min
    log_risk_set = torch.logsumexp(risk.unsqueeze(0).masked_fill(~at_risk, neg_inf), dim=1)
    if ties == "breslow":
        log_denominator = log_risk_set
    else:
        log_tied = torch.logsumexp(risk.unsqueeze(0).masked_fill(~tied, neg_inf), dim=1)
        d = tied.sum(dim=1).to(risk.dtype)
        # rank l of each event among its tied events (stable order of appearance)
        ev_idx = torch.arange(len(t_ev), device=risk.device)
        same = t_ev.unsqueeze(0) == t_ev.unsqueeze(1)
        rank = (same & (ev_idx.unsqueeze(0) < ev_idx.unsqueeze(1))).sum(dim=1).to(risk.dtype)
        frac = rank / d
        log_denominator = log_risk_set + torch.log1p(-frac * torch.exp(log_tied - log_risk_set))
    return (log_denominator - r_ev).sum() / n_events


def survival_5y_loss(logits: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of [B, 2] logits against 0/1 labels; samples labelled -1 (censored < 5 y) are ignored."""
    if not bool((label >= 0).any()):
        return (logits * 0.0).sum()
    return F.cross_entropy(logits, label, ignore_index=-1)


def discrete_survival_nll(
    logits: torch.Tensor, bin_index: torch.Tensor, event: torch.Tensor, alpha: float = 0.0, eps: float = 1e-7
) -> torch.Tensor:
    """Censoring-aware negative log-likelihood of discrete-time hazards (Zadeh & Schmid 2020), mean over
    the batch.

    hazards h = sigmoid(logits) [B, K]; S_k = prod_{j<=k} (1 - h_j), S_{-1} = 1. A death in bin y contributes
    -log S_{y-1} - log h_y, a patient censored in bin y contributes -log S_y; the loss is
    (1 - alpha) * (all terms) + alpha * (death terms), as in PORPOISE, MCAT and SurvPath.
    """
    hazards = torch.sigmoid(logits)
    surv = torch.cumprod(1.0 - hazards, dim=1)
    surv_pad = torch.cat([torch.ones_like(surv[:, :1]), surv], dim=1)
    y = bin_index.reshape(-1, 1).long()
    dead = event.reshape(-1, 1).to(logits.dtype)
    s_before = torch.gather(surv_pad, 1, y).clamp_min(eps)
    h_at = torch.gather(hazards, 1, y).clamp_min(eps)
    s_at = torch.gather(surv_pad, 1, y + 1).clamp_min(eps)
    uncensored = -dead * (torch.log(s_before) + torch.log(h_at))
    censored = -(1.0 - dead) * torch.log(s_at)
    loss = (1.0 - alpha) * (censored + uncensored) + alpha * uncensored
    return loss.mean()
