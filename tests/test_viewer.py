"""`shipper serve` as a store and viewer, end to end: real serve processes on loopback, real
hook processes, OTLP logs over HTTP, the JSON API and the `events` / `sessions` commands."""

from __future__ import annotations

import gzip
import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import shipper
from shipper._cli._serve import MAX_INFLATED, make_server
from shipper._event import rfc3339_ms

from .conftest import child_env, free_port, pending_events, serving, wait_for
from .viewing import (
    SESSION,
    Serve,
    api_request_record,
    native,
    otlp_logs,
    record_agent_session,
)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    s = Serve(tmp_path)
    s.start()
    yield s
    s.stop()


def test_a_batch_sent_again_after_a_restart_is_stored_once(tmp_path: Path) -> None:
    """Restart serve (killed, not stopped) and send the same batch again: the store holds
    each id once, the answer says none was new, and the --out copy has each id once."""
    out = tmp_path / "copy.jsonl"
    serve = Serve(tmp_path, "--out", str(out))
    serve.start()
    batch = {"batch": [native(1), native(2), native(3)], "sent_at": rfc3339_ms(time.time())}
    try:
        assert serve.post("/v1/batch", json=batch).json() == {"accepted": 3, "new": 3}
        serve.stop(signal.SIGKILL)
        serve.start()
        again = {"batch": [*batch["batch"], native(4)], "sent_at": batch["sent_at"]}
        assert serve.post("/v1/batch", json=again).json() == {"accepted": 4, "new": 1}
        ids = [e["id"] for e in serve.get("/api/events", limit=100)["events"]]
        assert sorted(ids) == sorted(native(i)["id"] for i in (1, 2, 3, 4))
        assert serve.get("/api/names")["total"] == 4
    finally:
        serve.stop()
    lines = [json.loads(line)["id"] for line in out.read_text().splitlines()]
    assert sorted(lines) == sorted(native(i)["id"] for i in (1, 2, 3, 4))


def test_hook_events_and_otlp_logs_make_one_session(serve: Serve, tmp_path: Path) -> None:
    """Real hook processes and the agent's OTLP logs (JSON, gzipped JSON, protobuf) with
    the same session id land in one session: its tool calls, its failure, the time between
    a tool's before and after, and the tokens and cost only the telemetry knows."""
    record_agent_session(tmp_path / "cache", serve.url)
    assert wait_for(lambda: serve.get("/api/names")["total"] >= 7, timeout=60)
    plain = otlp_logs([api_request_record(SESSION, 0.012, 1000)])
    assert serve.post("/v1/logs", json=plain).json() == {}
    zipped = gzip.compress(json.dumps(otlp_logs([api_request_record(SESSION, 0.02, 500)]))
                           .encode())
    assert serve.post("/v1/logs", content=zipped, headers={
        "Content-Type": "application/json", "Content-Encoding": "gzip"}).status_code == 200
    from google.protobuf import json_format
    from opentelemetry.proto.collector.logs.v1 import logs_service_pb2

    message = json_format.ParseDict(otlp_logs([api_request_record(SESSION, 0.1, 2000)]),
                                    logs_service_pb2.ExportLogsServiceRequest())
    answer = serve.post("/v1/logs", content=message.SerializeToString(),
                        headers={"Content-Type": "application/x-protobuf"})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/x-protobuf"
    detail = serve.get(f"/api/sessions/{SESSION}")
    s = detail["session"]
    assert (s["source"], s["prompts"], s["tool_calls"], s["failures"]) == ("claude-code", 1,
                                                                           2, 1)
    assert s["started"] and s["ended"] and s["project"] == "~/work/demo-project"
    assert (s["tokens_in"], s["api_calls"]) == (3500, 3)
    assert s["cost_usd"] == pytest.approx(0.132)
    tools = [i for i in detail["timeline"] if i["kind"] == "tool"]
    assert [(t["tool"], t["ok"]) for t in tools] == [("Bash", True), ("Edit", False)]
    assert all(t["duration_ms"] is not None and t["duration_ms"] >= 0 for t in tools)
    assert tools[1]["error"] is None or "changed" in tools[1]["error"]
    (listed,) = serve.get("/api/sessions")["sessions"]
    assert listed["session"] == SESSION


