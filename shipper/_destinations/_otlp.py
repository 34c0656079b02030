"""``destination = "otlp"``: OpenTelemetry logs over HTTP, to an OpenTelemetry Collector (the
path for a fleet of machines) or any OTLP receiver (Grafana, Honeycomb, Datadog, ...).

``POST {endpoint}/v1/logs`` (or ``OTEL_EXPORTER_OTLP_LOGS_ENDPOINT`` as given) with an
``ExportLogsServiceRequest``: JSON by default, protobuf when ``otlp_protocol =
"http/protobuf"`` and the ``shipper-events[otlp-proto]`` extra is installed. One LogRecord
per event: ``eventName`` is the event, ``timeUnixNano`` its time (a string, as OTLP JSON
writes 64-bit integers), the attribute ``event.id`` its id, and the properties as typed
attributes (nested values as ``kvlistValue``/``arrayValue``). The resource carries
``service.name`` and ``OTEL_RESOURCE_ATTRIBUTES``.

A 200 may carry a ``partialSuccess``: its rejected records are counted as refused (OTLP does
not say which they were) and the request is not sent again, as the specification requires.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import _log
from .._deliver import ACCEPTED, Answer
from .._kinds import otlp_logs_url
from .._version import __version__
from ._base import (
    Destination,
    Reply,
    Request,
    answer_for_status,
    compressed,
    epoch_ms,
    parse_events,
    split_context,
)

_INT64 = 1 << 63
SEVERITY_INFO = 9


def _int(value: int) -> dict[str, Any]:
    if -_INT64 <= value < _INT64:
        return {"intValue": str(value)}
    return {"stringValue": str(value)}  # past int64: kept exactly, as text


def _array(value: list[Any]) -> dict[str, Any]:
    return {"arrayValue": {"values": [any_value(v) for v in value]} if value else {}}


def _kvlist(value: dict[str, Any]) -> dict[str, Any]:
    return {"kvlistValue": {"values": attributes(value)} if value else {}}


_BY_TYPE: dict[type, Callable[[Any], dict[str, Any]]] = {
    str: lambda v: {"stringValue": v},
    bool: lambda v: {"boolValue": v},
    int: _int,
    float: lambda v: {"doubleValue": v},
    list: _array,
    dict: _kvlist,
    type(None): lambda v: {},
}


def any_value(value: object) -> dict[str, Any]:
    """A JSON value as an OTLP ``AnyValue`` (JSON encoding)."""
    convert = _BY_TYPE.get(type(value))
    return convert(value) if convert is not None else {"stringValue": str(value)}


def attributes(values: dict[str, Any]) -> list[dict[str, Any]]:
    """A JSON object as OTLP ``KeyValue`` attributes (the scalars inline: this runs for
    every property of every event)."""
    out = []
    for key, value in values.items():
        kind = type(value)
        if kind is str:
            converted: dict[str, Any] = {"stringValue": value}
        elif kind is int and -_INT64 <= value < _INT64:
            converted = {"intValue": str(value)}
        elif kind is bool:
            converted = {"boolValue": value}
        elif kind is float:
            converted = {"doubleValue": value}
        else:
            converted = any_value(value)
        out.append({"key": key if type(key) is str else str(key), "value": converted})
    return out


def _proto_classes() -> tuple[Any, Any, Any] | None:
    try:
        from google.protobuf import json_format
        from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
    except ImportError:
        return None
    return (json_format, logs_service_pb2.ExportLogsServiceRequest,
            logs_service_pb2.ExportLogsServiceResponse)


class Otlp(Destination):
    kind = "otlp"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.url = otlp_logs_url(self.base_url, self.settings.otlp_logs_endpoint)
        self.proto = None
        if self.settings.otlp_protocol == "http/protobuf":
            self.proto = _proto_classes()
            if self.proto is None:
                _log.warning("otlp_protocol http/protobuf needs the otlp-proto extra "
                             "(pip install 'shipper-events[otlp-proto]'); sending JSON")
        resource = dict(self.settings.resource_attributes)
        resource["service.name"] = self.settings.service_name
        self.resource = attributes(resource)

    def log_record(self, doc: dict[str, Any], observed_ns: str) -> dict[str, Any]:
        user, context = split_context(doc)
        properties = doc.get("properties")
        if type(properties) is not dict:
            properties = {}
        ours: dict[str, Any] = {"context": context} if context else {}
        ours["event.id"] = doc.get("id")
        if user:
            ours["user.id"] = user
        else:
            ours["enduser.pseudo.id"] = self.anonymous_id
        if properties.keys() & ours.keys():  # keys must be unique: ours win
            properties = {k: v for k, v in properties.items() if k not in ours}
        record: dict[str, Any] = {"observedTimeUnixNano": observed_ns,
                                  "severityNumber": SEVERITY_INFO, "severityText": "INFO",
                                  "eventName": str(doc.get("event", "")),
                                  "attributes": attributes(properties) + attributes(ours)}
        ms = epoch_ms(doc.get("timestamp"))
        if ms is not None and ms >= 0:
            record["timeUnixNano"] = str(ms * 1_000_000)
        return record

    def translate(self, events: list[bytes], sent_at: float) -> list[Any]:
        observed = str(int(sent_at * 1e9))
        return [self.log_record(doc, observed) for doc in parse_events(events)]

    def batch_request(self, events: list[bytes], sent_at: float) -> Request:
        records = self.translate(events, sent_at)
        document = {"resourceLogs": [{
            "resource": {"attributes": self.resource},
            "scopeLogs": [{"scope": {"name": "shipper", "version": __version__},
                           "logRecords": records}],
        }]}
        if self.proto is None:
            return self.json_request(self.url, document)
        json_format, request_class, _ = self.proto
        body = json_format.ParseDict(document, request_class()).SerializeToString()
        headers = {"Content-Type": "application/x-protobuf"}
        return Request("POST", self.url, headers, compressed(body, headers), len(body))

    def read_reply(self, reply: Reply) -> Answer:
        answer = answer_for_status(
            reply, not_found=self.not_found(f"nothing receives OTLP logs at {self.url}"))
        if answer.kind != ACCEPTED or not reply.body.strip():
            return answer
        rejected, message = self._partial_success(reply)
        if rejected:
            return answer._replace(rejected=rejected,
                                   detail=f"the receiver rejected {rejected} log record(s): "
                                          f"{reply.excerpt(message)}")
        return answer

    def _partial_success(self, reply: Reply) -> tuple[int, str]:
        """``(rejectedLogRecords, errorMessage)`` from an ExportLogsServiceResponse."""
        kind = reply.headers.get("content-type", "")
        if "protobuf" in kind and self.proto is not None:
            try:
                response = self.proto[2]()
                response.ParseFromString(reply.body)
            except Exception:  # noqa: BLE001 - a garbled success is still a success
                return 0, ""
            partial = response.partial_success
            return int(partial.rejected_log_records), str(partial.error_message)
        from .._json import loads

        try:
            partial = loads(reply.body).get("partialSuccess") or {}
            rejected = int(partial.get("rejectedLogRecords") or 0)
            return max(rejected, 0), str(partial.get("errorMessage") or "")
        except (ValueError, TypeError, AttributeError, RecursionError, OverflowError):
            return 0, ""  # a garbled success is still a success
