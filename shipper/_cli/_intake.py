"""What ``shipper serve`` takes in, decoded into native events: its own batches
(``/v1/batch``) and OpenTelemetry logs over HTTP (``/v1/logs``, JSON or protobuf).

Pure functions over request bodies (already inflated and size-checked by the server).

An OTLP log record becomes one event:

- ``event``: the record's ``eventName``; else a namespaced ``event.name`` attribute (Gemini
  CLI, Codex: ``gemini_cli.api_response``); else the body when it is a bare name (Claude
  Code: ``claude_code.api_request``); else ``event.name``; else ``log``;
- ``id``: the attribute ``event.id`` (shipper's own ``otlp`` destination sends it), else a
  UUID made from the record and its resource, so a record an exporter sends twice is stored
  once;
- ``timestamp``: ``timeUnixNano``, else ``observedTimeUnixNano``, else when it arrived;
- ``properties``: the attributes (``session.id``, ``input_tokens``, ``cost_usd``...), the
  body where it is not the name, ``severity`` (but INFO), ``trace_id`` and ``span_id``;
- ``context``: ``otlp`` (the service, the scope and the resource's attributes), ``source``
  (shipper's own, else the agent the service names: ``claude-code``, ``gemini``, ``codex``)
  and ``user_id`` from ``user.id``.

Metrics and traces are not stored: ``/v1/metrics`` and ``/v1/traces`` answer with a partial
success that says so, so an agent exporting all three signals to one endpoint keeps working.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from functools import lru_cache
from typing import Any

from .._event import rfc3339_ms
from .._json import encode, loads
from .._tools._registry import source_named

_ID_SPACE = uuid.UUID("5b3f8a52-3c1e-4d4b-9a57-6e0b1c2d3e4f")  # ids made from OTLP records
_NAME_CHARS = 200
# The most items one request may hold: JSON objects in a body (an event is a few of them),
# OTLP records in a protobuf one. A request's memory grows with them far more than with its
# bytes (an empty protobuf record is 2 bytes), so they are bounded apart from the body cap;
# shipper sends 500 events a batch, OpenTelemetry's exporters 512 records.
MAX_OBJECTS = 200_000
MAX_RECORDS = 50_000
_OURS = ("event.id", "context", "user.id", "enduser.pseudo.id")
LOGS, METRICS, TRACES = "logs", "metrics", "traces"
_ROOT_KEYS = {"resourceLogs": LOGS, "resource_logs": LOGS, "resourceMetrics": METRICS,
              "resource_metrics": METRICS, "resourceSpans": TRACES, "resource_spans": TRACES}


class Refused(ValueError):
    """A body the server answers with ``status`` and this message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


# -- shipper's own protocol ---------------------------------------------------------------


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# the standard library's parser, without NaN and Infinity (not JSON: a page could not read
# an event holding one back)
_DECODER = json.JSONDecoder(parse_constant=_no_constants)
_WHITESPACE = " \t\n\r"


def _skip(text: str, i: int) -> int:
    while i < len(text) and text[i] in _WHITESPACE:
        i += 1
    return i


def _expect(text: str, i: int, char: str) -> int:
    if i >= len(text) or text[i] != char:
        raise ValueError(f"expected {char!r} at {i}")
    return _skip(text, i + 1)


def _items(text: str, i: int) -> tuple[list[dict[str, Any]], list[str], int]:
    """The objects of the array at ``text[i]``, their texts, and where the array ends."""
    events: list[dict[str, Any]] = []
    raws: list[str] = []
    i = _expect(text, i, "[")
    while text[i] != "]":  # checked before the first item only: "[1,]" is no array
        start = i
        item, i = _DECODER.raw_decode(text, i)
        if type(item) is not dict or type(item.get("id")) is not str:
            raise TypeError
        events.append(item)
        raws.append(text[start:i])
        i = _skip(text, i)
        if text[i] != ",":
            break
        i = _skip(text, i + 1)
        if text[i] == "]":
            raise ValueError("a comma before ]")
    return events, raws, _expect(text, i, "]")


def native_batch(body: bytes) -> tuple[list[dict[str, Any]], list[str]]:
    """The events of a ``/v1/batch`` body, and each one's own JSON text as it came (kept as
    it is: the store need not encode it again). `Refused` (400) when the body is not a batch
    of JSON objects with string ids (JSON nested too deep, NaN and Infinity included)."""
    events: list[dict[str, Any]] | None = None
    raws: list[str] = []
    try:
        text = body.decode("utf-8-sig")  # a byte order mark is no reason to refuse
        i = _expect(text, _skip(text, 0), "{")
        while text[i] != "}":
            key, i = _DECODER.raw_decode(text, i)
            if type(key) is not str:
                raise TypeError
            i = _expect(text, _skip(text, i), ":")
            if key == "batch":
                events, raws, i = _items(text, i)
            else:
                _, i = _DECODER.raw_decode(text, i)
            i = _skip(text, i)
            if text[i] != ",":
                break
            i = _skip(text, i + 1)
            if text[i] == "}":
                raise ValueError("a comma before }")
        if events is None or _expect(text, i, "}") != len(text):
            raise TypeError
    except (ValueError, IndexError, TypeError, RecursionError, UnicodeDecodeError):
        raise Refused(400, "body is not a batch") from None
    return events, raws


