"""The architecture holds: what each layer may import, where the on-disk names live."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import shipper

from .conftest import ROOT, child_env

PACKAGE = ROOT / "shipper"


def modules_loaded_by(code: str) -> set[str]:
    script = code + "\nimport sys\nprint(' '.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", script], env=child_env(), capture_output=True,
                         text=True, timeout=60, check=True)
    return set(out.stdout.split())


@pytest.mark.parametrize("module", ["shipper._deliver", "shipper._gate", "shipper._backoff",
                                    "shipper._breaker", "shipper._pace",
                                    "shipper._destinations._base",
                                    "shipper._destinations._select"])
def test_delivery_policy_loads_no_io(module: str) -> None:
    """The pure policy and the destination seam import neither httpx nor asyncio."""
    loaded = modules_loaded_by(f"import {module}")
    assert module in loaded
    assert not {"httpx", "asyncio", "httpcore"} & loaded


def test_subpackage_inits_are_empty() -> None:
    """`_cache`, `_cli`, `_destinations` and `_tools` have empty __init__ files: importing
    one piece of a subpackage never drags in the rest (the hook path relies on it)."""
    inits = sorted(PACKAGE.glob("_*/__init__.py"))
    assert [p.parent.name for p in inits] == ["_cache", "_cli", "_destinations", "_tools"]
    assert all(p.read_text() == "" for p in inits)


def test_public_names_are_sorted_and_importable() -> None:
    """`__all__` is sorted and every name in it resolves."""
    assert shipper.__all__ == sorted(shipper.__all__)
    for name in shipper.__all__:
        assert getattr(shipper, name) is not None


# names of the on-disk layout (see shipper/_cache/_layout.py), as string literals
LAYOUT_NAMES = {"pending", "dead", "quarantine", "tmp", "state.json", "state.lock",
                "probe.lock", "sync.lock", "drops.json", "drops.lock", "failures.json",
                "failures.lock"}


def _string_literals(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef,
                                       ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)}
    return {node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in docstrings}


def test_cache_layout_is_named_in_one_module() -> None:
    """No module but `_cache/_layout.py` spells a folder, file or lock name of the cache:
    the layout is a protocol between processes and versions, written down once."""
    spelled = {}
    for path in PACKAGE.rglob("*.py"):
        if path.name == "_layout.py":
            continue
        found = _string_literals(path) & LAYOUT_NAMES
        if found:
            spelled[str(path.relative_to(PACKAGE))] = sorted(found)
    assert spelled == {}


def _imports_of(path: Path, name: str, modules: set[str]) -> set[str]:
    """The package's modules that module ``name`` imports anywhere in it: at the top, in a
    function, or for types only."""
    parts = name.split(".")
    package = parts if path.name == "__init__.py" else parts[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                full = f"{target}.{alias.name}"
                found.add(full if full in modules else target)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m in modules and m not in (name, "shipper")}


def test_no_two_modules_import_each_other_even_round_a_circle() -> None:
    """The import graph of the package (imports in functions and for types included) has no
    circle: every module can be read, tested and moved on its own."""
    files = {}
    for path in PACKAGE.rglob("*.py"):
        dotted = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        files[dotted.removesuffix(".__init__")] = path
    modules = set(files)
    graph = {name: _imports_of(path, name, modules) for name, path in files.items()}
    state: dict[str, str] = {}
    circles: list[list[str]] = []

    def visit(name: str, trail: list[str]) -> None:
        state[name] = "open"
        for target in sorted(graph[name]):
            if state.get(target) == "open":
                circles.append([*trail[trail.index(target):], target])
            elif target not in state:
                visit(target, [*trail, target])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert circles == []
