"""The registry of tools, and everything that reads it: `hook --source`, `shipper hooks`
(install, uninstall, status, list), the CLI's choices and docs/hooks.md's table. A tool is
its module; nothing else lists it, so nothing else can drift from it."""

from __future__ import annotations

import argparse
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

from shipper._cli._hooks import hooks_command
from shipper._cli._main import _parsers
from shipper._tools._registry import installable, load, module_name, names

from ..conftest import ROOT, child_env
from .common import HOOKS

DOC = ROOT / "docs" / "hooks.md"
TABLE_HEAD = "| tool | file"


def table_rows() -> list[list[str]]:
    """The cells of each row of docs/hooks.md's table of what install writes."""
    lines = DOC.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(TABLE_HEAD))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split(" | ")])
    return rows


@pytest.mark.parametrize("name", names())
def test_each_tool_module_says_what_the_registry_needs(name: str) -> None:
    """NAME (its module's), TITLE, ORDER, PREFIX (a valid event prefix), RECORDS, ALIASES
    and map_payload; an installable tool has EVENTS too."""
    tool = load(name)
    assert name == tool.NAME and tool.__name__.endswith(f"._tools.{module_name(name)}")
    assert isinstance(tool.TITLE, str) and isinstance(tool.ORDER, int)
    assert re.fullmatch(r"[a-z][a-z0-9_]*", tool.PREFIX)
    assert isinstance(tool.RECORDS, str) and tool.RECORDS
    assert all(isinstance(alias, str) for alias in tool.ALIASES)
    assert callable(tool.map_payload)
    if hasattr(tool, "installer"):
        assert tool.EVENTS and all(isinstance(e, str) for e in tool.EVENTS)


def test_names_prefixes_and_aliases_are_each_one_tools() -> None:
    """No two tools share a prefix, and an alias never names two tools or hides one."""
    tools = [load(name) for name in names()]
    prefixes = [tool.PREFIX for tool in tools]
    assert len(set(prefixes)) == len(prefixes)
    aliases = [alias for tool in tools for alias in tool.ALIASES]
    assert len(set(aliases)) == len(aliases)
    assert not set(aliases) & set(names())


def test_the_docs_table_has_a_row_per_installable_tool_naming_its_events() -> None:
    """docs/hooks.md's table: one row per tool `shipper hooks install` takes, in the
    registry's order, titled as the tool is, naming every event it installs, in order."""
    rows = table_rows()
    tools = [load(name) for name in installable()]
    assert [row[0] for row in rows] == [tool.TITLE for tool in tools]
    for row, tool in zip(rows, tools, strict=True):
        events, at = row[-1], 0
        for event in tool.EVENTS:
            found = re.search(rf"(?<![\w.]){re.escape(event)}(?![\w])", events[at:])
            assert found, f"{tool.NAME}: {event} is not named (in order) in {events!r}"
            at += found.end()


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions
                  if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def choices(parser: argparse.ArgumentParser, dest: str) -> list[str]:
    action = next(a for a in parser._actions if a.dest == dest)
    return list(action.choices or ())


def test_the_cli_offers_exactly_the_registrys_tools() -> None:
    """`hooks install|uninstall|status` take the installable tools, `hook --source` every
    tool, and `hook --help` names them all."""
    parser, _ = _parsers()
    hooks = subcommands(subcommands(parser)["hooks"])
    for action in ("install", "uninstall", "status"):
        assert choices(hooks[action], "tool") == list(installable()), action
    assert choices(subcommands(parser)["hook"], "source") == list(names())
    done = subprocess.run([sys.executable, "-m", "shipper", "hook", "--help"], env=child_env(),
                          capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout == "" and ", ".join(names()) in done.stderr


def test_hooks_list_names_every_tool_and_what_it_records() -> None:
    """`shipper hooks list`: one line per tool, in order, with what it records."""
    out, err = io.StringIO(), io.StringIO()
    assert hooks_command("list", None, out=out, err=err) == 0
    lines = out.getvalue().splitlines()
    assert [line.split()[0] for line in lines] == list(names())
    for line, name in zip(lines, names(), strict=True):
        assert load(name).RECORDS in line


def test_every_ready_made_hooks_folder_is_a_tool_the_readme_lists() -> None:
    """hooks/<tool>/ exists only for tools of the registry (what each holds is checked
    against what install writes in the tool's own test file), and hooks/README.md lists
    each folder."""
    folders = sorted(p.name for p in HOOKS.iterdir() if p.is_dir())
    assert set(folders) <= set(installable())
    readme = (HOOKS / "README.md").read_text(encoding="utf-8")
    listed = re.findall(r"^\| `([\w-]+)/` \|", readme, re.MULTILINE)
    assert sorted(listed) == folders


def test_a_tool_module_is_all_it_takes(tmp_path: Path) -> None:
    """A module dropped into shipper/_tools/ is a tool: `hook --source` maps with it and
    `hooks list` names it, with no list anywhere to edit."""
    package = tmp_path / "shipper"
    folder = Path(sys.modules["shipper"].__file__ or "").parent
    code = (
        "import sys, shutil, pathlib\n"
        f"shutil.copytree({str(folder)!r}, {str(package)!r})\n"
        f"(pathlib.Path({str(package)!r}) / '_tools' / 'acme_agent.py').write_text(\n"
        "    'NAME = \"acme-agent\"\\nTITLE = \"Acme\"\\nORDER = 99\\nPREFIX = \"acme\"\\n'\n"
        "    'ALIASES = (\"acme\",)\\nRECORDS = \"everything acme\"\\n'\n"
        "    'def map_payload(payload, fields, event):\\n'\n"
        "    '    fields.meta(\"id\", payload.get(\"id\"))\\n'\n"
        "    '    return \"acme.ran\"\\n')\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        "from shipper._tools._registry import names, source_named, load\n"
        "from shipper._tools._mapping import to_event\n"
        "print(names())\n"
        "print(source_named('ACME'))\n"
        "print(to_event(load(source_named('acme')), b'{\"id\": 7}', include_content=False))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=child_env(), capture_output=True,
                          text=True, timeout=60, check=True)
    listed, source, mapped = done.stdout.splitlines()
    assert "'acme-agent'" in listed and source == "acme-agent"
    assert mapped == "('acme.ran', {'id': 7})"
