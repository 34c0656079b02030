"""What `shipper.sync()` and `shipper sync` report: never success after a failure, the true
count of what is left, and what a sync running beside it did."""

from __future__ import annotations

from pathlib import Path

import shipper

from .conftest import Collector, pending_events, write_backlog


def test_a_sync_that_fails_inside_says_so_with_the_true_pending_count(
        cache_dir: Path, collector: Collector) -> None:
    """A failure inside the sync (here the caller's progress callback raises): the result is
    not ok, names the error, and counts what is still pending (it used to say "0 pending",
    ok, while 11 waited)."""
    write_backlog(cache_dir, 11, 1)

    def progress(done: int, total: int) -> None:
        raise RuntimeError("the caller's progress bar broke")

    result = shipper.sync(30, progress=progress, endpoint=collector.url, batch_size=5)
    assert not result.ok and result.error is not None and "RuntimeError" in result.error
    assert result.pending_events == pending_events(cache_dir) > 0
