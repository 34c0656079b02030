"""Each destination's translation and reading of answers, apart from any I/O."""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)

from shipper._config import load_settings
from shipper._deliver import ACCEPTED, CONFIG, REFUSED, TRANSIENT
from shipper._destinations._base import Reply, Unsendable, epoch_ms
from shipper._destinations._clickhouse import ClickHouse
from shipper._destinations._select import destination_for
from shipper._event import build_event, make_event

ANON = "0b6f3c1e-8d4a-4f2e-9c7b-5a1d2e3f4a5b"
NOW = 1_800_000_000.5


def dest(kind: str, **settings: Any) -> Any:
    values = {"destination": kind, "endpoint": "http://receiver.test", **settings}
    return destination_for(load_settings(values, environ={}), ANON)


def body_of(request: Any) -> Any:
    raw = request.content
    if request.headers.get("Content-Encoding") == "gzip":
        raw = gzip.decompress(raw)
    return raw


def sample_events() -> list[bytes]:
    made = make_event("report.generated", {"pages": 12, "ratio": 0.5, "ok": True,
                                           "tags": ["a", 2], "nested": {"k": {"deep": 1}},
                                           "none": None, "big": 2**70, "empty": [], "map": {}},
                      {"app": "demo"}, 1_790_000_000.123, max_bytes=65536, user_id="user-42")
    assert made is not None
    _, anonymous = build_event("cli.run", {"command": "deploy"}, timestamp=1_790_000_001.0)
    return [made[1], anonymous]


def test_segment_items_are_track_calls_with_message_id_and_basic_auth() -> None:
    """Segment: /v1/batch, Basic auth with the write key as user, track items carrying
    messageId = the event id, userId or the cache's anonymousId."""
    d = dest("segment", api_key="wk-123")
    assert d.client_headers()["Authorization"] == "Basic " + base64.b64encode(
        b"wk-123:").decode()
    events = sample_events()
    request = d.batch_request(events, NOW)
    assert request.url == "http://receiver.test/v1/batch"
    doc = json.loads(body_of(request))
    assert set(doc) == {"batch", "sentAt", "writeKey"}
    first, second = doc["batch"]
    native = json.loads(events[0])
    assert first["type"] == "track" and first["messageId"] == native["id"]
    assert first["userId"] == "user-42" and first["anonymousId"] is None
    assert second["userId"] is None and second["anonymousId"] == ANON
    assert first["context"] == {"app": "demo", "library": native["context"]["library"]}
    assert first["properties"]["pages"] == 12 and first["timestamp"] == native["timestamp"]


def test_posthog_items_carry_the_key_in_the_body_and_uuid() -> None:
    """PostHog: /batch/ with api_key in the body; uuid = the event id; anonymous events
    use the cache's id as distinct_id and make no person profile."""
    d = dest("posthog", api_key="phc_abc")
    request = d.batch_request(sample_events(), NOW)
    assert request.url == "http://receiver.test/batch/"
    assert "Authorization" not in d.client_headers()
    doc = json.loads(body_of(request))
    assert doc["api_key"] == "phc_abc" and doc["historical_migration"] is False
    first, second = doc["batch"]
    assert first["distinct_id"] == "user-42" and "$process_person_profile" not in \
        first["properties"]
    assert second["distinct_id"] == ANON and second["properties"][
        "$process_person_profile"] is False
    assert first["properties"]["$lib"] == "shipper" and first["properties"]["context"] == {
        "app": "demo"}
    assert set(first) == {"event", "distinct_id", "properties", "timestamp", "uuid"}


def parse_otlp(request: Any) -> ExportLogsServiceRequest:
    message = ExportLogsServiceRequest()
    if request.headers["Content-Type"] == "application/x-protobuf":
        message.ParseFromString(body_of(request))
    else:
        json_format.Parse(body_of(request), message)
    return message


@pytest.mark.parametrize("protocol", ["http/json", "http/protobuf"])
def test_otlp_body_parses_as_export_logs_service_request(protocol: str) -> None:
    """Every OTLP body parses with opentelemetry-proto (JSON with json_format, protobuf with
    ParseFromString), with the names, ids, times and attribute types right."""
    d = dest("otlp", otlp_protocol=protocol, service_name="svc",
             resource_attributes={"deployment.environment": "prod"})
    events = sample_events()
    request = d.batch_request(events, NOW)
    assert request.url == "http://receiver.test/v1/logs"
    message = parse_otlp(request)
    (resource_logs,) = message.resource_logs
    resource = {kv.key: kv.value.string_value for kv in resource_logs.resource.attributes}
    assert resource == {"service.name": "svc", "deployment.environment": "prod"}
    (scope,) = resource_logs.scope_logs
    assert scope.scope.name == "shipper"
    first, second = scope.log_records
    native = json.loads(events[0])
    assert first.event_name == "report.generated" and second.event_name == "cli.run"
    assert first.time_unix_nano == 1_790_000_000_123_000_000
    assert first.observed_time_unix_nano == int(NOW * 1e9)
    attrs = {kv.key: kv.value for kv in first.attributes}
    assert attrs["event.id"].string_value == native["id"]
    assert attrs["user.id"].string_value == "user-42"
    assert attrs["pages"].int_value == 12 and attrs["ratio"].double_value == 0.5
    assert attrs["ok"].bool_value is True and attrs["big"].string_value == str(2**70)
    assert [v.string_value or v.int_value for v in attrs["tags"].array_value.values] == ["a", 2]
    nested = attrs["nested"].kvlist_value.values[0]
    assert nested.key == "k" and nested.value.kvlist_value.values[0].value.int_value == 1
    assert not attrs["none"].HasField("string_value") and attrs["empty"].HasField(
        "array_value") and attrs["map"].HasField("kvlist_value")
    assert {kv.key: kv.value.string_value for kv in second.attributes}[
        "enduser.pseudo.id"] == ANON


