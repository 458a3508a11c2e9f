"""A cohort's paths travel as one CohortPaths: the CLI's --cohort/--tiles/--radiology/--features reach the
library as the CohortPaths of those flags (cv, evaluate, train, explain with its RUN/manifest default), and a
cohort layout gives the paths of its folders."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from mmdlm.cohort.paths import CohortPaths
from mmdlm.errors import MmdlmError
from mmdlm.pipeline.layout import CohortLayout


def test_cohort_paths_are_frozen_paths_and_a_layout_gives_its_folders(tmp_path: Path) -> None:
    paths = CohortPaths(str(tmp_path / "m"), tiles=str(tmp_path / "t"))
    assert paths == CohortPaths(tmp_path / "m", tmp_path / "t") and isinstance(paths.tiles, Path)
    assert paths.radiology is None and paths.features is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        paths.manifest = tmp_path  # type: ignore[misc]
    layout = CohortLayout(tmp_path)
    assert layout.paths() == CohortPaths(tmp_path / "manifest", tmp_path / "tiles", tmp_path / "radiology",
                                         tmp_path / "features")


@pytest.fixture
def folders(tmp_path: Path) -> dict[str, Path]:
    return {k: tmp_path / k for k in ("cohort", "tiles", "radiology", "features", "run")}


def _flags(f: dict[str, Path], *names: str) -> list[str]:
    return [x for n in names for x in (f"--{n}", str(f[n]))]


def test_cv_and_evaluate_pass_the_flags_as_one_cohort_paths(folders, run_cli, monkeypatch) -> None:
    import mmdlm.pipeline.evaluate as evaluate_mod

    seen: dict[str, object] = {}

    def cross_validate(cfg, cohort, run_dir, **kw):
        seen["cv"] = (cohort, run_dir)
        return {"tasks": {}}

    def evaluate_cohort(cfg, run_dir, cohort, name, **kw):
        seen["evaluate"] = (cohort, name)
        return {"tasks": {}}

    monkeypatch.setattr(evaluate_mod, "cross_validate", cross_validate)
    monkeypatch.setattr(evaluate_mod, "evaluate_cohort", evaluate_cohort)
    f = folders
    full = CohortPaths(f["cohort"], f["tiles"], f["radiology"], f["features"])
    code, _, err = run_cli("cv", *_flags(f, "cohort", "tiles", "radiology", "features", "run"))
    assert code == 0, err
    assert seen["cv"] == (full, f["run"])
    code, _, err = run_cli("cv", *_flags(f, "cohort", "radiology", "run"))
    assert code == 0, err
    assert seen["cv"][0] == CohortPaths(f["cohort"], radiology=f["radiology"])
    code, _, err = run_cli("evaluate", *_flags(f, "run", "cohort", "tiles", "radiology", "features"),
                           "--name", "ext")
    assert code == 0, err
    assert seen["evaluate"] == (full, "ext")


def test_train_passes_the_stores_as_one_cohort_paths(folders, run_cli, monkeypatch) -> None:
    import mmdlm.data.records as records_mod

    seen: list[CohortPaths] = []

    def load_records(cohort, cfg, manifest=None):
        seen.append(cohort)
        raise MmdlmError("stop here", field="--cohort")

    monkeypatch.setattr(records_mod, "load_records", load_records)
    f = folders
    code, _, err = run_cli("train", *_flags(f, "cohort", "tiles", "radiology"), "--out", str(f["run"]))
    assert code == 2 and "stop here" in err
    assert seen == [CohortPaths(f["cohort"], f["tiles"], f["radiology"])]


def test_explain_passes_the_run_manifest_unless_cohort_is_given(folders, run_cli, monkeypatch) -> None:
    import mmdlm.pipeline.families as families_mod

    requests: list = []
    real = families_mod.get_family

    def explain(cfg, req, out_dir: Path) -> list[str]:
        requests.append(req)
        out_dir.mkdir()  # what RUN/explain becomes
        return []

    def get_family(name):
        return dataclasses.replace(real(name), explainer=lambda: explain)

    monkeypatch.setattr(families_mod, "get_family", get_family)
    f = folders
    f["run"].mkdir()
    code, _, err = run_cli("explain", *_flags(f, "run", "tiles"))
    assert code == 0, err
    assert requests[-1].run == f["run"]
    assert requests[-1].cohort == CohortPaths(f["run"] / "manifest", f["tiles"])
    code, _, err = run_cli("explain", *_flags(f, "run", "cohort", "radiology", "features"))
    assert code == 0, err
    assert requests[-1].cohort == CohortPaths(f["cohort"], radiology=f["radiology"], features=f["features"])


def test_explain_without_a_manifest_snapshot_names_the_flag(tmp_path: Path) -> None:
    from mmdlm.explain.run import default_sources

    with pytest.raises(MmdlmError, match="pass --cohort"):
        default_sources(tmp_path)
    (tmp_path / "manifest").mkdir()
    (tmp_path / "tiles").mkdir()
    sources = default_sources(tmp_path)  # RUN's own stores where they exist, None where they do not
    assert sources.cohort == CohortPaths(tmp_path / "manifest", tmp_path / "tiles")
    given = default_sources(tmp_path, CohortPaths(tmp_path / "other", radiology=tmp_path / "rad"))
    assert given.cohort == CohortPaths(tmp_path / "other", tmp_path / "tiles", tmp_path / "rad")
