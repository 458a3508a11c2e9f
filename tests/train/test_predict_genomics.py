"""External genomics are matched to the checkpoint's feature_names by gene name, not by column position."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from mmdlm.config import Config
from mmdlm.data.toy import planted_records
from mmdlm.errors import MmdlmError
from mmdlm.train.fit import fit_stage
from mmdlm.train.predict import align_genomics, predict

GENES = ("VHL_mut", "PBRM1_mut", "SETD2_mut", "BAP1_mut")
TINY = {"data": {"image_size": 32, "val_images_per_modality": 1},
        "model": {"pretrained": "none", "width": 8},
        "train": {"batch_size": 8, "epochs_unimodal": 2, "cpu_threads": 1}}


def _named(records, names):
    return [replace(r, genomic_features=tuple(names)) for r in records]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    cfg = Config.model_validate(TINY)
    records = _named(planted_records(n=24, size=32, images_per_patient=1, n_genomic=4, p_missing=0.0,
                                     seed=5), GENES)
    out = tmp_path_factory.mktemp("gen")
    res = fit_stage(cfg, "cox", "genomics", records[:16], records[16:], out, epochs=2)
    return cfg, res.model, records[16:]


def test_a_cohort_with_another_ranking_gets_the_same_predictions(trained) -> None:
    cfg, ckpt, val = trained
    same = predict(ckpt, val, cfg)
    # the external cohort was ingested with its own top-N: the same genes in another column order
    order = [2, 0, 3, 1]
    shuffled = [replace(r, genomics=r.genomics[order], genomic_features=tuple(GENES[i] for i in order))
                for r in val]
    pd.testing.assert_frame_equal(predict(ckpt, shuffled, cfg), same)
    # matched by position (the old behaviour) the risks change: the test can tell the two apart
    by_position = [replace(r, genomic_features=GENES) for r in shuffled]
    assert not np.allclose(predict(ckpt, by_position, cfg)["risk"], same["risk"])


def test_a_gene_the_model_needs_missing_is_an_error_naming_it(trained) -> None:
    cfg, ckpt, val = trained
    other = ("VHL_mut", "PBRM1_mut", "SETD2_mut", "KDM5C_mut")
    with pytest.raises(MmdlmError, match="no genomic feature 'BAP1_mut'") as err:
        predict(ckpt, _named(val, other), cfg)
    assert err.value.patient == val[0].patient_id


def test_align_genomics_reorders_by_name() -> None:
    rec = _named(planted_records(n=2, size=8, images_per_patient=1, n_genomic=3, p_missing=0.0), "abc")
    rec = [replace(r, genomics=np.array([1.0, 2.0, 3.0], dtype=np.float32)) for r in rec]
    out = align_genomics(rec, ["c", "a"])
    assert out[0].genomics.tolist() == [3.0, 1.0] and out[0].genomic_features == ("c", "a")
