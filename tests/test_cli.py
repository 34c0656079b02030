"""The command line: argument handling in-process, the hook path as real processes."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shipper._cache._spool import Spool
from shipper._cli._main import main
from shipper._config import load_settings

from .conftest import Collector, child_env, events_on_disk


def test_emit_records_properties(cache_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """emit parses KEY=VALUE as JSON where it can, merges --props-json, prints nothing by
    default."""
    assert main(["emit", "deploy", "-p", "n=3", "-p", "env=prod",
                 "--props-json", '{"ok": true}']) == 0
    assert capsys.readouterr().out == ""
    (doc,) = events_on_disk(cache_dir)
    assert doc["event"] == "deploy"
    assert doc["properties"] == {"n": 3, "env": "prod", "ok": True}


def test_emit_print_id(cache_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--print-id prints the recorded event's id."""
    assert main(["emit", "x", "--print-id"]) == 0
    assert capsys.readouterr().out.strip() == events_on_disk(cache_dir)[0]["id"]


def test_emit_user_id_says_who_did_it(cache_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    """--user-id ID records the event as that user's, over the user_id setting; an empty one
    is a usage error, nothing recorded."""
    monkeypatch.setenv("SHIPPER_USER_ID", "setting-user")
    assert main(["emit", "deploy", "--user-id", "u-42"]) == 0
    assert main(["emit", "deploy", "--user-id=u-43"]) == 0
    assert main(["emit", "deploy"]) == 0
    users = sorted(doc["context"]["user_id"] for doc in events_on_disk(cache_dir))
    assert users == ["setting-user", "u-42", "u-43"]
    assert main(["emit", "deploy", "--user-id", " "]) == 2
    assert "--user-id: must not be empty" in capsys.readouterr().err
    assert len(events_on_disk(cache_dir)) == 3


@pytest.mark.parametrize("argv", [["emit"], ["emit", "x", "-p", "novalue"],
                                  ["emit", "x", "--json", "[1]"], ["emit", "x", "--json", "{"],
                                  ["emit", "x", "--props-json", "7"], ["emit", "x", "y"],
                                  ["emit", "x", "--props-json"], ["emit", "x", "--bogus"],
                                  ["nonsense"], [], ["sync", "--timeout", "soon"]])
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Bad arguments exit with status 2 and say why on stderr."""
    assert main(argv) == 2
    assert capsys.readouterr().err


def test_sync_without_endpoint_is_a_configuration_error(capsys: pytest.CaptureFixture[str]) -> None:
    """sync with no endpoint exits 2 and names the missing setting."""
    assert main(["sync"]) == 2
    assert "SHIPPER_ENDPOINT" in capsys.readouterr().err


def test_unreadable_config_exits_2(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    """A config file that is not TOML makes commands exit 2 with a clear message."""
    bad = tmp_path / "bad.toml"
    bad.write_text("endpoint = ")
    monkeypatch.setenv("SHIPPER_CONFIG", str(bad))
    assert main(["sync"]) == 2
    assert "not valid TOML" in capsys.readouterr().err


def test_status_json_has_contract_keys(cache_dir: Path, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """status --json has every key the contract lists, and never the API key."""
    monkeypatch.setenv("SHIPPER_ENDPOINT", "http://user:pw@127.0.0.1:9/base")
    monkeypatch.setenv("SHIPPER_API_KEY", "sk-live-secret")
    main(["emit", "a"])
    main(["emit", "b"])
    capsys.readouterr()
    assert main(["status", "--json"]) == 0
    out = capsys.readouterr().out
    st = json.loads(out)
    for key in ("endpoint", "cache_dir", "pending_events", "pending_bytes",
                "oldest_pending_age_s", "dead_letter_events", "quarantined_files", "breaker",
                "health"):
        assert key in st
    assert st["pending_events"] == 2 and st["pending_bytes"] > 0
    assert st["breaker"]["state"] in ("closed", "open", "half_open")
    assert set(st["health"]) >= {"healthy", "checked_at"}
    assert st["endpoint"] == "http://127.0.0.1:9/base"
    assert "sk-live-secret" not in out and "pw" not in st["endpoint"]


@pytest.mark.parametrize("state", [
    '{"breaker": {"failures": 3, "opened_mono": 1, "cooldown": Infinity, "reason": "x"}}',
    '{"breaker": {"failures": 3, "opened_mono": NaN, "cooldown": 30}}',
    '{"health": {"healthy": false, "checked_mono": 1, "checked_wall": 1e300}}',
    '{"health": {"healthy": true, "checked_mono": 1e308, "checked_wall": -1}}',
    '[1, 2]', '{"breaker": "open"}',
])
def test_status_survives_a_hostile_state_file(cache_dir: Path, state: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """A state.json with infinities, NaN or absurd times never crashes status (text or
    JSON); it reads as no knowledge."""
    main(["emit", "a"])
    (cache_dir / "state.json").write_text(state)
    capsys.readouterr()
    assert main(["status"]) == 0
    assert "pending:    1 event" in capsys.readouterr().out
    assert main(["status", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["breaker"]["state"] == "closed" and doc["health"]["healthy"] is None


def test_status_text_explains_a_missing_endpoint(capsys: pytest.CaptureFixture[str]) -> None:
    """The human status says events wait because no endpoint is set."""
    main(["emit", "a"])
    capsys.readouterr()
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "pending:    1 event" in out and "no endpoint is set" in out


def test_prune_dry_run_and_real(cache_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """prune --dry-run lists, prune removes; fractional limits work; --json for scripts."""
    Spool(cache_dir).write([b'{"id":"old"}'], written_ms=0)
    main(["emit", "new"])
    capsys.readouterr()
    assert main(["prune", "--max-age", "0.5", "--dry-run", "--json"]) == 0
    dry = json.loads(capsys.readouterr().out)
    assert dry["events"] == 1 and dry["dry_run"]
    assert len(events_on_disk(cache_dir)) == 2
    assert main(["prune", "--max-age", "0.5"]) == 0
    assert "removed 1 event" in capsys.readouterr().out
    assert [e["event"] for e in events_on_disk(cache_dir)] == ["new"]


def test_sync_json_reports_counts(collector: Collector, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    """sync --json delivers and prints machine-readable counts; exit 0 when nothing is left."""
    monkeypatch.setenv("SHIPPER_ENDPOINT", collector.url)
    monkeypatch.setenv("SHIPPER_HEALTH_TTL", "0")  # keep emit from starting background syncs
    for i in range(3):
        Spool(Path(os.environ["SHIPPER_CACHE_DIR"])).write([json.dumps(
            {"id": f"i{i}", "event": "e"}).encode()])
    assert main(["sync", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["delivered"] == 3 and result["pending_events"] == 0 and result["ok"]


def test_sync_against_down_service_exits_1(down_collector: Collector,
                                           monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """sync exits 1 while events remain because the service is down."""
    monkeypatch.setenv("SHIPPER_ENDPOINT", down_collector.url)
    Spool(Path(os.environ["SHIPPER_CACHE_DIR"])).write([b'{"id":"x","event":"e"}'])
    assert main(["sync", "--timeout", "3"]) == 1
    assert "1 pending" in capsys.readouterr().err


def test_doctor_points_at_the_problem(down_collector: Collector, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    """doctor exits 1 and says what to fix when the endpoint is unreachable, 0 when fine."""
    assert main(["doctor"]) == 1
    assert "no endpoint is set" in capsys.readouterr().out
    monkeypatch.setenv("SHIPPER_ENDPOINT", down_collector.url)
    assert main(["doctor"]) == 1
    assert "cannot reach" in capsys.readouterr().out
    down_collector.start()
    assert main(["doctor"]) == 0
    assert "all good" in capsys.readouterr().out


def test_version_and_help_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    """--version and --help succeed."""
    assert main(["--version"]) == 0
    assert main(["sync", "--help"]) == 0


# -- the hook path, as real processes --------------------------------------------------------

BAD_INPUTS = [
    b"", b"   ", b"not json", b"\xff\xfe\x00\x01", b"[1, 2, 3]", b'"a string"', b"null",
    b"{", b'{"hook_event_name": ', b"1e999999", b"[" * 100_000 + b"]" * 100_000,
    b'{"a": "' + b"x" * 3_000_000 + b'"}',
]


def run_hook(payload: bytes, cache: Path, *args: str,
             **env: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "shipper", "hook", *args], input=payload,
                          env=child_env(cache, **env), capture_output=True, timeout=60,
                          check=False)


@pytest.mark.parametrize("payload", BAD_INPUTS, ids=range(len(BAD_INPUTS)))
def test_hook_exits_0_silently_on_bad_input(payload: bytes, tmp_path: Path) -> None:
    """Whatever arrives on stdin, the hook exits 0 and writes nothing on stdout."""
    out = run_hook(payload, tmp_path / "c", "--source", "claude-code")
    assert out.returncode == 0 and out.stdout == b""


def test_hook_with_bad_arguments_still_exits_0(tmp_path: Path) -> None:
    """An unknown flag or source does not block the agent: exit 0, nothing on stdout."""
    out = run_hook(b"{}", tmp_path / "c", "--source", "vim", "--bogus")
    assert out.returncode == 0 and out.stdout == b""


def test_hook_with_unwritable_cache_still_exits_0(tmp_path: Path) -> None:
    """A cache path through a regular file: the hook still exits 0 quietly."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    out = run_hook(b'{"hook_event_name":"Stop"}', blocker / "cache", "--source", "claude-code")
    assert out.returncode == 0 and out.stdout == b""


def test_hook_that_never_gets_eof_gives_up(tmp_path: Path) -> None:
    """If stdin never closes, the hook gives up within its budget and exits 0."""
    proc = subprocess.Popen([sys.executable, "-m", "shipper", "hook"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, env=child_env(tmp_path / "c"))
    try:
        assert proc.wait(timeout=30) == 0
        assert proc.stdout is not None and proc.stdout.read() == b""
    finally:
        proc.kill()
        if proc.stdin:
            proc.stdin.close()
        if proc.stdout:
            proc.stdout.close()


def test_hook_does_not_import_httpx_or_asyncio(tmp_path: Path) -> None:
    """The hook process records without importing httpx, asyncio, ssl, or (unless Python
    loaded them before us) typing, pathlib, argparse, logging."""
    code = (
        "import sys, io, os\n"
        "before = set(sys.modules)\n"
        "sys.stdin = io.TextIOWrapper(io.BytesIO(b'{\"hook_event_name\":\"Stop\"}'))\n"
        "real = os.fdopen(os.dup(1), 'w')\n"
        "from shipper._cli._main import main\n"
        "main(['hook', '--source', 'claude-code'])  # as the process, it would end here\n"
        "heavy = [m for m in ('httpx', 'httpcore', 'asyncio', 'ssl', 'anyio', 'typing',\n"
        "                     'pathlib', 'argparse', 'logging', 'platformdirs', 'orjson')\n"
        "         if m in sys.modules and m not in before]\n"
        "real.write('heavy:' + ','.join(heavy))\n"
        "real.flush()\n"
    )
    env = child_env(tmp_path / "c", SHIPPER_ENDPOINT="http://127.0.0.1:9")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=60,
                         check=True)
    assert out.stdout == b"heavy:"
    assert len(events_on_disk(tmp_path / "c")) == 1


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_hook_fuzz_any_bytes(tmp_path_factory: pytest.TempPathFactory, payload: bytes) -> None:
    """Random bytes on stdin: exit 0, empty stdout, every time."""
    cache = tmp_path_factory.mktemp("fuzz")
    out = run_hook(payload, cache, "--source", "cursor")
    assert out.returncode == 0 and out.stdout == b""


def test_doctor_reports_a_broken_config_as_a_finding(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """A bad config value is something to fix (exit 1), named in the report."""
    monkeypatch.setenv("SHIPPER_BATCH_SIZE", "lots")
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "SHIPPER_BATCH_SIZE" in out and "FIX" in out


def test_sync_draws_a_progress_bar_on_a_terminal(collector: Collector, tmp_path: Path) -> None:
    """On a terminal, a large backlog gets a progress bar with counts and rate."""
    import pty

    cache = tmp_path / "c"
    spool = Spool(cache)
    for f in range(30):
        spool.write([json.dumps({"id": f"{f}-{i}", "event": "e"}).encode() for i in range(100)])
    leader, follower = pty.openpty()
    try:
        out = subprocess.run([sys.executable, "-m", "shipper", "sync"], stderr=follower,
                             stdout=subprocess.DEVNULL,
                             env=child_env(cache, SHIPPER_ENDPOINT=collector.url),
                             timeout=120, check=False)
        os.close(follower)
        follower = -1
        seen = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(leader)
        if follower >= 0:
            os.close(follower)
    assert out.returncode == 0
    text = seen.decode()
    assert "3,000/3,000 events" in text and "/s" in text and "[####" in text
    assert "delivered 3000 event(s)" in text


# -- the command line a person expects ------------------------------------------------------


def run_cli(cache: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shipper", *args], env=child_env(cache, **env),
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize(("argv", "usage", "error"), [
    (["nonsense"], "usage: shipper [", "shipper: error: argument COMMAND: invalid choice"),
    (["sync", "--timeout", "soon"], "usage: shipper sync ",
     "shipper sync: error: argument --timeout: invalid float value: 'soon'"),
    (["prune", "--bogus"], "usage: shipper prune ",
     "shipper prune: error: unrecognized arguments: --bogus"),
    (["hooks", "install"], "usage: shipper hooks install ",
     "shipper hooks install: error: the following arguments are required: TOOL"),
    (["serve", "--port", "99999"], "usage: shipper serve ",
     "shipper serve: error: argument --port: '99999' is not a port"),
    (["emit"], "usage: shipper emit ",
     "shipper emit: error: the following arguments are required: EVENT"),
    (["emit", "x", "--bogus"], "usage: shipper emit ",
     "shipper emit: error: unrecognized arguments: --bogus"),
    (["emit", "x", "--props-json", "[1]"], "usage: shipper emit ",
     "shipper emit: error: argument --props-json: must be a JSON object"),
], ids=lambda v: " ".join(v) if isinstance(v, list) else "")
def test_usage_errors_print_the_usage_line_then_the_error(tmp_path: Path, argv: list[str],
                                                          usage: str, error: str) -> None:
    """A usage error prints the command's usage line, then `shipper X: error: ...`, on
    stderr, and exits 2 with nothing on stdout and no traceback."""
    out = run_cli(tmp_path / "c", *argv)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.startswith(usage)
    assert out.stderr.splitlines()[-1].startswith(error)
    assert "Traceback" not in out.stderr


def test_emit_usage_line_is_the_one_its_help_shows(capsys: pytest.CaptureFixture[str]) -> None:
    """emit's hand-parsed usage errors show the same usage line as `shipper emit --help`,
    which lists --props-json and not its hidden old name --json (which means output
    elsewhere)."""
    assert main(["emit", "--help"]) == 0
    helped = capsys.readouterr().out
    assert main(["emit", "x", "-p", "novalue"]) == 2
    err = capsys.readouterr().err
    usage = helped.split("\n\n")[0]
    assert err == f"{usage}\nshipper emit: error: property 'novalue' is not KEY=VALUE\n"
    assert "--props-json OBJECT" in helped and "--json" not in helped


def test_emit_json_still_works_as_the_old_name(cache_dir: Path) -> None:
    """--json OBJECT, the old name of --props-json (and the contract's), still works."""
    assert main(["emit", "a", "--json", '{"n": 1}']) == 0
    assert main(["emit", "b", "--json={\"n\": 2}"]) == 0
    assert sorted(e["properties"]["n"] for e in events_on_disk(cache_dir)) == [1, 2]


def test_quiet_before_the_command_is_kept(collector: Collector, cache_dir: Path,
                                          monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """`shipper -q emit` records and `shipper -q sync` prints no summary: -q counts before
    the command as after it."""
    monkeypatch.setenv("SHIPPER_ENDPOINT", collector.url)
    monkeypatch.setenv("SHIPPER_HEALTH_TTL", "0")  # keep emit from starting background syncs
    assert main(["-q", "emit", "x"]) == 0
    assert len(events_on_disk(cache_dir)) == 1
    assert main(["-q", "sync"]) == 0
    assert capsys.readouterr().err == ""


DEBUG_COMMANDS = [["--debug", "status"], ["status", "--debug"], ["--debug", "emit", "x"],
                  ["emit", "x", "--debug"], ["--debug", "-q", "emit", "x"],
                  ["--debug", "prune", "--dry-run"], ["requeue", "--dry-run", "--debug"],
                  ["--debug", "doctor"], ["--debug", "sync"]]


@pytest.mark.parametrize("argv", DEBUG_COMMANDS, ids=" ".join)
def test_debug_flag_turns_the_debug_setting_on(argv: list[str], collector: Collector,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """--debug, before the command or after it, resolves that command's settings with
    debug on; without it, debug stays off."""
    from shipper import _sync
    from shipper._cli import _main

    monkeypatch.setenv("SHIPPER_ENDPOINT", collector.url)
    monkeypatch.setenv("SHIPPER_HEALTH_TTL", "0")  # keep emit from starting background syncs
    resolved: list[bool] = []

    def spy(overrides: Any = None, **kw: Any) -> Any:
        settings = load_settings(overrides, **kw)
        resolved.append(settings.debug)
        return settings

    monkeypatch.setattr(_main, "load_settings", spy)
    monkeypatch.setattr(_sync, "load_settings", spy)
    assert main(argv) in (0, 1)
    assert resolved and all(resolved)
    resolved.clear()
    assert main([a for a in argv if a != "--debug"]) in (0, 1)
    assert resolved and not any(resolved)


@pytest.mark.parametrize("flag", ["-q", "--debug"])
def test_global_flag_before_hook_is_ignored(tmp_path: Path, flag: str) -> None:
    """`shipper -q hook` and `shipper --debug hook` record the payload as `shipper hook`
    does: exit 0, nothing on stdout or stderr."""
    cache = tmp_path / "c"
    out = subprocess.run([sys.executable, "-m", "shipper", flag, "hook", "--source", "generic"],
                         input=b'{"hook_event_name": "Stop"}', env=child_env(cache),
                         capture_output=True, timeout=60, check=False)
    assert (out.returncode, out.stdout, out.stderr) == (0, b"", b"")
    assert len(events_on_disk(cache)) == 1


def test_serve_on_a_port_in_use_says_so_in_one_line(tmp_path: Path) -> None:
    """serve on a port another program listens on: one line naming the port and --port,
    exit 1, no traceback."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = run_cli(tmp_path / "c", "serve", "--port", str(port), "--out",
                      str(tmp_path / "ev.jsonl"))
    assert out.returncode == 1
    assert out.stderr == (f"shipper serve: port {port} on 127.0.0.1 is in use; pick another "
                          "with --port\n")


@pytest.mark.parametrize(("host", "said"), [
    ("192.0.2.1", "it is not an address of this machine"),  # TEST-NET-1: nobody's address
    ("::1", "the collector listens on IPv4 only"),
])
def test_serve_on_an_address_it_cannot_bind_says_so(tmp_path: Path, host: str,
                                                    said: str) -> None:
    """serve on an address that is not this machine's: one line saying why and what
    --host to use, exit 1, no traceback."""
    out = run_cli(tmp_path / "c", "serve", "--host", host, "--port", "0", "--out",
                  str(tmp_path / "ev.jsonl"))
    assert out.returncode == 1
    (line,) = out.stderr.splitlines()
    assert line.startswith(f"shipper serve: cannot listen on {host}: {said}")
    assert "--host 127.0.0.1" in line


def test_serve_without_permission_for_a_port_says_so() -> None:
    """A port the user may not listen on (below 1024, not root) is named with what to do."""
    import errno

    from shipper._cli._serve import cannot_listen

    line = cannot_listen("127.0.0.1", 80, PermissionError(errno.EACCES, "Permission denied"))
    assert "not allowed to listen on port 80" in line and "--port" in line


@pytest.fixture
def misspelt_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "config.toml"
    config.write_text('endpont = "http://127.0.0.1:9"\nhealth_ttl = 0\n')
    monkeypatch.setenv("SHIPPER_CONFIG", str(config))
    return config


@pytest.mark.parametrize("argv", [["emit", "x"], ["status"], ["prune", "--dry-run"],
                                  ["requeue", "--dry-run"], ["sync", "--timeout", "5"]],
                         ids=" ".join)
def test_misspelt_config_key_is_warned_once_with_a_suggestion(
        misspelt_config: Path, down_collector: Collector, tmp_path: Path,
        argv: list[str]) -> None:
    """A config file key that is no setting is warned about exactly once on stderr, with the
    key it most likely meant (sync resolves its settings twice); -q silences it."""
    env = {"SHIPPER_ENDPOINT": down_collector.url} if argv[0] == "sync" else {}
    out = run_cli(tmp_path / "c", *argv, **env)
    warned = [line for line in out.stderr.splitlines() if "'endpont'" in line]
    assert warned == ["shipper: ignoring unknown config file key 'endpont' "
                      "(did you mean 'endpoint'?)"]
    assert "'endpont'" not in run_cli(tmp_path / "c", "-q", *argv, **env).stderr


def test_doctor_reports_unknown_config_keys_and_variables(
        misspelt_config: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """doctor names a misspelt config key and an unknown SHIPPER_* variable as things to
    fix, each with the name meant (not the known names that are no setting); it does not
    also warn about them on stderr."""
    monkeypatch.setenv("SHIPPER_ENDPONT", "http://127.0.0.1:9")
    monkeypatch.setenv("SHIPPER_NONSENSE", "1")
    monkeypatch.setenv("SHIPPER_SERVE_API_KEY", "not-a-setting-but-known")
    monkeypatch.setenv("SHIPPER_HOOK_PAYLOAD", "{}")  # the opencode plugin's, also known
    assert main(["doctor"]) == 1
    captured = capsys.readouterr()
    out = captured.out
    assert "FIX   config file key 'endpont' is not a setting" in out
    assert "did you mean 'endpoint'?" in out and "rename it to 'endpoint'" in out
    assert "FIX   environment variable SHIPPER_ENDPONT is not a setting" in out
    assert "did you mean SHIPPER_ENDPOINT?" in out
    assert "SHIPPER_NONSENSE is not a setting, so it is ignored\n" in out
    assert "SHIPPER_SERVE_API_KEY" not in out and "SHIPPER_HOOK_PAYLOAD" not in out
    assert "endpont" not in captured.err


def test_doctor_json_has_the_findings_and_the_exit_status(
        down_collector: Collector, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """doctor --json prints one JSON object (ok, config_file, checks with status, message
    and fix) and exits 1 while something is to fix, 0 once all is well."""
    monkeypatch.setenv("SHIPPER_ENDPOINT", down_collector.url)
    assert main(["doctor", "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is False and doc["config_file"] == os.environ["SHIPPER_CONFIG"]
    fixes = [c for c in doc["checks"] if c["status"] == "fix"]
    assert fixes and "cannot reach" in fixes[0]["message"] and fixes[0]["fix"]
    down_collector.start()
    assert main(["doctor", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is True and doc["problems"] == 0
    assert {c["status"] for c in doc["checks"]} == {"ok"}
    assert all(set(c) == {"status", "message", "fix"} for c in doc["checks"])


def test_doctor_json_reports_a_broken_config(monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """A bad config value is a finding in doctor --json too: exit 1, stdout only JSON."""
    monkeypatch.setenv("SHIPPER_BATCH_SIZE", "lots")
    assert main(["doctor", "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert not doc["ok"] and "SHIPPER_BATCH_SIZE" in doc["checks"][-1]["message"]


@pytest.mark.parametrize("flag", ["-V", "--version"])
def test_version_flag_prints_the_version(tmp_path: Path, flag: str) -> None:
    """-V and --version print `shipper VERSION` on stdout and exit 0."""
    from shipper import __version__

    out = run_cli(tmp_path / "c", flag)
    assert (out.returncode, out.stdout) == (0, f"shipper {__version__}\n")


def test_hook_help_prints_help_and_records_nothing(tmp_path: Path) -> None:
    """`shipper hook --help` prints its usage on stderr (stdout stays empty, as for every
    hook), exits 0 and records no event."""
    cache = tmp_path / "c"
    out = run_cli(cache, "hook", "--help")
    assert out.returncode == 0 and out.stdout == ""
    assert out.stderr.startswith("usage: shipper hook")
    assert events_on_disk(cache) == []


@pytest.mark.parametrize("argv", [["status"], ["status", "--json"], ["emit", "x", "--print-id"],
                                  ["--help"]])
def test_a_reader_that_went_away_is_no_internal_error(tmp_path: Path, argv: list[str]) -> None:
    """`shipper status | head` with the reader gone: no traceback, no "internal error", and
    the exit status a shell gives a command SIGPIPE ended (or 0 when nothing was written)."""
    read, write = os.pipe()
    os.close(read)  # every write to the pipe now fails with EPIPE
    try:
        out = subprocess.run([sys.executable, "-m", "shipper", *argv], stdout=write,
                             stderr=subprocess.PIPE, text=True, timeout=120, check=False,
                             env=child_env(tmp_path / "c"))
    finally:
        os.close(write)
    assert "Traceback" not in out.stderr and "internal error" not in out.stderr, out.stderr
    assert "Exception ignored" not in out.stderr, out.stderr
    assert out.returncode in (0, 141, 2)


def test_no_stdout_at_all_is_no_crash(tmp_path: Path) -> None:
    """With stdout closed (`>&-`), emit records once and exits 0, status exits 0: no
    traceback (a caller retrying a failed emit would record it twice)."""
    cache = tmp_path / "c"
    for argv in (["emit", "x"], ["status"]):
        command = shlex.join([sys.executable, "-m", "shipper", *argv]) + " >&-"
        out = subprocess.run(["sh", "-c", command], stderr=subprocess.PIPE, text=True,
                             timeout=120, check=False, env=child_env(cache))
        assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr
    assert len(events_on_disk(cache)) == 1


@pytest.mark.parametrize("argv", [["-qq", "emit", "x"], ["emit", "x", "-qq"],
                                  ["--debug", "-q", "emit", "x"]])
def test_global_flags_in_any_spelling_argparse_takes(cache_dir: Path, argv: list[str]) -> None:
    """-qq (bundled) before or after emit records the event like -q does."""
    assert main(argv) == 0
    assert len(events_on_disk(cache_dir)) == 1


@pytest.mark.parametrize("argv", [["--qui", "emit", "x"], ["--deb", "status"],
                                  ["status", "--js"]])
def test_abbreviated_flags_are_usage_errors(argv: list[str],
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """No abbreviations: a shortened flag is a usage error (exit 2), never an internal
    error or another flag."""
    assert main(argv) == 2
    assert "internal error" not in capsys.readouterr().err


def test_emit_keeps_non_json_numbers_as_text(cache_dir: Path) -> None:
    """-p a=NaN, a=Infinity, a=1e999 are not JSON: kept as the text given, not sent as
    null; --props-json holding one is not a JSON object (exit 2)."""
    assert main(["emit", "x", "-p", "a=NaN", "-p", "b=-Infinity", "-p", "c=1e999",
                 "-p", "d=1.5"]) == 0
    (doc,) = events_on_disk(cache_dir)
    assert doc["properties"] == {"a": "NaN", "b": "-Infinity", "c": "1e999", "d": 1.5}
    assert main(["emit", "y", "--props-json", '{"a": -Infinity}']) == 2
