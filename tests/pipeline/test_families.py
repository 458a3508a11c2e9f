"""The model-family registry covers every `model.family` the config accepts, and names its fold models."""

from __future__ import annotations

import importlib.util
from typing import get_args

import pytest

from mmdlm.cohort.paths import CohortPaths
from mmdlm.errors import MmdlmError
from mmdlm.model.config import ModelConfig
from mmdlm.pipeline.families import get_family


def test_every_configurable_family_is_registered() -> None:
    names = get_args(ModelConfig.model_fields["family"].annotation)
    assert set(names) == {"end_to_end", "mil"}
    assert {n: get_family(n).model_file for n in names} == {"end_to_end": "model.ckpt", "mil": "mil_model.pt"}
    assert get_family("end_to_end").trainer() is None  # the runner's default trainer
    from mmdlm.mil.staged import train_fold

    assert get_family("mil").trainer() is train_fold


def test_each_family_stack_names_the_module_of_its_trainer() -> None:
    from mmdlm.evaluate.cv import _default_train_fold
    from mmdlm.pipeline.evaluate import CV_STACK
    from mmdlm.train.staged import train_fold as end_to_end_fold

    staged = _default_train_fold(_demo_config())  # the runner's default: partial(train_fold, shared=...)
    assert staged.func is end_to_end_fold
    assert get_family("end_to_end").stack == (end_to_end_fold.__module__,) == ("mmdlm.train.staged",)
    assert get_family("mil").stack == (get_family("mil").trainer().__module__,) == ("mmdlm.mil.staged",)
    assert all(importlib.util.find_spec(name) is not None for name in CV_STACK)


def _demo_config():
    from mmdlm.config import load_config, packaged_config

    return load_config(packaged_config("demo"))


def test_unknown_family_and_missing_feature_stores_are_one_line_errors(tmp_path) -> None:
    with pytest.raises(MmdlmError, match="unknown model family 'x'"):
        get_family("x")
    with pytest.raises(MmdlmError, match="give --features") as exc:
        get_family("mil").load_records(None, CohortPaths(tmp_path), None)
    assert exc.value.field == "model.family"
