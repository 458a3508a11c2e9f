from pathlib import Path

import pytest

from mmdlm.config import Config, dump_config, load_config
from mmdlm.errors import MmdlmError


def test_defaults_are_the_papers(tmp_path: Path) -> None:
    cfg = load_config(None)
    assert cfg.train.lr == 0.004 and cfg.train.momentum == 0.9 and cfg.train.batch_size == 32
    assert cfg.cv.folds_cox == 6 and cfg.cv.folds_5yss == 12
    assert cfg.tiling.magnifications == (10.0, 5.0)


def test_unknown_key_is_an_error_naming_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  lr: 0.01\n  learning_rat: 3\n")
    with pytest.raises(MmdlmError) as exc:
        load_config(path)
    assert "train.learning_rat" in str(exc.value) and str(path) in str(exc.value)
    assert "unknown key" in str(exc.value)


def test_round_trip_through_yaml(tmp_path: Path) -> None:
    cfg = Config.model_validate({"seed": 7, "train": {"lr": 0.01}})
    path = tmp_path / "c.yaml"
    path.write_text(dump_config(cfg))
    assert load_config(path) == cfg


def test_cli_unknown_key_exit_2(tmp_path: Path, run_cli) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("bogus: 1\n")
    code, out, err = run_cli("config", "show", str(path))
    assert code == 2
    assert "bogus" in err and "unknown key" in err and "Traceback" not in err


def test_a_file_lies_over_the_papers_settings_unless_it_extends_another(tmp_path: Path) -> None:
    plain = tmp_path / "plain.yaml"
    plain.write_text("train:\n  lr: 0.01\n")
    cfg = load_config(plain)
    assert cfg.train.lr == 0.01 and cfg.train.batch_size == 32 and cfg.tiling.tile_size == 224  # paper's
    over_demo = tmp_path / "over_demo.yaml"
    over_demo.write_text("extends: demo\ntrain:\n  lr: 0.01\n")
    cfg = load_config(over_demo)
    assert cfg.train.lr == 0.01 and cfg.tiling.tile_size == 64 and cfg.train.batch_size == 16  # demo's
    chained = tmp_path / "sub" / "chained.yaml"
    chained.parent.mkdir()
    chained.write_text("extends: ../over_demo.yaml\ntiling:\n  tile_size: 32\n")
    cfg = load_config(chained)
    assert (cfg.train.lr, cfg.tiling.tile_size, cfg.tiling.magnifications) == (0.01, 32, (10.0, 5.0))


def test_a_key_given_twice_is_an_error_naming_the_lines(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("seed: 1\ntrain:\n  lr: 0.1\nseed: 2\n")
    with pytest.raises(MmdlmError) as exc:
        load_config(path)
    assert str(exc.value) == f"file {path}: not valid YAML at line 4: duplicate key 'seed' (also on line 1)"
