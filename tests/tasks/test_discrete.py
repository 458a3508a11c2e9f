"""The discrete-time survival task (PORPOISE / MCAT / SurvPath): its NLL against an independent numpy
computation and a value worked by hand, its quantile bins, and a short training through the CV runner that
ranks a planted signal."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from mmdlm.config import Config
from mmdlm.data.records import PatientRecord
from mmdlm.data.sources import ArraySource
from mmdlm.evaluate.cv import run_cv
from mmdlm.model.fusion import ModelOutput
from mmdlm.tasks.discrete import DiscreteTask, bin_of, quantile_bins
from mmdlm.tasks.losses import discrete_survival_nll
from mmdlm.tasks.registry import get_task, task_names
from mmdlm.tasks.targets import Targets


def _reference_nll(logits: np.ndarray, y: np.ndarray, event: np.ndarray, alpha: float) -> float:
    """Per patient, with explicit loops: hazards h_k, survival S_k = prod_{j<=k} (1 - h_j)."""
    total = 0.0
    for row, k, e in zip(logits, y, event, strict=True):
        h = 1.0 / (1.0 + np.exp(-row))
        s_before = float(np.prod(1.0 - h[:k]))  # survived bins 0..k-1
        s_through = float(np.prod(1.0 - h[: k + 1]))  # survived bin k too
        death = -(math.log(s_before) + math.log(h[k])) if e else 0.0
        censor = 0.0 if e else -math.log(s_through)
        total += (1 - alpha) * (death + censor) + alpha * death
    return total / len(y)


@pytest.mark.parametrize("alpha", [0.0, 0.15, 0.5])
def test_nll_matches_an_independent_numpy_computation(alpha):
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 1.5, size=(40, 4))
    y = rng.integers(0, 4, size=40)
    event = rng.integers(0, 2, size=40)
    got = discrete_survival_nll(torch.tensor(logits), torch.tensor(y),
                                torch.tensor(event, dtype=torch.float64), alpha)
    assert float(got) == pytest.approx(_reference_nll(logits, y, event, alpha), rel=1e-10)


def test_nll_known_value():
    # all hazards 1/2: a death in bin 2 costs -log(1/4) - log(1/2) = 3 log 2, a patient censored in bin 1
    # -log S_1 = -log(1/4) = 2 log 2
    logits = torch.zeros(2, 4)
    y, event = torch.tensor([2, 1]), torch.tensor([1.0, 0.0])
    assert float(discrete_survival_nll(logits, y, event, 0.0)) == pytest.approx(2.5 * math.log(2))
    # alpha 1/2: the death counts 0.5 * 3 log 2 + 0.5 * 3 log 2, the censored patient 0.5 * 2 log 2
    assert float(discrete_survival_nll(logits, y, event, 0.5)) == pytest.approx(2.0 * math.log(2))


def test_quantile_bins_and_score():
    times = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 100.0])
    events = np.array([1, 1, 1, 1, 1, 0])
    cuts = quantile_bins(times, events, 4)  # quartiles of the event times 1..5 (the censored 100 is ignored)
    assert cuts == pytest.approx((2.0, 3.0, 4.0))
    assert bin_of(np.array([0.5, 2.0, 3.5, 50.0]), cuts).tolist() == [0, 1, 2, 3]
    task = DiscreteTask().fitted([type("R", (), {"time": t, "event": e})() for t, e in zip(times, events,
                                                                                        strict=True)])
    assert task.cuts == cuts and get_task("discrete", **task.params()) == task
    # risk = minus the summed survival: hazards 1/2 over 4 bins -> -(1/2 + 1/4 + 1/8 + 1/16)
    risk = task.score(ModelOutput(torch.zeros(1, 4), torch.zeros(1, 4)))
    assert float(risk[0]) == pytest.approx(-0.9375)
    assert "discrete" in task_names() and task.primary_metric == "c_index" and task.head_width == 4


def _records(n=90, seed=0):
    """Exponential survival with a planted log-hazard, uniform censoring; genomics[0] = hazard + noise."""
    rng = np.random.default_rng(seed)
    hazard = rng.normal(size=n)
    death, censor = rng.exponential(40 * np.exp(-hazard)), rng.uniform(20, 120, size=n)
    genomics = np.column_stack([hazard + rng.normal(0, 0.3, n), rng.normal(size=(n, 2))]).astype(np.float32)
    img = {"tile_10x": ArraySource(np.zeros((1, 4, 4, 3), np.uint8))}
    return [PatientRecord(f"P{i:03d}", float(min(death[i], censor[i])), int(death[i] <= censor[i]), None, img,
                          genomics[i]) for i in range(n)]


def _train_linear(cfg, task_name, train, val, out_dir, configurations):
    """A short real training of the task's loss: a linear head on the genomic vector (the planted signal)."""
    import pandas as pd

    task = get_task(task_name).fitted(train)
    torch.manual_seed(0)
    net = torch.nn.Linear(3, task.head_width)
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    x = torch.tensor(np.stack([r.genomics for r in train]))
    targets = Targets.of([r.time for r in train], [float(r.event) for r in train], [None] * len(train))
    for _ in range(150):
        opt.zero_grad()
        loss = task.loss(ModelOutput(net(x), torch.zeros(len(train), 4)), targets)
        loss.backward()
        opt.step()
    with torch.no_grad():
        xv = torch.tensor(np.stack([r.genomics for r in val]))
        risk = task.score(ModelOutput(net(xv), torch.zeros(len(val), 4))).numpy()
    df = pd.DataFrame({"patient_id": [r.patient_id for r in val], "risk": risk, "att_tile_10x": 1.0,
                       "att_tile_5x": 0.0, "att_radiology": 0.0, "att_genomics": 0.0})
    return {c: df for c in configurations}


def test_discrete_task_through_the_cv_runner_ranks_a_planted_signal(tmp_path):
    base = Config()
    cfg = base.model_copy(update={"cv": base.cv.model_copy(update={"folds_cox": 3, "bootstrap": 50,
                                                                    "tasks": ("discrete",)})})
    pred, metrics = run_cv(cfg, _records(), tmp_path, "discrete", ("histology",), train_fold=_train_linear)
    entry = metrics
    assert json.loads((tmp_path / "metrics.json").read_text())["tasks"]["discrete"]["task"] == "discrete"
    assert entry["primary_metric"] == "c_index" and entry["score"] == "risk" and entry["n_folds"] == 3
    conf = entry["configurations"]["histology"]
    assert conf["c_index"]["mean"] > 0.7 and conf["c_index"]["ci"]["low"] is not None
    assert len(conf["per_fold"]) == 3 and "ibs" in conf["per_fold"][0]
    folds = json.loads((tmp_path / "folds.json").read_text())["tasks"]["discrete"]
    assert folds["stratify"] == "event" and folds["n_folds"] == 3
    assert set(pred["task"]) == {"discrete"} and pred["p_dead_5y"].isna().all()
