"""The model learns: brief training on records with a planted signal in every image modality gives a
validation C-index well above chance for each image branch and the fused model (a sign flip or a scrambled
patient order anywhere between the loader and the metric fails this test)."""

from __future__ import annotations

import pytest

from mmdlm.config import Config
from mmdlm.data.toy import planted_records
from mmdlm.stats.metrics import harrell_cindex
from mmdlm.train.staged import train_fold

CONFS = ("histo_10x", "histo_5x", "radiology", "histo_radiology")
#: fixed seed and thread count (CPU results depend on both)
TINY = {"seed": 0,
        "data": {"image_size": 16, "val_images_per_modality": 1, "augment": False},
        "model": {"pretrained": "none", "width": 8, "dropout": 0.0},
        "train": {"batch_size": 16, "eval_batch_size": 96, "epochs_unimodal": 4, "epochs_multimodal": 1,
                  "lr": 0.01, "cpu_threads": 2, "resume_every_n_epochs": 0}}


@pytest.fixture(scope="module")
def validation_cindex(tmp_path_factory) -> dict[str, float]:
    cfg = Config.model_validate(TINY)
    records = planted_records(n=96, size=16, images_per_patient=1, noise=0.3, p_missing=0.0, seed=11)
    train, val = records[:64], records[64:]
    out = train_fold(cfg, "cox", train, val, tmp_path_factory.mktemp("learn"), CONFS)
    by_id = {r.patient_id: r for r in val}
    result = {}
    for conf, df in out.items():
        risk = df.groupby("patient_id")["risk"].mean()
        ids = list(risk.index)
        result[conf] = harrell_cindex([by_id[p].time for p in ids], [by_id[p].event for p in ids],
                                      risk.to_numpy())
    return result


@pytest.mark.parametrize("configuration", CONFS)
def test_each_branch_and_the_fused_model_learn_the_planted_signal(validation_cindex, configuration) -> None:
    # 32 validation patients: chance is 0.5 +- ~0.055, a sign flip ~0.3. Measured (2026-12-02) over 13 seeds
    # and thread counts: 0.59-0.77 per configuration, 0.66-0.73 on average. Without the batch-norm
    # recalibration, this seed on 2 threads gave histo_5x 0.27: eval-mode statistics that lagged the weights.
    assert validation_cindex[configuration] > 0.58, validation_cindex


def test_the_configurations_learn_on_average(validation_cindex) -> None:
    assert sum(validation_cindex.values()) / len(validation_cindex) > 0.65, validation_cindex
