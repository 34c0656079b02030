"""The documentation's code examples run, against a real local collector."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT, Collector, child_env

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def examples() -> list[tuple[str, str]]:
    out = []
    for path in DOCS:
        for i, code in enumerate(BLOCK.findall(path.read_text())):
            out.append((f"{path.name}#{i + 1}", code))
    return out


@pytest.mark.parametrize(("where", "code"), examples(), ids=[w for w, _ in examples()])
def test_doc_example_runs(where: str, code: str, collector: Collector, tmp_path: Path) -> None:
    """Each python block in README.md and docs/ runs without error."""
    code = code.replace("http://127.0.0.1:8053", collector.url)
    env = child_env(tmp_path / "cache", SHIPPER_ENDPOINT=collector.url)
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, f"{where}:\n{out.stderr}"


def test_readme_starts_with_the_two_fresh_machine_commands() -> None:
    """The README's first lines install and demo, then install test extras and test."""
    head = (ROOT / "README.md").read_text().splitlines()[:6]
    text = "\n".join(head)
    assert "pip install -e . && shipper demo" in text
    assert 'pip install -e ".[test]" && python -m pytest' in text
    ci = (ROOT / ".ci" / "run").read_text()
    assert 'pip install -e ".[test]" && python -m pytest' in ci


def test_configuration_doc_lists_every_key() -> None:
    """docs/configuration.md documents every setting with its env name."""
    from shipper import Settings

    doc = (ROOT / "docs" / "configuration.md").read_text()
    for key in Settings._fields:
        assert f"`{key}`" in doc and f"SHIPPER_{key.upper()}" in doc