# -- OTLP -----------------------------------------------------------------------------------


def is_protobuf(content_type: str, body: bytes) -> bool:
    """Whether an OTLP body is protobuf: by its Content-Type, else by its first byte."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind in ("application/x-protobuf", "application/protobuf"):
        return True
    if kind == "application/json":
        return False
    return body.lstrip()[:1] != b"{"


def json_signal(body: bytes) -> str | None:
    """Which OTLP signal a JSON body carries (logs, metrics, traces), or None: for an
    exporter that posts every signal to one URL (Gemini CLI's older versions do)."""
    if body.lstrip()[:1] != b"{":
        return None
    try:
        doc = loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(doc, dict):
        return None
    return next((_ROOT_KEYS[k] for k in doc if k in _ROOT_KEYS), None)


_MODULES = {LOGS: "opentelemetry.proto.collector.logs.v1.logs_service_pb2",
            METRICS: "opentelemetry.proto.collector.metrics.v1.metrics_service_pb2",
            TRACES: "opentelemetry.proto.collector.trace.v1.trace_service_pb2"}


def _proto(signal: str) -> Any:
    """The protobuf module of a signal's service (``opentelemetry-proto``), or None."""
    import importlib

    try:
        return importlib.import_module(_MODULES[signal])
    except ImportError:
        return None


_REQUEST = {LOGS: "ExportLogsServiceRequest", METRICS: "ExportMetricsServiceRequest",
            TRACES: "ExportTraceServiceRequest"}
_RESPONSE = {LOGS: "ExportLogsServiceResponse", METRICS: "ExportMetricsServiceResponse",
             TRACES: "ExportTraceServiceResponse"}
_REJECTED = {LOGS: "rejected_log_records", METRICS: "rejected_data_points",
             TRACES: "rejected_spans"}


def too_many_objects(body: bytes) -> bool:
    """Whether a JSON body holds more objects than a request may (`MAX_OBJECTS`): counted
    before it is parsed, since parsing them is what costs."""
    return body.count(b"{") > MAX_OBJECTS


def _records(signal: str, message: Any) -> int:
    """How many items (records, spans, metrics) a protobuf export request holds."""
    if signal == LOGS:
        return sum(len(scope.log_records) for resource in message.resource_logs
                   for scope in resource.scope_logs)
    if signal == TRACES:
        return sum(len(scope.spans) for resource in message.resource_spans
                   for scope in resource.scope_spans)
    return sum(len(scope.metrics) for resource in message.resource_metrics
               for scope in resource.scope_metrics)


def decode(signal: str, body: bytes, protobuf: bool) -> dict[str, Any]:
    """An OTLP export request as its JSON form (lowerCamelCase, 64-bit integers as text).
    `Refused`: 415 for protobuf without the ``otlp-proto`` extra, 413 for more items than
    a request may hold (`MAX_RECORDS`), 400 for a body that is not such a request."""
    if not protobuf:
        try:
            parsed = loads(body)
        except (ValueError, RecursionError):
            raise Refused(400, "body is not OTLP JSON") from None
        if not isinstance(parsed, dict):
            raise Refused(400, "body is not an OTLP export request")
        return parsed
    module = _proto(signal)
    if module is None:
        raise Refused(415, "OTLP protobuf needs the otlp-proto extra on the serving side "
                           "(pip install 'shipper-events[otlp-proto]'); or export "
                           "http/json")
    from google.protobuf import json_format
    from google.protobuf.message import DecodeError

    try:
        message = getattr(module, _REQUEST[signal]).FromString(body)
        items = _records(signal, message)
    except (DecodeError, RecursionError, ValueError):
        raise Refused(400, "body is not an OTLP protobuf export request") from None
    if items > MAX_RECORDS:
        raise Refused(413, f"more than {MAX_RECORDS} items in one request: send smaller "
                           "batches")
    try:
        doc: dict[str, Any] = json_format.MessageToDict(message)
    except (RecursionError, ValueError):
        raise Refused(400, "body is not an OTLP protobuf export request") from None
    return doc


def answer(signal: str, protobuf: bool, rejected: int = 0, message: str = "",
           ) -> tuple[bytes, str]:
    """The body and Content-Type of a successful export's answer, with a partial success
    where something was ``rejected`` (or a ``message`` to give)."""
    if protobuf:
        module = _proto(signal)
        response = getattr(module, _RESPONSE[signal])()
        if rejected or message:
            setattr(response.partial_success, _REJECTED[signal], rejected)
            response.partial_success.error_message = message
        return response.SerializeToString(), "application/x-protobuf"
    field = "".join(w if i == 0 else w.title()
                    for i, w in enumerate(_REJECTED[signal].split("_")))
    doc: dict[str, Any] = {}
    if rejected or message:
        doc["partialSuccess"] = {field: rejected, "errorMessage": message}
    return encode(doc).encode(), "application/json"


def _get(doc: dict[str, Any], camel: str, snake: str) -> Any:
    value = doc.get(camel)
    return doc.get(snake) if value is None else value


def _list(doc: object, camel: str, snake: str) -> list[Any]:
    value = _get(doc, camel, snake) if isinstance(doc, dict) else None
    return value if isinstance(value, list) else []


def any_value(value: object) -> Any:
    """An OTLP ``AnyValue`` (JSON form) as plain JSON data."""
    if not isinstance(value, dict) or not value:
        return None
    for key, convert in (("stringValue", str), ("string_value", str),
                         ("boolValue", bool), ("bool_value", bool)):
        if key in value:
            return convert(value[key])
    for key in ("intValue", "int_value"):
        if key in value:
            try:
                return int(value[key])
            except (TypeError, ValueError):
                return str(value[key])
    for key in ("doubleValue", "double_value"):
        if key in value:
            try:
                return float(value[key])
            except (TypeError, ValueError):
                return str(value[key])
    array = _get(value, "arrayValue", "array_value")
    if isinstance(array, dict):
        return [any_value(v) for v in _list(array, "values", "values")]
    kvlist = _get(value, "kvlistValue", "kvlist_value")
    if isinstance(kvlist, dict):
        return attributes(_list(kvlist, "values", "values"))
    raw = _get(value, "bytesValue", "bytes_value")
    return raw if isinstance(raw, str) else None


def attributes(pairs: list[Any]) -> dict[str, Any]:
    """OTLP ``KeyValue`` pairs as a JSON object."""
    out: dict[str, Any] = {}
    for pair in pairs:
        if isinstance(pair, dict) and isinstance(pair.get("key"), str):
            out[pair["key"]] = any_value(pair.get("value"))
    return out


def _is_name(text: object) -> bool:
    return (isinstance(text, str) and 0 < len(text) <= _NAME_CHARS and text.isprintable()
            and " " not in text)


@lru_cache(maxsize=256)  # per log record; finding a tool by an alias looks at every tool
def source_for(service: str | None) -> str:
    """The source an OpenTelemetry ``service.name`` is: the agent's own name as hooks say
    it (``claude-code``, ``gemini``, ``codex``), else the service name as it is."""
    if not service:
        return "otlp"
    named: str = source_named(service)
    if named != "generic":
        return named
    return "codex" if service.lower().startswith("codex") else service[:_NAME_CHARS]


def _nanos_ms(value: object) -> int | None:
    try:
        nanos = int(value)  # type: ignore[call-overload]  # text or number, as OTLP JSON has it
    except (TypeError, ValueError):
        return None
    return nanos // 1_000_000 if nanos > 0 else None


def _hex(value: object, protobuf: bool) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    if protobuf:  # the JSON form of protobuf bytes is base64; OTLP JSON writes hex
        try:
            return base64.b64decode(value).hex()
        except ValueError:
            return None
    return value.lower()


def log_events(doc: dict[str, Any], received_ms: int, *, protobuf: bool = False,
               ) -> tuple[list[dict[str, Any]], int]:
    """The events of an ``ExportLogsServiceRequest`` (JSON form), and how many records
    could not be read."""
    events: list[dict[str, Any]] = []
    rejected = 0
    for resource_logs in _list(doc, "resourceLogs", "resource_logs"):
        if not isinstance(resource_logs, dict):
            rejected += 1
            continue
        resource = attributes(_list(resource_logs.get("resource"), "attributes",
                                    "attributes"))
        service = resource.get("service.name")
        service = service if isinstance(service, str) else None
        for scope_logs in _list(resource_logs, "scopeLogs", "scope_logs"):
            scope = scope_logs.get("scope") if isinstance(scope_logs, dict) else None
            scope_name = scope.get("name") if isinstance(scope, dict) else None
            for record in _list(scope_logs, "logRecords", "log_records"):
                try:
                    events.append(clean(_event(record, resource, service,
                                               scope_name=scope_name,
                                               received_ms=received_ms, protobuf=protobuf)))
                except Exception:  # noqa: BLE001 - one record that cannot be read: it alone
                    rejected += 1
    return events, rejected


def clean(value: Any) -> Any:
    """``value`` as the store and JSON can hold it: a lone surrogate in a string (or a key)
    replaced, a number that is not finite (NaN, Infinity, 1e999) null; the rest as it is."""
    kind = type(value)
    if kind is str:
        return value if value.isascii() else value.encode("utf-8", "replace").decode()
    if kind is float:
        return value if value - value == 0 else None  # false for inf and nan
    if kind is dict:
        return {clean(k) if type(k) is str else k: clean(v) for k, v in value.items()}
    if kind is list:
        return [clean(v) for v in value]
    return value


_SUSPECT = re.compile(r"\\[uU][dD][89a-fA-F]|[eE]\+?[0-9]{3}")  # a surrogate escape, an exponent


def cleaned(events: list[dict[str, Any]], raws: list[str]) -> None:
    """Make the events of a native batch storable in place (see `clean`): where an event's
    text holds a surrogate escape or an exponent of three digits, it is checked, and one
    that needed cleaning is kept as the cleaned event, its text written anew."""
    for i, raw in enumerate(raws):
        if _SUSPECT.search(raw):
            fixed = clean(events[i])
            if fixed != events[i] or _has_nan(events[i]):
                events[i] = fixed
                raws[i] = encode(fixed)


def _has_nan(value: Any) -> bool:
    if type(value) is float:
        return value != value  # noqa: PLR0124 - NaN, which equals nothing, not even itself
    if type(value) is dict:
        return any(_has_nan(v) for v in value.values())
    if type(value) is list:
        return any(_has_nan(v) for v in value)
    return False


def _event(record: dict[str, Any], resource: dict[str, Any], service: str | None, *,
           scope_name: object, received_ms: int, protobuf: bool) -> dict[str, Any]:
    attrs = attributes(_list(record, "attributes", "attributes"))
    body = any_value(record.get("body"))
    named = attrs.get("event.name")
    name = _get(record, "eventName", "event_name")
    if not _is_name(name):
        if isinstance(named, str) and _is_name(named) and "." in named:
            name = named
        elif _is_name(body):
            name = body
            body = None
        elif _is_name(named):
            name = named
        else:
            name = "log"
    ms = (_nanos_ms(_get(record, "timeUnixNano", "time_unix_nano"))
          or _nanos_ms(_get(record, "observedTimeUnixNano", "observed_time_unix_nano"))
          or received_ms)
    event_id = attrs.get("event.id")
    if not isinstance(event_id, str) or not event_id:
        made = encode({"resource": resource, "scope": scope_name, "record": record},
                      sort_keys=True)
        event_id = str(uuid.uuid5(_ID_SPACE, made))
    context = attrs.get("context")
    context = dict(context) if isinstance(context, dict) else {}
    user = attrs.get("user.id")
    if user is not None and "user_id" not in context:
        context["user_id"] = user
    context["otlp"] = {"service": service, "scope": scope_name, "resource": resource}
    context.setdefault("source", source_for(service))
    properties = {k: v for k, v in attrs.items() if k not in _OURS}
    if body is not None:
        properties["body"] = body
    severity = _get(record, "severityText", "severity_text")
    if isinstance(severity, str) and severity and severity.upper() != "INFO":
        properties.setdefault("severity", severity)  # INFO is every agent's every record
    for key, camel, snake in (("trace_id", "traceId", "trace_id"),
                              ("span_id", "spanId", "span_id")):
        shown = _hex(_get(record, camel, snake), protobuf)
        if shown:
            properties.setdefault(key, shown)
    return {"id": event_id, "event": name, "timestamp": rfc3339_ms(ms / 1000),
            "properties": properties, "context": context}


def ignored_items(signal: str, doc: dict[str, Any]) -> int:
    """How many spans or metric data points an export request holds (not stored)."""
    count = 0
    if signal == TRACES:
        for resource in _list(doc, "resourceSpans", "resource_spans"):
            for scope in _list(resource, "scopeSpans", "scope_spans"):
                count += len(_list(scope, "spans", "spans"))
        return count
    for resource in _list(doc, "resourceMetrics", "resource_metrics"):
        for scope in _list(resource, "scopeMetrics", "scope_metrics"):
            for metric in _list(scope, "metrics", "metrics"):
                if not isinstance(metric, dict):
                    continue
                for kind in metric.values():
                    count += len(_list(kind, "dataPoints", "data_points"))
    return count
