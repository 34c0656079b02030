"""`shipper serve` against hostile or broken senders and web pages: one event never blocks
the rest, nothing it stores breaks the page's JSON, a small request cannot cost it gigabytes,
and a web page the user visits can neither read it nor write to it."""

from __future__ import annotations

import gzip
import json
import math
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from shipper._cli._intake import MAX_OBJECTS, MAX_RECORDS
from shipper._cli._serve import make_server

from .conftest import child_env, serving, shipper_cmd
from .viewing import otlp_logs

pytestmark = pytest.mark.security
JSON = {"Content-Type": "application/json"}


def strict_json(text: str) -> Any:
    """Parsed as a browser's JSON.parse would: NaN and Infinity are no JSON."""
    def refuse(name: str) -> None:
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


def stored(url: str) -> list[dict[str, Any]]:
    answer = httpx.get(url + "/api/events?limit=100", timeout=30)
    assert answer.status_code == 200
    return list(strict_json(answer.text)["events"])


def test_an_event_named_with_a_lone_surrogate_is_stored_with_the_rest(tmp_path: Path) -> None:
    """`shipper emit` of a name that is not UTF-8 (a lone surrogate in the event), and a
    timestamp of other digits: stored, with the rest of the cache (serve used to drop the
    connection, and nothing of that cache reached it again)."""
    with serving(make_server("127.0.0.1", 0)) as url:
        env = child_env(tmp_path / "cache", SHIPPER_ENDPOINT=url)
        for name in ("before", "bad-\udcff", "after"):
            assert shipper_cmd(env, "emit", name).returncode == 0
        answer = httpx.post(url + "/v1/batch", headers=JSON, content=json.dumps({"batch": [
            {"id": "odd-digits", "event": "e", "timestamp": "2026-01-01T00:00:0²"}]}))
        assert answer.status_code == 200
        done = shipper_cmd(env, "sync", "--timeout", "30")
        assert done.returncode == 0, done.stderr
        names = sorted(e["event"] for e in stored(url))
    assert names == ["after", "bad-?", "before", "e"]


def test_an_otlp_record_that_cannot_be_read_costs_only_itself() -> None:
    """An OTLP request with a 400-digit time and a record with a lone surrogate beside good
    records: the good ones are stored; the answer is a partial success, never a hang-up."""
    records = [{"eventName": "good-1"},
               {"eventName": "bad-time", "timeUnixNano": "9" * 400},
               {"eventName": "good-2", "attributes": [
                   {"key": "session.id", "value": {"stringValue": "s-\udcff"}}]}]
    with serving(make_server("127.0.0.1", 0)) as url:
        body = json.dumps(otlp_logs(records, service="svc-\udcff")).encode()
        answer = httpx.post(url + "/v1/logs", content=body, headers=JSON, timeout=30)
        assert answer.status_code == 200, answer.text
        names = sorted(e["event"] for e in stored(url))
    assert "good-1" in names and "good-2" in names


def test_numbers_that_are_not_finite_never_break_the_pages_json() -> None:
    """An OTLP double NaN or Infinity, a native property of 1e999: stored, and what the
    page reads stays JSON (null in their place), so the feed keeps loading."""
    with serving(make_server("127.0.0.1", 0)) as url:
        records = [{"eventName": "odd", "attributes": [
            {"key": "a", "value": {"doubleValue": "NaN"}},
            {"key": "b", "value": {"doubleValue": "Infinity"}}]}]
        assert httpx.post(url + "/v1/logs", json=otlp_logs(records)).status_code == 200
        batch = b'{"batch": [{"id": "big", "event": "big", "properties": {"n": 1e999}}]}'
        assert httpx.post(url + "/v1/batch", content=batch, headers=JSON).status_code == 200
        events = {e["event"]: e["doc"] for e in stored(url)}
    assert events["big"]["properties"]["n"] is None
    for value in events["odd"]["properties"].values():
        assert value is None or (isinstance(value, float) and math.isfinite(value))


def test_a_small_request_of_countless_items_is_refused_before_it_costs() -> None:
    """A few KiB of gzip inflating to hundreds of thousands of empty objects or records:
    413 before they are parsed (they used to cost serve about 500 MB per MiB)."""
    pytest.importorskip("opentelemetry.proto")
    from opentelemetry.proto.collector.logs.v1 import logs_service_pb2

    with serving(make_server("127.0.0.1", 0)) as url:
        many = b'{"batch": [' + b",".join([b"{}"] * (MAX_OBJECTS + 1)) + b"]}"
        answer = httpx.post(url + "/v1/batch", content=gzip.compress(many), timeout=60,
                            headers={**JSON, "Content-Encoding": "gzip"})
        assert answer.status_code == 413
        request = logs_service_pb2.ExportLogsServiceRequest()
        scope = request.resource_logs.add().scope_logs.add()
        for _ in range(MAX_RECORDS + 1):
            scope.log_records.add()
        answer = httpx.post(url + "/v1/logs", content=gzip.compress(
            request.SerializeToString()), timeout=60, headers={
            "Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"})
        assert answer.status_code == 413
        assert httpx.get(url + "/health").status_code == 200


def test_a_web_page_can_neither_read_nor_write_a_serve_on_loopback() -> None:
    """A request naming another host (DNS rebinding: a page's own name resolving to
    127.0.0.1) is refused, reads and writes alike; a cross-site form's text/plain post is
    refused (a page cannot send JSON elsewhere without asking first)."""
    with serving(make_server("127.0.0.1", 0)) as url:
        port = url.rsplit(":", 1)[1]
        rebound = {"Host": f"attacker.example:{port}"}
        assert httpx.get(url + "/api/events", headers=rebound).status_code == 421
        assert httpx.post(url + "/v1/batch", headers={**rebound, **JSON}, content=json.dumps(
            {"batch": [{"id": "x", "event": "x"}]})).status_code == 421
        form = httpx.post(url + "/v1/batch", headers={"Content-Type": "text/plain"},
                          content=json.dumps({"batch": [{"id": "y", "event": "y"}]}))
        assert form.status_code == 415
        assert httpx.get(url + "/api/events", headers={"Host": f"localhost:{port}"}
                         ).status_code == 200
        assert stored(url) == []


def test_control_endpoints_beyond_loopback_need_the_key() -> None:
    """`--control` on an address beyond loopback: its stats and faults need the key too."""
    server = make_server("0.0.0.0", 0, api_key="serve-key-1", control=True)
    with serving(server) as url:
        assert httpx.get(url + "/_control/stats").status_code == 401
        assert httpx.post(url + "/_control/faults", json={"status": 500}).status_code == 401
        key = {"Authorization": "Bearer serve-key-1"}
        assert httpx.get(url + "/_control/stats", headers=key).status_code == 200


def test_a_copy_that_cannot_be_written_stores_nothing_until_it_can(tmp_path: Path) -> None:
    """`--out` that cannot be appended to: the batch is answered 503 and not stored, so the
    sender's retry is stored and copied (an event stored but not copied would never have
    been copied: its retry is a duplicate)."""
    out = tmp_path / "copy.jsonl"
    out.mkdir()  # not a file: every append fails
    batch = {"batch": [{"id": "kept", "event": "e"}]}
    with serving(make_server("127.0.0.1", 0, out=out)) as url:
        assert httpx.post(url + "/v1/batch", json=batch).status_code == 503
        assert stored(url) == []
        out.rmdir()
        time.sleep(0)
        assert httpx.post(url + "/v1/batch", json=batch).status_code == 200
        assert [e["id"] for e in stored(url)] == ["kept"]
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == ["kept"]
