"""The documentation's code examples and shell commands run, against a real local
collector."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from .conftest import ROOT, Collector, child_env, wait_for

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


# -- the shell commands of the docs ---------------------------------------------------------

SH = re.compile(r"```sh\n(.*?)```", re.S)
SEPARATORS = ("&&", ";", "||")


def statements(block: str) -> list[str]:
    """A shell block's statements: lines joined where a backslash continues one or a quote
    is still open."""
    out, current = [], ""
    for line in block.splitlines():
        current = f"{current}\n{line}" if current else line
        if current.endswith("\\"):  # continued on the next line
            current = current[:-1]
            continue
        try:
            shlex.split(current, comments=True)
        except ValueError:  # a quote still open: the statement goes on
            continue
        if current.strip():
            out.append(current)
        current = ""
    return out


def words_of(statement: str) -> list[str]:
    lexer = shlex.shlex(statement, posix=True, punctuation_chars=True)
    lexer.commenters = "#"
    lexer.whitespace_split = True
    return list(lexer)


def runs_shipper(command: list[str]) -> bool:
    words = [w for w in command if "=" not in w or w.startswith("-")]  # past VAR=value
    return bool(words) and words[0] == "shipper"


def shipper_part(statement: str) -> str | None:
    """The statement with only the parts that run shipper (and `export`s): `pip install
    -e . && shipper demo` is `shipper demo`; a pipeline into shipper is kept whole."""
    kept = []
    segment: list[str] = []
    for word in [*words_of(statement), "&&"]:
        if word not in SEPARATORS:
            segment.append(word)
            continue
        pipeline, command = [], []
        for w in [*segment, "|"]:
            if w == "|":
                pipeline.append(command)
                command = []
            else:
                command.append(w)
        if any(runs_shipper(c) for c in pipeline) or pipeline[0][:1] == ["export"]:
            kept.append(" | ".join(shlex.join(c) for c in pipeline))
        segment = []
    return " && ".join(kept) or None


def doc_commands() -> list[tuple[str, list[str]]]:
    """Each page's shipper commands, in the order a reader meets them."""
    pages = []
    for path in DOCS:
        commands = []
        for block in SH.findall(path.read_text()):
            for statement in statements(block):
                part = shipper_part(statement)
                if part is not None:
                    commands.append(part)
        if commands:
            pages.append((path.name, commands))
    return pages


def test_the_docs_have_shipper_commands_to_run() -> None:
    """The reader of the shell blocks finds the commands (so the test below runs some)."""
    found = dict(doc_commands())
    assert {"README.md", "quickstart.md", "hooks.md", "configuration.md"} <= set(found)
    assert sum(len(c) for c in found.values()) >= 20
    assert shipper_part("pip install -e . && shipper demo  # x") == "shipper demo"
    assert shipper_part("echo '{}' | shipper hook --source claude-code") == (
        "echo '{}' | shipper hook --source claude-code")


def serve_started(command: str, env: dict[str, str], tmp_path: Path) -> None:
    """`shipper serve ...` as a reader runs it, on a free port: it must say where it
    listens and answer there (then it is stopped, as Ctrl-C would)."""
    words = shlex.split(command)
    for flag in ("--port", "--out"):
        if flag in words:
            i = words.index(flag)
            del words[i:i + 2]
    words += ["--port", "0", "--out", str(tmp_path / "served.jsonl")]
    log = tmp_path / "serve.log"
    with log.open("w") as err:
        proc = subprocess.Popen(words, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                                stderr=err)
    try:
        assert wait_for(lambda: re.search(r"http://127\.0\.0\.1:\d+", log.read_text()),
                        timeout=30), log.read_text()
        url = re.search(r"http://127\.0\.0\.1:\d+", log.read_text())
        assert url and httpx.get(url.group(0) + "/health", timeout=10).status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)


@pytest.mark.parametrize(("page", "commands"), doc_commands(),
                         ids=[page for page, _ in doc_commands()])
def test_doc_shell_commands_run(page: str, commands: list[str], collector: Collector,
                                tmp_path: Path) -> None:
    """Every shipper command in the shell blocks of README.md and docs/ runs and exits 0,
    in the page's order, as a reader on a fresh machine would run them: this installation's
    shipper, a private home, config file and cache, and a real collector where the page
    names one."""
    home = tmp_path / "home"
    home.mkdir()
    bindir = str(Path(sys.executable).parent)
    env = child_env(tmp_path / "cache", HOME=str(home),
                    SHIPPER_CONFIG=str(home / ".config" / "shipper" / "config.toml"),
                    PATH=bindir + os.pathsep + os.environ.get("PATH", ""))
    exports = ""
    for written in commands:
        command = re.sub(r"http://127\.0\.0\.1:(8053|8080)", collector.url, written)
        if command.startswith("export "):
            exports += command + "; "
            continue
        if command.startswith("shipper serve"):
            serve_started(command, env, tmp_path)
            continue
        out = subprocess.run(["sh", "-c", exports + command], env=env, cwd=tmp_path,
                             capture_output=True, text=True, timeout=120, check=False)
        assert out.returncode == 0, f"{page}: `{command}` exited {out.returncode}:\n" \
                                    f"{out.stdout}\n{out.stderr}"


def test_the_readme_links_work_on_the_package_index() -> None:
    """README.md is the wheel's long description: its links are absolute (a relative
    docs/... link breaks on the package index)."""
    links = re.findall(r"\]\(([^)]+)\)", (ROOT / "README.md").read_text())
    assert links
    relative = [link for link in links if not re.match(r"https://|#", link)]
    assert relative == []