def test_the_api_filters_and_says_what_is_wrong(serve: Serve) -> None:
    """/api/events filters by source, event, session and time, /api/sessions by session; a
    bad time or limit is a 400 with the reason; /api/counts splits by tool."""
    now = time.time()
    events = [native(1, "a.b", now - 7200, tool_name="Bash", session_id="s1"),
              native(2, "a.b", now - 60, tool_name="Read", session_id="s2"),
              native(3, "c.d", now - 30, session_id="s1")]
    serve.post("/v1/batch", json={"batch": events})
    got = serve.get("/api/events", event="a.b", since="1h")["events"]
    assert [e["id"] for e in got] == [events[1]["id"]]
    got = serve.get("/api/events", session="s1")["events"]
    assert [e["id"] for e in got] == [events[2]["id"], events[0]["id"]]
    assert serve.get("/api/events", source="nobody")["events"] == []
    (only,) = serve.get("/api/sessions", session="s2")["sessions"]
    assert (only["session"], only["events"]) == ("s2", 1)
    for params in ({"since": "yesterday-ish"}, {"limit": "0"}, {"before": "x"}):
        answer = httpx.get(serve.url + "/api/events", params=params, timeout=10)
        assert answer.status_code == 400 and answer.json()["error"]
    counts = serve.get("/api/counts", by="tool", since="3h")
    assert {k: sum(v) for k, v in counts["series"].items()} == {"Bash": 1, "Read": 1,
                                                                "(none)": 1}


def test_shippers_own_otlp_destination_can_target_serve(serve: Serve,
                                                         cache_dir: Path) -> None:
    """`destination = "otlp"` pointed at serve delivers there, ids unchanged."""
    with shipper.Shipper(destination="otlp", endpoint=serve.url, flush_interval=0.05,
                         shutdown_timeout=10) as s:
        ids = [s.track("otlp.event", {"n": i}) for i in range(5)]
    stored = {e["id"]: e for e in serve.get("/api/events", limit=100)["events"]}
    assert set(stored) == set(ids)
    assert all(e["event"] == "otlp.event" for e in stored.values())


def test_metrics_traces_and_a_single_url_exporter_are_answered(serve: Serve) -> None:
    """Metrics and traces are acknowledged with a partial success saying they are not
    kept; OTLP logs posted to / (an exporter given one URL for every signal) are taken."""
    metrics = {"resourceMetrics": [{"scopeMetrics": [{"metrics": [
        {"name": "x", "gauge": {"dataPoints": [{"asDouble": 1.0}]}}]}]}]}
    answer = serve.post("/v1/metrics", json=metrics).json()
    assert answer["partialSuccess"]["rejectedDataPoints"] == 1
    assert "logs only" in answer["partialSuccess"]["errorMessage"]
    record = {"timeUnixNano": str(time.time_ns()), "eventName": "gemini_cli.user_prompt",
              "attributes": [{"key": "session.id", "value": {"stringValue": "g1"}}]}
    assert serve.post("/", json=otlp_logs([record], "gemini-cli")).status_code == 200
    assert serve.post("/", json={"hello": 1}).status_code == 404
    (event,) = serve.get("/api/events", session="g1")["events"]
    assert (event["event"], event["source"]) == ("gemini_cli.user_prompt", "gemini")


def test_the_otlp_intake_is_bounded_like_the_native_one(tmp_path: Path) -> None:
    """/v1/logs refuses a body over the cap (413), a gzip bomb (413), JSON nested too deep
    (400), protobuf that is not OTLP (400) and an unknown encoding (415), and keeps
    serving."""
    with serving(make_server("127.0.0.1", 0, max_body=100_000,
                             request_deadline=5.0)) as url:
        logs = url + "/v1/logs"
        big = json.dumps(otlp_logs([{"body": {"stringValue": "x" * 200_000}}])).encode()
        assert httpx.post(logs, content=big, timeout=30,
                          headers={"Content-Type": "application/json"}).status_code == 413
        bomb = gzip.compress(b" " * (MAX_INFLATED + 1024), compresslevel=9)
        assert len(bomb) < 100_000
        answer = httpx.post(logs, content=bomb, timeout=30,
                            headers={"Content-Encoding": "gzip",
                                     "Content-Type": "application/json"})
        assert answer.status_code == 413
        deep = b'{"resourceLogs": ' + b"[" * 30_000 + b"]" * 30_000 + b"}"
        answer = httpx.post(logs, content=deep, timeout=30,
                            headers={"Content-Type": "application/json"})
        assert answer.status_code == 400
        answer = httpx.post(logs, content=b"\x0a\xff\xff\xff\xff\x0f garbage", timeout=30,
                            headers={"Content-Type": "application/x-protobuf"})
        assert answer.status_code == 400
        answer = httpx.post(logs, content=b"{}", timeout=30,
                            headers={"Content-Encoding": "br",
                                     "Content-Type": "application/json"})
        assert answer.status_code == 415
        assert httpx.post(logs, json=otlp_logs([{"eventName": "ok"}]),
                          timeout=30).status_code == 200


