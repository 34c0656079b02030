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
