"""What refusals come to: a receiver that refuses everything is not believed, and a sync
delivers before it prunes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import shipper
from shipper import Shipper

from .conftest import (
    Collector,
    destination_home,
    pending_events,
    write_backlog,
)

pytestmark = pytest.mark.chaos


def test_a_receiver_refusing_everything_is_not_believed(collector: Collector,
                                                        cache_dir: Path) -> None:
    """A collector answering 400 to everything: the events are kept (not dead-lettered),
    the bisection is bounded, and the breaker opens."""
    collector.faults(status=400)
    with Shipper(endpoint=collector.url, shutdown_timeout=5) as s:
        for i in range(200):
            s.track("e", {"i": i})
    assert pending_events(cache_dir) == 200
    home = destination_home(cache_dir, collector.url)
    assert not any((home / "dead").iterdir())
    assert collector.stats()["batch_requests"] <= 70
    state = json.loads((home / "state.json").read_text())
    assert "refused all" in state["breaker"]["reason"]


def test_sync_delivers_before_it_prunes(collector: Collector, cache_dir: Path) -> None:
    """With a healthy collector and a small cache limit, sync delivers everything first
    and prunes nothing."""
    recorded = write_backlog(cache_dir, files=20, per_file=100)  # ~130 KB
    result = shipper.sync(60, endpoint=collector.url, max_cache_mb=0.05)
    assert result.delivered == 2000 and result.pruned == 0
    assert sorted(collector.ids()) == sorted(recorded)
