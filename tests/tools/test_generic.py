"""Generic: any JSON object, from any program, metadata only unless content is opted in;
and what an unknown or misspelt ``--source`` means."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipper._tools._registry import source_named

from .common import run_command


def test_generic_source_keeps_metadata_and_all_of_it_on_opt_in(tmp_path: Path) -> None:
    """--source generic: numbers, booleans and ids as they are, other strings as sizes."""
    payload = {"target": "wheel", "ok": True, "build_id": "b-7"}
    event = run_command("shipper hook --source generic --event build.done", payload,
                        tmp_path / "c")
    assert event["event"] == "build.done"
    assert event["properties"] == {"target_bytes": 5, "ok": True, "build_id": "b-7"}
    full = run_command("shipper hook --source generic --event build.done --include-content",
                       payload, tmp_path / "d")
    assert full["properties"] == payload


@pytest.mark.parametrize(("given", "meant"), [
    ("claude_code", "claude-code"), ("Claude-Code", "claude-code"), ("claudecode", "claude-code"),
    ("Gemini_CLI", "gemini"), ("openai-codex", "codex"),
    ("vim", "generic"), ("", "generic"), ("../_hook", "generic"), ("_mapping", "generic"),
    ("os", "generic"), ("Cursor ", "cursor")])
def test_a_source_is_read_leniently_and_never_as_a_module_that_is_not_a_tool(
        given: str, meant: str) -> None:
    """Case, `_`, spaces and a tool's other spellings aside; anything else is generic,
    even a name that is a module of shipper's or of Python's."""
    assert source_named(given) == meant
