"""Every package's lazy public names (mmdlm.lazy) resolve to the object of the module they name, an unknown
name is an AttributeError, and reading a package's config does not import torch."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from mmdlm.lazy import by_module

PACKAGES = ("data", "encoders", "features", "mil", "model", "radiology", "slides", "tasks")


def test_by_module_maps_each_name_to_its_module() -> None:
    table = by_module("mmdlm.x", {"a": "One Two", "b": "three"})
    assert table == {"One": "mmdlm.x.a", "Two": "mmdlm.x.a", "three": "mmdlm.x.b"}


@pytest.mark.parametrize("name", PACKAGES)
def test_every_public_name_resolves(name: str) -> None:
    package = importlib.import_module(f"mmdlm.{name}")
    assert package.__all__
    for public in package.__all__:
        obj = getattr(package, public)
        module = importlib.import_module(package._EXPORTS[public])
        assert obj is getattr(module, public)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        package.nope  # noqa: B018


def test_configs_stay_light() -> None:
    code = ("import sys, mmdlm.config; "
            "print('torch' in sys.modules, 'lightning' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