def test_otlp_partial_success_counts_rejected_records() -> None:
    """A 200 with partialSuccess is accepted (never resent) and says how many were
    rejected, in JSON and in protobuf."""
    d = dest("otlp")
    answer = d.read_reply(Reply(200, {"content-type": "application/json"},
                                b'{"partialSuccess":{"rejectedLogRecords":"2",'
                                b'"errorMessage":"bad"}}'))
    assert answer.kind == ACCEPTED and answer.rejected == 2 and "bad" in answer.detail
    assert d.read_reply(Reply(200, {}, b"{}")).rejected == 0
    proto = dest("otlp", otlp_protocol="http/protobuf")
    response = ExportLogsServiceResponse()
    response.partial_success.rejected_log_records = 3
    answer = proto.read_reply(Reply(200, {"content-type": "application/x-protobuf"},
                                    response.SerializeToString()))
    assert answer.rejected == 3


def test_otlp_follows_the_standard_environment() -> None:
    """OTEL_EXPORTER_OTLP_ENDPOINT gets /v1/logs appended, _LOGS_ENDPOINT is used as given,
    headers are percent-decoded, OTEL_SERVICE_NAME beats service.name in the attributes."""
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318/base/",
           "OTEL_EXPORTER_OTLP_HEADERS": "Authorization=Bearer%20tok,X-Scope-OrgID=t1",
           "OTEL_SERVICE_NAME": "svc", "OTEL_RESOURCE_ATTRIBUTES": "service.name=x,team=a%2Cb"}
    settings = load_settings({"destination": "otlp"}, environ=env)
    d = destination_for(settings)
    assert d.batch_request([], NOW).url == "http://c:4318/base/v1/logs"
    assert d.client_headers() == {"Authorization": "Bearer tok", "X-Scope-OrgID": "t1"}
    attrs = {a["key"]: a["value"]["stringValue"] for a in d.resource}
    assert attrs == {"service.name": "svc", "team": "a,b"}
    exact = load_settings({"destination": "otlp"}, environ={
        **env, "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "http://logs:4318/custom"})
    assert destination_for(exact).batch_request([], NOW).url == "http://logs:4318/custom"
    mine = load_settings({"destination": "otlp", "endpoint": "http://mine:1",
                          "headers": {"A": "b"}}, environ=env)
    assert destination_for(mine).client_headers() == {"A": "b"}  # shipper's own settings win
    other = load_settings({"destination": "segment"}, environ=env)
    assert other.endpoint is None and other.headers == {}  # OTEL_* is for otlp only


@pytest.mark.parametrize("fmt", ["json", "ndjson"])
def test_webhook_sends_native_events_as_given(fmt: str) -> None:
    """webhook: POST the endpoint exactly as given, native events as an array or JSON
    Lines, with the headers setting."""
    d = dest("webhook", endpoint="http://hook.test/in/abc?x=1", webhook_format=fmt,
             headers={"X-Token": "t"})
    events = sample_events()
    request = d.batch_request(events, NOW)
    assert request.url == "http://hook.test/in/abc?x=1"
    assert d.client_headers() == {"X-Token": "t"}
    if fmt == "json":
        assert json.loads(request.content) == [json.loads(e) for e in events]
    else:
        assert request.content == b"".join(e + b"\n" for e in events)
        assert request.headers["Content-Type"] == "application/x-ndjson"


def test_clickhouse_rows_split_time_and_keep_json_as_text() -> None:
    """ClickHouse rows: whole seconds and milliseconds, properties and context as JSON text,
    named columns, credentials in the X-ClickHouse headers."""
    d = dest("clickhouse", api_key="pw", clickhouse_user="shipper", clickhouse_table="ev")
    assert isinstance(d, ClickHouse)
    assert d.client_headers() == {"X-ClickHouse-User": "shipper", "X-ClickHouse-Key": "pw"}
    request = d.batch_request(sample_events(), NOW)
    assert "INSERT%20INTO%20%60default%60.%60ev%60%20%28id%2C%20event" in request.url
    rows = [json.loads(line) for line in body_of(request).splitlines()]
    assert rows[0]["timestamp"] == 1_790_000_000 and rows[0]["timestamp_ms"] == 123
    assert json.loads(rows[0]["properties"])["pages"] == 12
    assert json.loads(rows[0]["context"])["app"] == "demo"


def test_clickhouse_refuses_times_it_cannot_store_before_sending() -> None:
    """A timestamp outside DateTime's range (1970-2106) is refused, naming the event; the
    server would silently store garbage."""
    d = dest("clickhouse")
    _, early = build_event("old", timestamp=-86400.0)
    _, fine = build_event("ok")
    with pytest.raises(Unsendable) as caught:
        d.batch_request([fine, early], NOW)
    assert caught.value.index == 1


@pytest.mark.parametrize(("status", "body", "headers", "kind", "row"), [
    (200, b"", {}, ACCEPTED, None),
    (500, b"Code: 27, e.displayText() = DB::Exception: Cannot parse input: (at row 7)\n", {},
     REFUSED, 6),
    (400, b"Code: 26. DB::Exception: Cannot parse JSON string (at row 1) (version 24.8)", {},
     REFUSED, 0),
    (404, b"Code: 60, e.displayText() = DB::Exception: Table default.x doesn't exist.", {},
     CONFIG, None),
    (401, b"Code: 193, e.displayText() = DB::Exception: Wrong password for user x", {},
     CONFIG, None),
    (403, b"Code: 516. DB::Exception: x: Authentication failed", {
        "x-clickhouse-exception-code": "516"}, CONFIG, None),
    (500, b"Code: 241, e.displayText() = DB::Exception: Memory limit exceeded", {},
     TRANSIENT, None),
    (200, b"Code: 27. DB::Exception: Cannot parse input (at row 2)", {}, REFUSED, 1),
    (404, b"There is no handle /nope", {}, CONFIG, None),
    (503, b"", {}, TRANSIENT, None),
])
def test_clickhouse_answers_are_read_by_exception_code(
        status: int, body: bytes, headers: dict[str, str], kind: str, row: int | None) -> None:
    """Old and new servers answer the same error with different statuses: the exception
    code decides, and "at row N" names the refused event."""
    answer = dest("clickhouse").read_reply(Reply(status, headers, body))
    assert (answer.kind, answer.row) == (kind, row)


@pytest.mark.parametrize(("stamp", "ms"), [
    ("2026-11-23T07:36:49.123Z", 1795419409123),
    ("2026-11-23T07:36:49Z", 1795419409000),
    ("2026-11-23T08:36:49.123+01:00", 1795419409123),
    ("2026-11-23T07:36:49", 1795419409000),
    ("yesterday", None), (12, None),
])
def test_event_times_are_read_in_every_form_they_are_recorded(stamp: object,
                                                              ms: int | None) -> None:
    """Timestamps as recorded (RFC 3339 with Z, an offset, or none) read as epoch ms."""
    assert epoch_ms(stamp) == ms


def test_health_probes_default_by_destination() -> None:
    """shipper probes /health and ClickHouse /ping; the others have no probe unless
    health_path is set; health_path = "" turns it off anywhere."""
    assert dest("shipper").health_url == "http://receiver.test/health"
    assert dest("clickhouse").health_url == "http://receiver.test/ping"
    for kind in ("otlp", "segment", "posthog", "webhook"):
        assert dest(kind).health_url is None
        assert dest(kind, health_path="/up").health_url == "http://receiver.test/up"
    assert dest("shipper", health_path="").health_url is None
    assert load_settings(environ={"SHIPPER_HEALTH_PATH": ""}).health_path_or_default is None


@pytest.mark.parametrize(("kind", "path", "query"), [
    ("shipper", "/in/v1/batch", "token=T"), ("otlp", "/in/v1/logs", "token=T"),
    ("segment", "/in/v1/batch", "token=T"), ("posthog", "/in/batch/", "token=T"),
    ("webhook", "/in", "token=T"), ("clickhouse", "/in/", "token=T&query=INSERT"),
])
def test_an_endpoint_with_a_query_string_keeps_it_after_the_path(
        kind: str, path: str, query: str) -> None:
    """``https://host/in?token=T``: each destination puts its own path before the query
    string (and ClickHouse its query beside the token), the health probe too."""
    d = dest(kind, endpoint="https://host/in?token=T", health_path="/up")
    url = d.batch_request([], NOW).url
    assert url.startswith(f"https://host{path}?{query}"), url
    assert d.health_url == "https://host/in/up?token=T"


@pytest.mark.parametrize("body", [b'{"partialSuccess":{"rejectedLogRecords":1e999}}',
                                  b'{"partialSuccess":{"rejectedLogRecords":-5}}',
                                  b'{"partialSuccess":"garbage"}'])
def test_a_garbled_partial_success_is_still_a_success(body: bytes) -> None:
    """An OTLP 200 whose partialSuccess cannot be read (an infinite count, a negative one,
    not an object): accepted, nothing counted as rejected (an infinite count raised, and
    the delivered file was posted again and again, then quarantined)."""
    answer = dest("otlp").read_reply(Reply(200, {"content-type": "application/json"}, body))
    assert answer.kind == ACCEPTED and answer.rejected == 0