def test_reads_need_the_key_when_listening_beyond_loopback(tmp_path: Path) -> None:
    """Listening on every interface, /api/... needs the API key (401 without it, 403 when
    no key is set at all); the page itself holds no data and is served; on loopback, reads
    need no key while writes still do."""
    with serving(make_server("0.0.0.0", 0, api_key="k-123456")) as url:
        local = url.replace("0.0.0.0", "127.0.0.1")
        answer = httpx.get(local + "/api/events", timeout=10)
        assert answer.status_code == 401
        assert httpx.get(local + "/api/events", timeout=10,
                         headers={"Authorization": "Bearer k-123456"}).status_code == 200
        page = httpx.get(local + "/", timeout=10)
        assert page.status_code == 200 and "<title>shipper</title>" in page.text
    with serving(make_server("0.0.0.0", 0)) as url:
        local = url.replace("0.0.0.0", "127.0.0.1")
        assert httpx.get(local + "/api/sessions", timeout=10).status_code == 403
    with serving(make_server("127.0.0.1", 0, api_key="k-123456")) as url:
        assert httpx.get(url + "/api/events", timeout=10).status_code == 200
        assert httpx.post(url + "/v1/batch", json={"batch": [native(1)]},
                          timeout=10).status_code == 401


def test_the_page_is_self_contained_and_locked_down(serve: Serve) -> None:
    """GET / and its script and style come from serve itself (no other host named), under
    a Content-Security-Policy that allows only them."""
    page = httpx.get(serve.url + "/", timeout=10)
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    for path in ("/", "/viewer.js", "/viewer.css"):
        text = httpx.get(serve.url + path, timeout=10).text
        assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")
        assert "https://" not in text
    script = httpx.get(serve.url + "/viewer.js", timeout=10).text
    assert "innerHTML" not in script and "eval(" not in script


def test_serve_debug_prints_one_line_per_batch(tmp_path: Path) -> None:
    """`shipper serve --debug`: one line per batch received, with its counts."""
    serve = Serve(tmp_path, "--debug")
    serve.start()
    try:
        serve.post("/v1/batch", json={"batch": [native(1), native(2)]})
        serve.post("/v1/batch", json={"batch": [native(2)]})
        serve.post("/v1/logs", json=otlp_logs([api_request_record("s", 0.1, 10)]))
    finally:
        err = serve.stop(signal.SIGINT)
    lines = [line for line in err.splitlines() if "/v1/" in line]
    assert len(lines) == 3
    assert "2 event(s), 2 new, 0 duplicate(s)" in lines[0]
    assert "1 event(s), 0 new, 1 duplicate(s)" in lines[1]
    assert lines[2].split(" ", 1)[1].startswith("/v1/logs from 127.0.0.1")


def test_a_store_that_is_not_one_stops_serve_with_the_reason(tmp_path: Path) -> None:
    """serve given a damaged or foreign store exits 1 at once with the file and the reason
    (no crash loop, no traceback) and leaves the file as it was."""
    db = tmp_path / "events.db"
    db.write_bytes(b"SQLite format 3\x00" + os.urandom(8192))
    before = db.read_bytes()
    out = subprocess.run([sys.executable, "-m", "shipper", "serve", "--port",
                          str(free_port()), "--db", str(db)], env=child_env(),
                         capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 1
    assert out.stderr.startswith(f"shipper serve: {db}: ") and "Traceback" not in out.stderr
    assert db.read_bytes() == before


def test_keep_days_prunes_what_is_older(tmp_path: Path) -> None:
    """`--keep-days N` removes events older than N days when it starts (and hourly)."""
    serve = Serve(tmp_path)
    serve.start()
    old = native(1, ts=time.time() - 10 * 86400, session_id="old")
    serve.post("/v1/batch", json={"batch": [old, native(2)]})
    serve.stop()
    serve = Serve(tmp_path, "--keep-days", "7", db=serve.db)
    serve.start()
    try:
        assert wait_for(lambda: serve.get("/api/names")["total"] == 1, timeout=30)
        assert [e["id"] for e in serve.get("/api/events", since="30d")["events"]] == [
            native(2)["id"]]
        assert serve.get("/api/sessions", since="30d")["sessions"] == []
    finally:
        serve.stop()


def cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shipper", *args], env=child_env(**env),
                          capture_output=True, text=True, timeout=60, check=False)


