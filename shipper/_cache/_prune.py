"""Cache limits: drop the oldest pending files past ``max_age_days`` or ``max_cache_mb``."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import NamedTuple

from .. import _log
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
    victims: list[tuple[Entry, int, str]] = []
    for entry, size in sized:  # oldest first
        if entry.written_ms < cutoff_ms:
            reason = "max_age"
        elif total > cap:
            reason = "max_cache"
        else:
            break
        if spool.is_locked(entry.path):
            continue
        victims.append((entry, size, reason))
        total -= size
    by_reason: dict[str, int] = {}
    removed_bytes = removed_files = 0
    paths = []
    for entry, size, reason in victims:
        if not dry_run:
            try:
                os.unlink(entry.path)
            except FileNotFoundError:
                continue  # delivered meanwhile
            except OSError as exc:
                _log.warning("cannot prune %s: %s", entry.name, exc.strerror)
                continue
        by_reason[reason] = by_reason.get(reason, 0) + entry.count
        removed_bytes += size
        removed_files += 1
        paths.append(str(entry.path))
    events = sum(by_reason.values())
    if events and not dry_run:
        add_drops(spool.root, by_reason)
        _log.warning("pruned %d cached events (%s)", events,
                     ", ".join(f"{k}: {v}" for k, v in sorted(by_reason.items())))
    return PruneResult(removed_files, events, removed_bytes, by_reason, paths)
