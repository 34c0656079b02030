"""What serve takes in (OTLP/HTTP logs decoded into events) and what the viewer reads in an
event (its session, tool and kind, and a session's timeline)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipper._cli import _facts, _intake
from shipper._config import load_settings
from shipper._destinations._otlp import Otlp
from shipper._event import rfc3339_ms

NOW_MS = 1_790_000_000_000


def otlp_doc(records: list[dict[str, Any]], service: str = "claude-code") -> dict[str, Any]:
    return {"resourceLogs": [{
        "resource": {"attributes": [{"key": "service.name",
                                     "value": {"stringValue": service}}]},
        "scopeLogs": [{"scope": {"name": "agent"}, "logRecords": records}]}]}


def attr(key: str, **value: Any) -> dict[str, Any]:
    return {"key": key, "value": value}


@pytest.mark.parametrize(("record", "name"), [
    ({"eventName": "gen_ai.client.inference", "body": {"stringValue": "x.y"}},
     "gen_ai.client.inference"),
    ({"body": {"stringValue": "claude_code.api_request"},
      "attributes": [attr("event.name", stringValue="api_request")]},
     "claude_code.api_request"),
    ({"body": {"stringValue": "API response from gemini. Status: 200"},
      "attributes": [attr("event.name", stringValue="gemini_cli.api_response")]},
     "gemini_cli.api_response"),
    ({"body": {"stringValue": "a sentence, not a name"}}, "log"),
])
def test_a_log_record_is_named_as_the_agent_names_it(record: dict[str, Any],
                                                      name: str) -> None:
    """eventName first; then a namespaced event.name (Gemini CLI, Codex); then a body
    that is a bare name (Claude Code); else `log`. A body that is not the name is kept."""
    (event,), rejected = _intake.log_events(otlp_doc([record]), NOW_MS)
    assert rejected == 0 and event["event"] == name
    if name in ("gemini_cli.api_response", "log"):
        assert event["properties"]["body"] == record["body"]["stringValue"]


def test_attributes_keep_their_types_and_the_agent_is_the_source() -> None:
    """Typed attributes (64-bit integers as text in OTLP JSON) become JSON values; the
    service names the source as hooks do; the time comes from timeUnixNano."""
    record = {"timeUnixNano": str(NOW_MS * 1_000_000 + 123), "severityText": "WARN",
              "body": {"stringValue": "claude_code.api_request"},
              "traceId": "5B8EFFF798038103D269B633813FC60C",
              "attributes": [attr("session.id", stringValue="s1"),
                             attr("input_tokens", intValue="1200"),
                             attr("cost_usd", doubleValue=0.5),
                             attr("success", boolValue=True),
                             attr("tags", arrayValue={"values": [{"stringValue": "a"}]}),
                             attr("nested", kvlistValue={"values": [attr("k", intValue=1)]})]}
    (event,), _ = _intake.log_events(otlp_doc([record]), NOW_MS + 5000)
    assert event["timestamp"] == rfc3339_ms(NOW_MS / 1000)
    assert event["context"]["source"] == "claude-code"
    assert event["context"]["otlp"]["service"] == "claude-code"
    assert event["properties"] == {"session.id": "s1", "input_tokens": 1200, "cost_usd": 0.5,
                                   "success": True, "tags": ["a"], "nested": {"k": 1},
                                   "severity": "WARN",
                                   "trace_id": "5b8efff798038103d269b633813fc60c"}


@pytest.mark.parametrize(("service", "source"), [("gemini-cli", "gemini"),
                                                 ("codex_cli_rs", "codex"),
                                                 ("my-service", "my-service"), ("", "otlp")])
def test_the_service_name_says_which_agent(service: str, source: str) -> None:
    """Agents' service names map to the sources hooks use; others stay as they are."""
    assert _intake.source_for(service) == source


def test_a_record_sent_twice_gets_the_same_id() -> None:
    """Without an event.id, the id is made from the record and its resource: an exporter
    that sends a record again is deduplicated; another record gets another id."""
    doc = otlp_doc([{"timeUnixNano": "1", "body": {"stringValue": "a"}},
                    {"timeUnixNano": "2", "body": {"stringValue": "a"}}])
    first, _ = _intake.log_events(doc, NOW_MS)
    again, _ = _intake.log_events(json.loads(json.dumps(doc)), NOW_MS + 999)
    assert [e["id"] for e in first] == [e["id"] for e in again]
    assert first[0]["id"] != first[1]["id"]


