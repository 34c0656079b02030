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

__all__ = ["capture"]


class _Sink:
    """One open capture: the list it fills, and each configuration's destination (what
    translates the events), made the first time that configuration records one."""

    def __init__(self, anonymous_id: str) -> None:
        self.events: list[dict[str, Any]] = []
        self.anonymous_id = anonymous_id
        self._destinations: dict[Settings, Destination] = {}
        self._lock = threading.Lock()

    def __call__(self, settings: Settings, raw: bytes) -> None:
        from ._destinations._base import Unsendable

        destination = self._destination(settings)
        try:
            items = destination.translate([raw], time.time())
        except Unsendable as exc:  # delivered, this event would go to the dead letter
            _log.warning("captured event not sendable to %s, left out: %s",
                         settings.destination, exc.reason)
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
def capture(*, anonymous_id: str | None = None) -> Iterator[list[dict[str, Any]]]:
    """Collect the events recorded inside the block, with no network and no disk.

    Every event that any `Shipper`, `AsyncShipper` or `shipper.track` of this process
    records while the block is open (from any thread or task: recording happens in the
    call itself, on the caller's thread) goes into the yielded list instead of a queue, the
    disk cache or the network, translated as its client's destination would receive it: a
    native event for ``shipper`` (and ``webhook``), a batch item for ``segment`` and
    ``posthog``, a log record for ``otlp``, a row for ``clickhouse``. ``before_send``, the
    ``properties`` and ``user_id`` settings and size limits apply as they always do; a
    disabled client records nothing, here as anywhere.

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