def test_events_and_sessions_commands_ask_serve_or_read_the_store(serve: Serve,
                                                                  tmp_path: Path) -> None:
    """`shipper events` and `shipper sessions`: a table asked of the serve at the
    configured endpoint, the same read from the store with --db, JSON Lines with --json;
    a hostile event name cannot reach the terminal as an escape sequence."""
    record_agent_session(tmp_path / "cache", serve.url)
    hostile = native(9, "evil\x1b[2J\x1b]0;pwned\x07name")
    serve.post("/v1/batch", json={"batch": [hostile]})
    assert wait_for(lambda: serve.get("/api/names")["total"] >= 8, timeout=60)
    table = cli("events", "--session", SESSION, SHIPPER_ENDPOINT=serve.url)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["time", "source", "event", "session", "tool", "outcome"]
    assert len(lines) == 1 + 7 and "claude_code.PostToolUseFailure" in table.stdout
    assert "FAILED" in table.stdout
    everything = cli("events", "--json", "--limit", "100", SHIPPER_ENDPOINT=serve.url)
    assert "\x1b" not in cli("events", SHIPPER_ENDPOINT=serve.url).stdout
    rows = [json.loads(line) for line in everything.stdout.splitlines()]
    assert len(rows) == 8 and rows[0]["ts"] >= rows[-1]["ts"]
    assert any(r["event"] == hostile["event"] for r in rows)  # JSON keeps it exactly
    sessions = cli("sessions", "--json", "--db", str(serve.db))
    (one,) = [json.loads(line) for line in sessions.stdout.splitlines()]
    assert (one["session"], one["tool_calls"], one["failures"]) == (SESSION, 2, 1)
    table = cli("sessions", SHIPPER_ENDPOINT=serve.url)
    assert SESSION in table.stdout and "claude-code" in table.stdout
    since = cli("events", "--since", "1s", "--event", "page.view", "--db", str(serve.db))
    assert since.returncode == 0
    nobody = cli("events", SHIPPER_ENDPOINT=f"http://127.0.0.1:{free_port()}")
    assert nobody.returncode == 1 and "no shipper serve answers" in nobody.stderr
    assert cli("events", "--since", "soonish", "--db", str(serve.db)).returncode == 2


def test_events_follow_prints_what_arrives(serve: Serve) -> None:
    """`shipper events --follow` prints the latest, then each new event as it arrives."""
    serve.post("/v1/batch", json={"batch": [native(1, "first.event")]})
    with subprocess.Popen([sys.executable, "-m", "shipper", "events", "--follow", "--json"],
                          env=child_env(SHIPPER_ENDPOINT=serve.url), stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True) as proc:
        assert proc.stdout is not None
        stdout = proc.stdout
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(iter(stdout.readline, "")),
                                  daemon=True)
        reader.start()
        try:
            assert wait_for(lambda: len(lines) == 1, timeout=30)
            serve.post("/v1/batch", json={"batch": [native(2, "second.event")]})
            assert wait_for(lambda: len(lines) == 2, timeout=30)
            assert [json.loads(line)["event"] for line in lines] == ["first.event",
                                                                     "second.event"]
        finally:
            proc.send_signal(signal.SIGINT)
            assert proc.wait(30) == 0
            reader.join(10)


def test_the_store_is_the_default_and_the_json_lines_copy_is_optional(tmp_path: Path) -> None:
    """Without --db the store is events.db in the user data folder (private), and without
    --out no JSON Lines file appears in the working folder."""
    port = free_port()
    work = tmp_path / "work"
    work.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "shipper", "serve", "--port", str(port)],
                            env=child_env(), cwd=work, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        assert wait_for(lambda: _answers(url + "/health"), timeout=60)
        httpx.post(url + "/v1/batch", json={"batch": [native(1)]}, timeout=10)
        assert [e["id"] for e in httpx.get(url + "/api/events", timeout=10).json()[
            "events"]] == [native(1)["id"]]
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    store = Path(os.environ["XDG_DATA_HOME"]) / "shipper" / "events.db"
    assert store.exists() and stat.S_IMODE(store.stat().st_mode) == 0o600
    assert str(store) in err.decode()
    assert list(work.iterdir()) == []
    assert proc.returncode == 0


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_a_store_that_fails_under_serve_costs_no_event(tmp_path: Path,
                                                       cache_dir: Path) -> None:
    """When the store cannot take a batch, serve answers 503 with the reason: the sender
    keeps its events on disk and delivers them once the store works again."""
    server = make_server("127.0.0.1", 0, db=tmp_path / "events.db")
    with serving(server) as url:
        store = server.collector.store
        writer = store._writer
        store._writer = sqlite3.connect(":memory:", check_same_thread=False)  # no tables
        answer = httpx.post(url + "/v1/batch", json={"batch": [native(1)]}, timeout=10)
        assert answer.status_code == 503 and "the store cannot take events" in answer.text
        assert answer.headers["retry-after"] == "5"
        with shipper.Shipper(endpoint=url, max_retries=0, shutdown_timeout=1) as s:
            s.track("kept.event")
        assert pending_events(cache_dir) == 1
        store._writer.close()
        store._writer = writer
        assert shipper.sync(10, endpoint=url).pending_events == 0
        (event,) = httpx.get(url + "/api/events", timeout=10).json()["events"]
        assert event["event"] == "kept.event"
