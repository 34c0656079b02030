"""Fixtures of the tools' tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from .common import Where


@pytest.fixture
def where(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Where:
    """An empty home and working folder (no tool folder variables from the machine)."""
    for variable in ("CODEX_HOME", "CLAUDE_CONFIG_DIR", "GEMINI_CLI_HOME", "QWEN_HOME",
                     "COPILOT_HOME", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(variable, raising=False)
    (tmp_path / "home").mkdir()
    (tmp_path / "work").mkdir()
    return Where(tmp_path / "home", tmp_path / "work")
