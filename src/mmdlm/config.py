"""The one validated config: YAML in, typed sections out (each section is owned by its package)."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import Field, ValidationError

from mmdlm.cohort.config import IngestConfig, SynthConfig
from mmdlm.config_base import StrictModel
from mmdlm.data.config import DataConfig
from mmdlm.errors import MmdlmError
from mmdlm.evaluate.config import CVConfig
from mmdlm.executor.config import ExecutorConfig
from mmdlm.explain.config import ExplainConfig
from mmdlm.model.config import ModelConfig
from mmdlm.pipeline.config import DemoConfig
from mmdlm.radiology.config import RadiologyConfig
from mmdlm.slides.config import TilingConfig
from mmdlm.train.config import TrainConfig


class Config(StrictModel):
    """Every stage's settings; unknown keys anywhere are errors."""

    seed: int = 0
    synth: SynthConfig = Field(default_factory=SynthConfig)
    ingest: IngestConfig = Field(default_factory=IngestConfig)
    tiling: TilingConfig = Field(default_factory=TilingConfig)
    radiology: RadiologyConfig = Field(default_factory=RadiologyConfig)
    data: DataConfig = Field(default_factory=DataConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    cv: CVConfig = Field(default_factory=CVConfig)
    explain: ExplainConfig = Field(default_factory=ExplainConfig)
    demo: DemoConfig = Field(default_factory=DemoConfig)
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig)


def packaged_config(name: str) -> Path:
    """Path of a config shipped with mmdlm (`demo`, `tcga_kirc`)."""
    return Path(__file__).parent / "configs" / f"{name}.yaml"


def load_config(path: str | Path | None = None) -> Config:
    """Load and validate a YAML config; None gives the defaults. Errors name the file and the key."""
    if path is None:
        return Config()
    path = Path(path)
    if not path.is_file():
        raise MmdlmError("config file not found", file=path)
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise MmdlmError(f"not valid YAML ({exc.__class__.__name__})", file=path) from None
    if not isinstance(raw, dict):
        raise MmdlmError("top level must be a mapping of sections", file=path)
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        raise MmdlmError(msg, file=path, field=key) from None


def dump_config(cfg: Config) -> str:
    """The resolved config as YAML (what `mmdlm config show` prints and runs save)."""
    return yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False)
