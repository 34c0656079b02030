"""What is pending and why: the data behind ``shipper status``, and its human rendering."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .._cache._drops import read_drops
from .._cache._layout import SYNC_LOCK
from .._cache._spool import Spool
from .._cache._state import SharedState
from .._clock import SystemClock
from .._config import Settings


def public_endpoint(endpoint: str | None) -> str | None:
    """The endpoint with any user:password part removed, safe to print."""
    if not endpoint:
        return None
    try:
        parts = urlsplit(endpoint)
    except ValueError:
        return "<unparseable endpoint>"
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    from .._event import rfc3339_ms

    return rfc3339_ms(ts)


def collect_status(settings: Settings) -> dict[str, Any]:
    spool = Spool(settings.cache_path)
    clock = SystemClock()
    now = clock.time()
    entries = spool.entries()
    pending_bytes = 0
    for entry in entries:
        try:
            pending_bytes += entry.path.stat().st_size
        except OSError:
            continue
    oldest = entries[0].written_ms / 1000 if entries else None
    dead_files, dead_events = spool.folder_count(spool.dead)
    quarantined, _ = spool.folder_count(spool.quarantine)
    snap = SharedState(spool.root, clock, threshold=settings.breaker_threshold,
                       cooldown=settings.breaker_cooldown).read()
    mono = clock.monotonic()
    breaker = snap.breaker
    state = breaker.state(mono)
    open_until = None
    if state == "open" and breaker.opened_mono is not None:
        open_until = now + (breaker.opened_mono + breaker.cooldown - mono)
    health = snap.health
    return {
        "endpoint": public_endpoint(settings.endpoint),
        "cache_dir": str(spool.root),
        "disabled": settings.disabled,
        "pending_events": sum(e.count for e in entries),
        "pending_files": len(entries),
        "pending_bytes": pending_bytes,
        "oldest_pending_at": _iso(oldest),
        "oldest_pending_age_s": round(now - oldest, 3) if oldest is not None else None,
        "dead_letter_events": dead_events,
        "dead_letter_files": dead_files,
        "dead_letter_dir": str(spool.dead),
        "quarantined_files": quarantined,
        "quarantine_dir": str(spool.quarantine),
        "breaker": {
            "state": state,
            "failures": breaker.failures,
            "reason": breaker.reason or None,
            "cooldown_s": breaker.cooldown if breaker.opened_mono is not None else None,
            "open_until": _iso(open_until),
        },
        "health": {
            "healthy": health.healthy if health else None,
            "checked_at": _iso(health.checked_wall) if health else None,
            "age_s": round(mono - health.checked_mono, 3) if health else None,
            "detail": health.detail if health else None,
        },
        "dropped": read_drops(spool.root),
        "sync_running": _sync_running(spool),
    }


def _sync_running(spool: Spool) -> bool:
    path = spool.root / SYNC_LOCK
    return path.exists() and spool.is_locked(path)


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def render_status(st: dict[str, Any]) -> str:
    """A doctor's note: what is pending, and why it is not moving."""
    lines = [f"endpoint:   {st['endpoint'] or '(none set)'}", f"cache:      {st['cache_dir']}"]
    if st["disabled"]:
        lines.append("shipper is DISABLED (disabled=true or DO_NOT_TRACK=1): nothing is recorded.")
    if st["pending_events"]:
        lines.append(
            f"pending:    {st['pending_events']} event(s) in {st['pending_files']} file(s), "
            f"{st['pending_bytes'] / 1024:.1f} KiB, oldest from {st['oldest_pending_at']} "
            f"({_age(st['oldest_pending_age_s'])} ago)")
    else:
        lines.append("pending:    nothing; every recorded event was delivered")
    why = []
    if not st["endpoint"]:
        why.append("no endpoint is set: events are kept on disk until you set SHIPPER_ENDPOINT "
                   "or endpoint in config.toml")
    br = st["breaker"]
    if br["state"] == "open":
        why.append(f"delivery is paused until {br['open_until']} after {br['failures']} "
                   f"failure(s): {br['reason'] or 'service failures'}")
    elif br["state"] == "half_open":
        why.append(f"the next delivery is a trial after failures ({br['reason']})")
    health = st["health"]
    if health["healthy"] is False:
        why.append(f"the last health probe failed at {health['checked_at']}: {health['detail']}")
    if br["reason"] and "HTTP 40" in (br["reason"] or ""):
        why.append("the collector refused our credentials or address: check api_key and "
                   "endpoint, then run `shipper sync`")
    if st["pending_events"] and why:
        lines.append("why:        " + "\n            ".join(why))
    elif st["pending_events"] and st["sync_running"]:
        lines.append("why:        a sync is delivering them now")
    elif st["pending_events"]:
        lines.append("why:        waiting for the next hook or `shipper sync`")
    if health["checked_at"]:
        verdict = {True: "healthy", False: "unhealthy", None: "unknown"}[health["healthy"]]
        lines.append(f"health:     {verdict} (checked {health['checked_at']})")
    if st["dead_letter_events"]:
        lines.append(f"dead letter: {st['dead_letter_events']} event(s) the collector refused, "
                     f"in {st['dead_letter_dir']}")
    if st["quarantined_files"]:
        lines.append(f"quarantine: {st['quarantined_files']} unreadable file(s) in "
                     f"{st['quarantine_dir']}")
    if st["dropped"]:
        lines.append("dropped:    " + ", ".join(
            f"{n} {reason.replace('_', ' ')}" for reason, n in sorted(st["dropped"].items())))
    return "\n".join(lines)


def free_bytes(path: str) -> int | None:
    try:
        info = os.statvfs(path)
    except OSError:
        return None
    return info.f_bavail * info.f_frsize