@settings(max_examples=60, deadline=None)
@given(name=st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30)
       .filter(lambda s: s.isprintable() and " " not in s),
       props=st.dictionaries(st.text(min_size=1, max_size=10).filter(
           lambda k: k not in ("event.id", "context", "user.id", "enduser.pseudo.id")),
           st.one_of(st.text(max_size=20), st.integers(-(1 << 62), 1 << 62), st.booleans(),
                     st.lists(st.integers(0, 9), max_size=3)), max_size=6),
       protobuf=st.booleans())
def test_shippers_own_otlp_destination_round_trips(name: str, props: dict[str, Any],
                                                   protobuf: bool) -> None:
    """An event sent by the `otlp` destination (JSON or protobuf) and taken in by serve
    keeps its id, name, time, properties and source."""
    settings_ = load_settings({"destination": "otlp", "endpoint": "http://127.0.0.1:9",
                               "otlp_protocol": "http/protobuf" if protobuf
                               else "http/json"}, environ={})
    original = {"id": "0190aaaa-0000-7000-8000-000000000001", "event": name,
                "timestamp": "2026-11-23T07:36:49.123Z", "properties": props,
                "context": {"library": {"name": "shipper"}, "source": "cursor"}}
    request = Otlp(settings_, "anon").batch_request([json.dumps(original).encode()], 1e9)
    body = request.content
    if request.headers.get("Content-Encoding") == "gzip":
        import gzip

        body = gzip.decompress(body)
    is_proto = _intake.is_protobuf(request.headers["Content-Type"], body)
    assert is_proto == protobuf
    doc = _intake.decode(_intake.LOGS, body, is_proto)
    (event,), rejected = _intake.log_events(doc, NOW_MS, protobuf=is_proto)
    assert rejected == 0
    assert (event["id"], event["event"], event["timestamp"]) == (
        original["id"], name, original["timestamp"])
    assert event["properties"] == props
    assert event["context"]["source"] == "cursor"


def test_metrics_and_traces_are_counted_and_answered_as_not_stored() -> None:
    """Metrics and traces are counted and answered with a partial success that says they
    are not kept (JSON and protobuf answers)."""
    metrics = {"resourceMetrics": [{"scopeMetrics": [{"metrics": [
        {"name": "m", "sum": {"dataPoints": [{"asInt": "1"}, {"asInt": "2"}]}}]}]}]}
    assert _intake.ignored_items(_intake.METRICS, metrics) == 2
    assert _intake.json_signal(json.dumps(metrics).encode()) == _intake.METRICS
    body, kind = _intake.answer(_intake.METRICS, False, 2, "not stored")
    assert kind == "application/json"
    assert json.loads(body) == {"partialSuccess": {"rejectedDataPoints": 2,
                                                   "errorMessage": "not stored"}}
    body, kind = _intake.answer(_intake.LOGS, True)
    assert kind == "application/x-protobuf" and body == b""


def test_a_body_that_is_not_otlp_is_refused() -> None:
    """Bad JSON, a JSON list and bad protobuf are 400s; JSON nested too deep too."""
    for body, proto in ((b"{nope", False), (b"[1]", False), (b"\xff\x00garbage", True),
                        (b"[" * 100_000, False)):
        with pytest.raises(_intake.Refused) as caught:
            _intake.decode(_intake.LOGS, body, proto)
        assert caught.value.status == 400


def hook(name: str, ts: int, **props: Any) -> tuple[int, dict[str, Any]]:
    return ts, {"id": f"{name}-{ts}", "event": f"claude_code.{name}",
                "properties": {"hook_event_name": name, "session_id": "s", **props},
                "context": {"source": "claude-code"}}


def test_a_tools_before_and_after_make_one_timeline_item() -> None:
    """PreToolUse and PostToolUse join by tool_use_id (or, without one, the oldest open
    call of that tool): one item with the time between them and the outcome; the
    telemetry's report of the same call joins it rather than adding one."""
    events = [
        hook("UserPromptSubmit", 0, prompt_bytes=5),
        hook("PreToolUse", 100, tool_name="Bash", tool_use_id="a"),
        hook("PreToolUse", 150, tool_name="Read"),
        hook("PostToolUse", 400, tool_name="Bash", tool_use_id="a", success=True),
        hook("PostToolUseFailure", 900, tool_name="Read", error="no such file"),
        (950, {"id": "o1", "event": "claude_code.tool_result",
               "properties": {"session.id": "s", "tool_name": "Bash", "tool_use_id": "a",
                              "success": "true", "duration_ms": "290"},
               "context": {"source": "claude-code", "otlp": {}}}),
    ]
    items = _facts.timeline(events)
    assert [i["kind"] for i in items] == ["prompt", "tool", "tool"]
    bash, read = items[1], items[2]
    assert (bash["tool"], bash["duration_ms"], bash["ok"], len(bash["ids"])) == ("Bash", 300,
                                                                                True, 3)
    assert (read["tool"], read["duration_ms"], read["ok"], read["error"]) == (
        "Read", 750, False, "no such file")


