"""The import graph runs one way: every mmdlm module's imports (parsed with ast, lazy ones included) go from
a package to one on the same or a lower floor (docs/architecture.md, "Floors"), and packages form no cycle."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "mmdlm"

#: The floors (docs/architecture.md keeps the same table). A package may import its own floor or lower ones.
#: "<pkg>.config" is that package's config section: a pydantic schema on the sections floor.
FLOORS: dict[str, int] = {
    # 0 ground: no mmdlm imports beyond this floor
    "errors": 0, "atomic": 0, "locks": 0, "names": 0, "oserrors": 0, "config_base": 0, "lazy": 0,
    "modalities": 0, "cindex": 0, "stats": 0, "runlayout": 0, "allocator": 0, "directio": 0, "collector": 0,
    "mmdlm": 0,
    # 1 config sections (schemas only)
    "sections": 1,
    # the prediction tasks (torch-free at import): the cv section checks task names against their registry
    "tasks": 1,
    # the results schemas (metrics.json, report.json) evaluate writes and report reads
    "results": 1,
    # 2 leaf packages: run infrastructure, tables, synthetic data
    "executor": 2, "cohort": 2, "synth": 2,
    # 3 per-modality readers and stores
    "stores": 3, "slides": 3, "radiology": 3, "genomics": 3,
    # 4 datasets and models
    "data": 4, "model": 4, "encoders": 4, "features": 4,
    # 5 training
    "train": 5,
    # 6 evaluation
    "evaluate": 6,
    # 7 consumers of a trained run
    "explain": 7, "report": 7, "mil": 7,
    # 8 the whole config and the run directory
    "config": 8, "rundir": 8,
    # 9 composition of stages
    "pipeline": 9,
    # 10 the command line
    "cli": 10,
}
#: Third-party packages a package must not import (what it must not do).
FORBIDDEN: dict[str, tuple[str, ...]] = {
    # cohort reads tables and headers, paints no pixels
    "cohort": ("PIL", "tifffile", "openslide", "tiffslide", "torch", "SimpleITK"),
    "slides": ("torch", "lightning"),
    "radiology": ("torch", "lightning"),
}


def _node(module: str) -> str:
    """The graph node of a module name: its package, or 'sections' for a package's config schema."""
    parts = module.split(".")
    if len(parts) == 1:
        return "mmdlm"
    if len(parts) >= 3 and parts[2] == "config":
        return "sections"
    return parts[1]


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _imports(path: Path, package: str | None = None) -> list[tuple[str, int]]:
    """(absolute module, line) for every import in the file, including those inside functions; `package` is
    the file's package (default: from its place under src/mmdlm) for relative imports."""
    out = []
    if package is None:
        name = _module_name(path)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                out.append((f"{base}.{node.module}" if node.module else base, node.lineno))
            elif node.module:
                out.append((node.module, node.lineno))
    return out


@pytest.fixture(scope="module")
def graph() -> dict[str, dict[str, list[str]]]:
    """node -> imported node -> ['file:line', ...] (mmdlm imports only)."""
    edges: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in sorted(SRC.rglob("*.py")):
        src = _node(_module_name(path))
        for module, line in _imports(path):
            if module.split(".")[0] == "mmdlm":
                dst = _node(module)
                if dst != src:
                    edges[src][dst].append(f"{path.relative_to(SRC)}:{line}")
    return edges


def test_every_package_has_a_floor() -> None:
    nodes = {_node(_module_name(p)) for p in SRC.rglob("*.py")}
    assert nodes - set(FLOORS) == set(), "add the new package to FLOORS and docs/architecture.md"


def test_no_import_from_a_higher_floor(graph: dict[str, dict[str, list[str]]]) -> None:
    upward = [
        f"{src} (floor {FLOORS[src]}) imports {dst} (floor {FLOORS[dst]}) at {', '.join(where)}"
        for src, dsts in graph.items()
        for dst, where in dsts.items()
        if FLOORS[dst] > FLOORS[src]
    ]
    assert upward == []


def test_no_cycle_between_packages(graph: dict[str, dict[str, list[str]]]) -> None:
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in graph.get(node, {}):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    assert cycles == []


def test_forbidden_third_party_imports() -> None:
    bad = []
    for path in sorted(SRC.rglob("*.py")):
        banned = FORBIDDEN.get(_node(_module_name(path)), ())
        where = path.relative_to(SRC)
        bad += [f"{where}:{line} {m}" for m, line in _imports(path) if m.split(".")[0] in banned]
    assert bad == []


def test_the_checker_sees_an_upward_import(tmp_path: Path) -> None:
    """The parser resolves relative and function-level imports (so the checks above can fail)."""
    f = tmp_path / "mod.py"
    f.write_text("from ..rundir import run_lock\n\ndef f():\n    import mmdlm.config\n")
    assert [m for m, _ in _imports(f, "mmdlm.slides")] == ["mmdlm.rundir", "mmdlm.config"]
    assert _node("mmdlm.slides.config") == "sections" and _node("mmdlm.slides.reader") == "slides"
