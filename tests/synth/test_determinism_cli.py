"""Determinism (same seed -> same bytes, also across worker counts) and the CLI's errors."""

from __future__ import annotations

import filecmp
import hashlib
from pathlib import Path

from mmdlm.synth import write_synthetic_cohort

from .conftest import SMALL


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_same_seed_gives_identical_bytes(cohort, small_cfg, tmp_path):
    out, _ = cohort
    again = tmp_path / "again"
    write_synthetic_cohort(again, small_cfg, workers=2)
    assert _digest(again) == _digest(out)


def test_other_seed_gives_other_files(cohort, small_cfg, tmp_path):
    out, _ = cohort
    other = tmp_path / "other"
    cfg = small_cfg.model_copy(update={"seed": small_cfg.seed + 1, "patients": 2})
    write_synthetic_cohort(other, cfg)
    for name in ("truth.csv", "study/data_clinical_patient.txt", "study/data_mutations.txt"):
        assert not filecmp.cmp(out / name, other / name, shallow=False)
    a = sorted((out / "slides").glob("*/*.tiff"))[0]
    b = sorted((other / "slides").glob("*/*.tiff"))[0]
    assert a.name != b.name and a.read_bytes() != b.read_bytes()


def _config_file(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    lines = ["synth:"] + [f"  {k}: {v}" for k, v in SMALL.items() if k not in ("patients", "seed")]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_cli_writes_a_cohort_and_refuses_to_overwrite(run_cli, tmp_path):
    out = tmp_path / "c"
    cfg = _config_file(tmp_path)
    code, stdout, err = run_cli("synth", out, "--patients", "2", "--seed", "4", "--config", cfg)
    assert code == 0, err
    assert "wrote 2 patients" in stdout
    assert len(list((out / "slides").glob("*/*.tiff"))) == 2
    code, _, err = run_cli("synth", out, "--patients", "2", "--config", cfg)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "not empty" in err and "--force" in err
    code, _, err = run_cli("synth", out, "--patients", "1", "--force", "--config", cfg)
    assert code == 0, err
    assert len(list((out / "slides").glob("*/*.tiff"))) == 1
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".c.tmp")]  # no temp sibling left


def test_cli_rejects_bad_arguments(run_cli, tmp_path):
    for args in (["--patients", "0"], ["--patients", "-3"], ["--seed", "-1"], ["--workers", "0"]):
        code, _, err = run_cli("synth", tmp_path / "x", *args)
        assert code == 2, args
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
        assert not (tmp_path / "x").exists()
    afile = tmp_path / "file.txt"
    afile.write_text("x")
    code, _, err = run_cli("synth", afile, "--patients", "1")
    assert code == 2 and "not a folder" in err
