"""One event a destination cannot take costs only itself.

An event that cannot be translated or encoded for its destination (a ``before_send`` that
made its context a string, properties nested deeper than protobuf takes) is dead-lettered
with the reason, and everything recorded before and after it is delivered. A failure of
ours while one cache file is delivered never blocks the files behind it.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from shipper import Shipper
from shipper._cache._spool import Spool
from shipper._config import load_settings
from shipper._courier import MAX_FILE_FAILURES, Courier
from shipper._destinations._base import Reply
from shipper._destinations._native import Native
from shipper._oneshot import record

from .conftest import FakeClock, Receiver, destination_home, events_on_disk, pending_events
from .test_destinations_http import sync


def stringify_context_of_the_bad_one(event: dict[str, Any]) -> dict[str, Any]:
    """A user's before_send with a bug: it makes one event's context a string."""
    if event["properties"].get("bad"):
        event["context"] = "oops"
    return event


def dead_letters(home: Path) -> list[tuple[str, list[str]]]:
    """(reason, ids) of each dead-letter file of a destination."""
    out = []
    for path in sorted((home / "dead").iterdir()):
        lines = path.read_bytes().splitlines()
        out.append((json.loads(lines[0])["reason"], [json.loads(x)["id"] for x in lines[1:]]))
    return out


@pytest.mark.parametrize("kind", ["posthog", "segment"])
def test_an_event_the_destination_cannot_translate_is_dead_lettered_alone(
        kind: str, tmp_path: Path, cache_dir: Path) -> None:
    """1 event whose context before_send made a string, among 50 good ones, recorded while
    the receiver was down: `shipper sync` delivers the 50 and dead-letters the 1 with the
    reason (it used to stall the whole destination, 0 requests, for good)."""
    r = Receiver(tmp_path, kind)
    settings = load_settings({"destination": kind, "endpoint": r.url, "api_key": "key-1"})

    def track(props: dict[str, Any]) -> str | None:  # as shipper.track, without its sync
        return record(settings, "e", props, start_sync=False,
                      before_send=stringify_context_of_the_bad_one)[0]

    good = [track({"i": i}) for i in range(25)]
    bad = track({"bad": True})
    good += [track({"i": i}) for i in range(25, 50)]
    assert pending_events(cache_dir) == 51
    r.start()
    try:
        result = sync(cache_dir, r)
        assert (result["delivered"], result["dead_lettered"], result["pending_events"]) == (
            50, 1, 0)
        assert sorted(r.ids()) == sorted(good)
        [(reason, ids)] = dead_letters(destination_home(cache_dir, r.url, kind))
        assert ids == [bad] and f"cannot be translated for {kind}" in reason
    finally:
        r.stop()


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(depth):
        value = {"k": value}
    return value


def test_a_property_too_deep_for_protobuf_costs_only_its_event(cache_dir: Path) -> None:
    """OTLP protobuf, a running client: one event whose properties nest past protobuf's
    recursion limit is dead-lettered; the 200 around it are delivered (before, all 201
    stuck, a traceback every cycle)."""
    from opentelemetry.proto.collector.logs.v1 import logs_service_pb2

    received: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        body = request.content
        if request.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        export = logs_service_pb2.ExportLogsServiceRequest()
        export.ParseFromString(body)
        for logs in export.resource_logs:
            for scope in logs.scope_logs:
                for log in scope.log_records:
                    received.extend(a.value.string_value for a in log.attributes
                                    if a.key == "event.id")
        return httpx.Response(200)

    with Shipper(destination="otlp", endpoint="http://collector.test",
                 otlp_protocol="http/protobuf", transport=httpx.MockTransport(handle),
                 shutdown_timeout=5) as s:
        good = [s.track("e", {"i": i}) for i in range(100)]
        bad = s.track("e", {"deep": nested(31)})
        good += [s.track("e", {"i": i}) for i in range(100, 200)]
        s.flush(5)
        stats = s.stats()
    assert sorted(received) == sorted(good)
    assert stats["dead_lettered"] == 1 and pending_events(cache_dir) == 0
    home = destination_home(cache_dir, "http://collector.test", "otlp")
    [(reason, ids)] = dead_letters(home)
    assert ids == [bad] and "cannot be translated for otlp" in reason


class Fragile(Native):
    """A destination with a bug: asked for its size limit right after it built a batch
    holding a poisoned event, it raises."""

    poisoned = False

    def batch_request(self, events: list[bytes], sent_at: float) -> Any:
        self.poisoned = any(b"poison" in event for event in events)
        return super().batch_request(events, sent_at)

    @property
    def max_request_bytes(self) -> int | None:
        if self.poisoned:
            raise RuntimeError("a bug of ours")
        return None


async def test_a_file_whose_delivery_raises_never_blocks_the_files_behind_it(
        cache_dir: Path, clock: FakeClock) -> None:
    """A failure of ours while one cache file is delivered: the files behind it are still
    delivered (its group is tried again file by file); the failing file is counted and, after
    a few failed drains, moved to quarantine, where it blocks nothing."""
    settings = load_settings({"endpoint": "http://collector.test", "health_path": ""})
    spool = Spool.for_settings(settings)
    delivered: list[str] = []

    def accept(request: httpx.Request) -> httpx.Response:
        body = request.content
        if request.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        delivered.extend(e["id"] for e in json.loads(body)["batch"])
        return httpx.Response(200)

    def event(i: int, name: str = "e") -> bytes:
        return json.dumps({"id": f"00000000-0000-7000-8000-{i:012d}", "event": name}).encode()

    spool.write([event(1), event(2)], written_ms=1)
    spool.write([event(3, "poison")], written_ms=2)
    spool.write([event(4), event(5)], written_ms=3)
    async with httpx.AsyncClient(transport=httpx.MockTransport(accept)) as client:
        courier = Courier(settings, Fragile(settings), spool, client, clock=clock,
                          sleep=clock.sleep)
        first = await courier.drain(_never(clock))
        assert len(delivered) == 4 and first.failed_files == 1
        assert [e["event"] for e in events_on_disk(cache_dir)] == ["poison"]
        for _ in range(MAX_FILE_FAILURES - 1):
            await courier.drain(_never(clock))
    assert events_on_disk(cache_dir) == [] and len(delivered) == 4
    assert len(list((cache_dir / "quarantine").iterdir())) == 1


def _never(clock: FakeClock) -> Any:
    from shipper._clock import Deadline

    return Deadline.never(clock)


class Garbled(Native):
    """A destination with a bug in reading answers: every reading raises."""

    def read_reply(self, reply: Reply) -> Any:
        raise OverflowError("cannot convert float infinity to integer")


async def test_an_answer_a_reader_fails_on_is_read_by_its_status(
        cache_dir: Path, clock: FakeClock) -> None:
    """A bug in reading the receiver's answer does not turn a 200 into a failure (which sent
    the accepted file again and again, then quarantined it): the status decides, and the
    events are delivered once."""
    settings = load_settings({"endpoint": "http://collector.test", "health_path": ""})
    spool = Spool.for_settings(settings)
    posted = []

    def accept(request: httpx.Request) -> httpx.Response:
        posted.append(request)
        return httpx.Response(200)

    spool.write([json.dumps({"id": "00000000-0000-7000-8000-000000000001",
                             "event": "e"}).encode()])
    async with httpx.AsyncClient(transport=httpx.MockTransport(accept)) as client:
        courier = Courier(settings, Garbled(settings), spool, client, clock=clock,
                          sleep=clock.sleep)
        result = await courier.drain(_never(clock))
    assert (result.delivered, result.failed_files, len(posted)) == (1, 0, 1)
    assert events_on_disk(cache_dir) == []
    assert not list(cache_dir.glob("quarantine/*"))