def test_a_tool_seen_only_when_done_spans_its_reported_duration() -> None:
    """A tool result with no before (telemetry only) is drawn back from its time by its
    reported duration."""
    (item,) = _facts.timeline([(5000, {"id": "x", "event": "gemini_cli.tool_call",
                                       "properties": {"function_name": "ls",
                                                      "duration_ms": 1200, "success": False},
                                       "context": {}})])
    assert (item["ts"], item["end"], item["tool"], item["ok"]) == (3800, 5000, "ls", False)


def test_a_session_counts_each_call_once_when_both_channels_report_it() -> None:
    """Hooks and telemetry both report prompts and tool calls: a session shows the larger
    count, not the sum; API errors add to the failures."""
    rows = [(t, _facts.facts(e)) for t, e in [
        hook("UserPromptSubmit", 0), hook("PostToolUse", 1, tool_name="Bash"),
        hook("PostToolUse", 2, tool_name="Bash")]]
    rows += [(3, _facts.facts({"event": "claude_code.user_prompt",
                               "properties": {"session.id": "s"},
                               "context": {"otlp": {}}})),
             (4, _facts.facts({"event": "claude_code.api_error",
                               "properties": {"session.id": "s", "status_code": "529"},
                               "context": {"otlp": {}}}))]
    row = {**_facts.session_deltas(rows)["s"]}
    summary = _facts.session_summary(row)
    assert (summary["prompts"], summary["tool_calls"], summary["failures"]) == (1, 2, 1)


@pytest.mark.parametrize(("props", "tokens"), [
    ({"input_tokens": 10, "output_tokens": 2, "cost_usd": "0.5"}, (10, 2, 0.5)),
    ({"input_token_count": 7, "output_token_count": 3}, (7, 3, 0.0)),
])
def test_tokens_and_cost_are_read_as_each_agent_reports_them(props: dict[str, Any],
                                                             tokens: tuple[Any, ...]) -> None:
    """Claude Code's api_request and Gemini CLI's api_response carry tokens under their
    own names; Codex's on the completed stream event."""
    for name, extra in (("claude_code.api_request", {}), ("gemini_cli.api_response", {}),
                        ("codex.sse_event", {"event.kind": "response.completed"})):
        f = _facts.facts({"event": name, "properties": {**props, **extra}})
        assert (f.kind, f.tokens_in, f.tokens_out, f.cost_usd) == ("api", *tokens)
    idle = _facts.facts({"event": "codex.sse_event", "properties": {"event.kind": "delta"}})
    assert idle.kind == "event"


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8)
                     | st.floats(allow_nan=False, allow_infinity=False),
                     lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=8)


@settings(max_examples=80, deadline=None)
@given(events=st.lists(st.fixed_dictionaries({"id": st.text(min_size=1, max_size=12)},
                                             optional={"event": st.text(max_size=10),
                                                       "properties": _JSON}), max_size=5),
       extra=st.dictionaries(st.text(max_size=6).filter(lambda k: k != "batch"), _JSON,
                             max_size=3),
       indent=st.sampled_from([None, 1, 2]), first=st.booleans())
def test_a_batch_body_splits_into_its_events_and_their_own_texts(
        events: list[dict[str, Any]], extra: dict[str, Any], indent: int | None,
        first: bool) -> None:
    """Whatever the layout of a /v1/batch body (keys in any order, any whitespace), the
    events read are json.loads' own, and each event's text parses back to it."""
    doc = {"batch": events, **extra} if first else {**extra, "batch": events}
    body = json.dumps(doc, indent=indent).encode()
    found, raws = _intake.native_batch(body)
    assert found == json.loads(body)["batch"]
    assert [json.loads(raw) for raw in raws] == found


@pytest.mark.parametrize("body", [b'{"batch":[{"id":"a"},]}', b'{"batch":[{"id":"a"}],}',
                                  b'{"batch":[{"id":"a"} {"id":"b"}]}', b'{"batch":[{"id":1}]}',
                                  b'{"batch":[{"id":"a","v":NaN}]}', b'{"batch":[]} x',
                                  b'{"sent_at":"t"}', b"[]", b""])
def test_a_body_that_is_not_a_batch_is_refused(body: bytes) -> None:
    """Trailing commas, missing commas, a non-string id, NaN, trailing text, no batch: 400."""
    with pytest.raises(_intake.Refused):
        _intake.native_batch(body)
