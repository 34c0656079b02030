"""Helpers for the tests of programs that record events with shipper.

``capture()`` is the one: inside its block, every event recorded in this process goes into
the list it yields, as the configured destination would receive it, and nowhere else.

    from shipper import Shipper
    from shipper.testing import capture

    def test_signup_is_tracked() -> None:
        with capture() as events:
            signup("ada@example.com")       # your code, with its Shipper or shipper.track
        assert [e["event"] for e in events] == ["signup"]

Modelled on structlog's ``structlog.testing.capture_logs``.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import TYPE_CHECKING, Any

from . import _event, _log

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ._config import Settings
    from ._destinations._base import Destination

__all__ = ["Captured", "capture"]


class Captured(list[dict[str, Any]]):
    """What `capture` yields: the events, as the destination would receive them, in the
    order they were recorded; and in ``refused`` the events their destination would refuse
    (one it cannot translate or encode: real delivery dead-letters it with this reason and
    delivers the rest), each ``{"id", "event", "destination", "reason", "native"}``, the
    last the event as recorded, in shipper's own format."""

    refused: list[dict[str, Any]]

    def __init__(self) -> None:
        super().__init__()
        self.refused = []


class _Sink:
    """One open capture: the list it fills, and each configuration's destination (what
    translates the events), made the first time that configuration records one."""

    def __init__(self, anonymous_id: str) -> None:
        self.events = Captured()
        self.anonymous_id = anonymous_id
        self._destinations: dict[Settings, Destination] = {}
        self._lock = threading.Lock()

    def __call__(self, settings: Settings, raw: bytes) -> None:
        """Take one event: translated into the list, or, where its destination fails on it
        (any exception: one event's fault, as in real delivery), into ``refused``. Never
        raises: the recording call returns the event's id, as it does outside a test."""
        try:
            destination = self._destination(settings)
            items = destination.translate([raw], time.time())
        except Exception as exc:  # noqa: BLE001 - delivered, this event alone is refused
            from ._destinations._base import MAX_REASON, untranslatable
            from ._json import loads

            reason = settings.redact(untranslatable(settings.destination, exc))[:MAX_REASON]
            native = loads(raw)
            _log.warning("captured event %r refused by %s: %s", native.get("event"),
                         settings.destination, reason)
            with self._lock:
                self.events.refused.append({
                    "id": native.get("id"), "event": native.get("event"),
                    "destination": settings.destination, "reason": reason, "native": native})
            return
        with self._lock:  # events from many threads: each one whole, in the order taken
            self.events.extend(items)

    def _destination(self, settings: Settings) -> Destination:
        known = self._destinations.get(settings)
        if known is None:
            from ._destinations._select import destination_for

            known = self._destinations[settings] = destination_for(settings,
                                                                   self.anonymous_id)
        return known


@contextlib.contextmanager
def capture(*, anonymous_id: str | None = None) -> Iterator[Captured]:
    """Collect the events recorded inside the block, with no network and no disk.

    Every event that any `Shipper`, `AsyncShipper` or `shipper.track` of this process
    records while the block is open (from any thread or task: recording happens in the
    call itself, on the caller's thread) goes into the yielded list instead of a queue, the
    disk cache or the network, translated as its client's destination would receive it: a
    native event for ``shipper`` (and ``webhook``), a batch item for ``segment`` and
    ``posthog``, a log record for ``otlp``, a row for ``clickhouse``. ``before_send``, the
    ``properties`` and ``user_id`` settings and size limits apply as they always do; a
    disabled client records nothing, here as anywhere. An event its destination cannot
    translate (a ``before_send`` that made its context a string, say) is recorded as
    anywhere (the call returns its id) and is in the list's ``refused``, with the reason
    its dead letter would carry, not in the list (see `Captured`).

    Blocks nest: an event recorded inside an inner block is in the lists of every block
    open around it. ``anonymous_id`` is the id events without a user are sent with
    (otherwise a new one for each block: the disk cache's own is never read). A client
    created inside the block starts no delivery thread or task; one already running keeps
    delivering what it had queued before.
    """
    sink = _Sink(anonymous_id or _event.uuid7())
    _event.capture_sinks.append(sink)
    try:
        yield sink.events
    finally:
        _event.capture_sinks.remove(sink)
