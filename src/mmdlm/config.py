"""The one validated config: YAML in, typed sections out (each section is owned by its package)."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import Field, ValidationError

from mmdlm.cohort.config import IngestConfig
from mmdlm.config_base import StrictModel
from mmdlm.data.config import DataConfig
from mmdlm.errors import MmdlmError
from mmdlm.evaluate.config import CVConfig
from mmdlm.executor.config import ExecutorConfig
from mmdlm.explain.config import ExplainConfig
from mmdlm.features.config import FeaturesConfig
from mmdlm.mil.config import MilConfig
from mmdlm.model.config import ModelConfig
from mmdlm.pipeline.config import DemoConfig
from mmdlm.radiology.config import RadiologyConfig
from mmdlm.slides.config import TilingConfig
from mmdlm.synth.config import SynthConfig
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
    features: FeaturesConfig = Field(default_factory=FeaturesConfig)
    mil: MilConfig = Field(default_factory=MilConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    cv: CVConfig = Field(default_factory=CVConfig)
    explain: ExplainConfig = Field(default_factory=ExplainConfig)
    demo: DemoConfig = Field(default_factory=DemoConfig)
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig)


def packaged_config(name: str) -> Path:
    """Path of a config shipped with mmdlm (`demo`, `tcga_kirc`)."""
    return Path(__file__).parent / "configs" / f"{name}.yaml"


class _UniqueKeyLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses a key given twice in one mapping (YAML itself keeps the last silently)."""


def _unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    seen: dict = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (also on line {seen[key] + 1})", key_node.start_mark
            )
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)

#: The key naming the config a file is laid over: a packaged name (`demo`, `tcga_kirc`) or a path (relative to
#: the file's folder). Without it a file is laid over the built-in defaults, which are the paper's settings.
EXTENDS_KEY = "extends"


def _read_yaml(path: Path) -> dict:
    if not path.is_file():
        raise MmdlmError("config file not found", file=path)
    try:
        raw = yaml.load(path.read_text(), Loader=_UniqueKeyLoader) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or exc.__class__.__name__
        raise MmdlmError(f"not valid YAML{where}: {problem}", file=path) from None
    if not isinstance(raw, dict):
        raise MmdlmError("top level must be a mapping of sections", file=path)
    return raw


def _merge(base: dict, over: dict) -> dict:
    """`over` laid on `base`: mappings merged key by key, anything else replaced."""
    out = dict(base)
    for key, value in over.items():
        both = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = _merge(out[key], value) if both else value
    return out


def _resolved_raw(path: Path, chain: tuple[Path, ...] = ()) -> dict:
    """The file's mapping laid over the config its `extends:` names (recursively), without the key."""
    if path.resolve() in chain:
        raise MmdlmError("`extends:` chain returns to this file", file=path, field=EXTENDS_KEY)
    raw = _read_yaml(path)
    base_name = raw.pop(EXTENDS_KEY, None)
    if base_name is None:
        return raw
    if not isinstance(base_name, str) or not base_name:
        raise MmdlmError("must name a config (demo, tcga_kirc or a YAML path)", file=path, field=EXTENDS_KEY)
    packaged = packaged_config(base_name)
    base = packaged if "/" not in base_name and packaged.is_file() else path.parent / base_name
    if not base.is_file():
        raise MmdlmError(f"config {base_name!r} not found (demo, tcga_kirc or a YAML path)", file=path,
                         field=EXTENDS_KEY)
    return _merge(_resolved_raw(base, (*chain, path.resolve())), raw)


def load_config(path: str | Path | None = None) -> Config:
    """Load and validate a YAML config; None gives the defaults (the paper's settings). A file is laid over
    the defaults, or over the config its `extends:` key names. Errors name the file and the key; a key
    given twice is an error."""
    if path is None:
        return Config()
    path = Path(path)
    raw = _resolved_raw(path)
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
