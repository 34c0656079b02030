"""Cache limits: drop the oldest pending files past ``max_age_days`` or ``max_cache_mb``."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import NamedTuple

from .. import _log
from .._reasons import MAX_AGE, MAX_CACHE
from ._drops import add_drops
from ._spool import Entry, Spool


class PruneResult(NamedTuple):
    files: int
    events: int
    bytes: int
    by_reason: dict[str, int]
    paths: list[str]


def prune(
    spools: Spool | Sequence[Spool],
    *,
    max_age_days: float,
    max_cache_mb: float,
    now: float | None = None,
    dry_run: bool = False,
) -> PruneResult:
    """Remove (or, dry run, list) pending files too old or beyond the size cap, oldest first,
    across ``spools`` (a whole cache: `all_spools`); the cap is for all of them together.

    Files a sync holds are skipped: they are being delivered. Removed events are counted by
    reason in the cache's drop totals and logged.
    """
    spools = [spools] if isinstance(spools, Spool) else list(spools)
    spool = spools[0]
    now = time.time() if now is None else now
    if not dry_run:
        spool.clean_tmp(now)
    entries = sorted((entry for each in spools for entry in each.own_entries()),
                     key=lambda entry: (entry.written_ms, entry.path.name))
    sized: list[tuple[Entry, int]] = []
    for entry in entries:
        try:
            sized.append((entry, entry.path.stat().st_size))
        except OSError:
            continue
    total = sum(size for _, size in sized)
    cap = max_cache_mb * 1024 * 1024
    cutoff_ms = (now - max_age_days * 86400) * 1000
    removed = _Removed(dry_run)
    for entry, size in sized:  # oldest first
        if entry.written_ms < cutoff_ms:
            reason = MAX_AGE
        elif total > cap:
            reason = MAX_CACHE
        else:
            break
        owner = next(each for each in spools if entry.path.parent in (each.pending,
                                                                      each.unbound))
        if reason == MAX_CACHE and total - size < cap:
            # the cap falls inside this file: drop its oldest events, not all of them
            total -= removed.part(owner, entry, size, total - cap)
        else:
            total -= removed.whole(spool, entry, size, reason)
    events = sum(removed.by_reason.values())
    if events and not dry_run:
        add_drops(spool.root, removed.by_reason)
        _log.warning("pruned %d cached events (%s)", events,
                     ", ".join(f"{k}: {v}" for k, v in sorted(removed.by_reason.items())))
    return PruneResult(removed.files, events, removed.bytes, removed.by_reason, removed.paths)


class _Removed:
    """What a prune removed (or, dry run, would remove), file by file."""

    def __init__(self, dry_run: bool) -> None:
        self.dry_run = dry_run
        self.by_reason: dict[str, int] = {}
        self.files = self.bytes = 0
        self.paths: list[str] = []

    def _count(self, entry: Entry, size: int, reason: str, events: int) -> int:
        self.by_reason[reason] = self.by_reason.get(reason, 0) + events
        self.bytes += size
        self.files += 1
        self.paths.append(str(entry.path))
        return size

    def whole(self, spool: Spool, entry: Entry, size: int, reason: str) -> int:
        """Remove a whole file (not one a sync holds: it is being delivered); the bytes."""
        if spool.is_locked(entry.path):
            return 0
        if not self.dry_run:
            try:
                os.unlink(entry.path)
            except FileNotFoundError:
                return 0  # delivered meanwhile
            except OSError as exc:
                _log.warning("cannot prune %s: %s", entry.name, exc.strerror)
                return 0
        return self._count(entry, size, reason, entry.count)

    def part(self, spool: Spool, entry: Entry, size: int, excess: float) -> int:
        """Remove the oldest events of a file until ``excess`` bytes are gone; the rest
        stays. Returns the bytes removed."""
        claim = spool.claim(entry)
        if claim is None:
            return 0  # a sync holds it, or it is gone
        dropped = freed = 0
        for _, raw in claim.events:
            if freed >= excess:
                break
            freed += len(raw) + 1
            dropped += 1
        try:
            if self.dry_run:
                claim.release()
            else:
                claim.keep_only(claim.events[dropped:])
        except OSError as exc:
            _log.warning("cannot prune %s: %s", entry.name, exc.strerror)
            claim.release()
            return 0
        return self._count(entry, freed, MAX_CACHE, dropped) if dropped else 0
