"""Lazy package exports (PEP 562), so light modules such as configs never import torch by accident."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` that imports `name` from `exports[name]` (a module path) on first use."""

    def __getattr__(name: str) -> Any:
        if name in exports:
            return getattr(import_module(exports[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__


def by_module(package: str, groups: Mapping[str, str]) -> dict[str, str]:
    """name -> module path from `groups` (module relative to `package` -> its exported names, separated by
    spaces), the table lazy_exports reads."""
    return {name: f"{package}.{module}" for module, names in groups.items() for name in names.split()}
