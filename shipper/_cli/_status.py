"""What is pending and why: the data behind ``shipper status``, and its human rendering.

The top-level counts are the whole cache; ``destinations`` has one entry per destination with
events (pending or dead-lettered), and ``breaker`` and ``health`` are those of the configured
destination. Events recorded while no endpoint was set are ``unbound_events``: the first
destination that syncs takes them.
"""

from __future__ import annotations

import os
from typing import Any

from .._cache._drops import read_drops
from .._cache._layout import SYNC_LOCK
from .._cache._spool import Entry, Spool, all_spools
from .._cache._state import SharedState
from .._clock import SystemClock
from .._config import Settings
from .._gate import paused_until
from .._kinds import public_url

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .._clock import Clock


def public_endpoint(endpoint: str | None) -> str | None:
    """The endpoint with any user:password part and query removed, safe to print."""
    return public_url(endpoint) if endpoint else None


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    from .._event import rfc3339_ms

    return rfc3339_ms(ts)


def _size(entries: list[Entry]) -> int:
    total = 0
    for entry in entries:
        try:
            total += entry.path.stat().st_size
        except OSError:
            continue
    return total


def _state(spool: Spool, settings: Settings, clock: Clock) -> dict[str, Any]:
    """The breaker and health of one destination, for people."""
    snap = SharedState(spool.home, clock, threshold=settings.breaker_threshold,
                       cooldown=settings.breaker_cooldown).read()
    now, mono = clock.time(), clock.monotonic()
    breaker = snap.breaker
    state = breaker.state(mono)
    open_until = None
    if state == "open" and breaker.opened_mono is not None:
        open_until = now + (breaker.opened_mono + breaker.cooldown - mono)
    health = snap.health
    pause_end = paused_until(snap, mono)
    return {
        "pause": None if pause_end is None or snap.pause is None else {
            "until": _iso(now + (pause_end - mono)), "reason": snap.pause.reason or None},
        "breaker": {
            "state": state,
            "failures": breaker.failures,
            # redacted again: a state.json written by an older shipper may hold secrets
            "reason": settings.redact(breaker.reason) or None,
            "cooldown_s": breaker.cooldown if breaker.opened_mono is not None else None,
            "open_until": _iso(open_until),
        },
        "health": {
            "healthy": health.healthy if health else None,
            "checked_at": _iso(health.checked_wall) if health else None,
            "age_s": round(mono - health.checked_mono, 3) if health else None,
            "detail": settings.redact(health.detail) if health else None,
        },
    }


def _summary(spool: Spool, settings: Settings, clock: Clock, now: float) -> dict[str, Any]:
    entries = spool.own_entries()
    oldest = entries[0].written_ms / 1000 if entries else None
    dead_files, dead_events = spool.folder_count(spool.dead)
    return {
        "kind": spool.about.get("kind"),
        "endpoint": spool.about.get("endpoint"),
        "name": spool.key,
        "folder": str(spool.home),
        "pending_events": sum(e.count for e in entries),
        "pending_files": len(entries),
        "pending_bytes": _size(entries),
        "oldest_pending_at": _iso(oldest),
        "oldest_pending_age_s": round(now - oldest, 3) if oldest is not None else None,
        "newest_pending_age_s": (round(now - entries[-1].written_ms / 1000, 3) if entries
                                 else None),
        "dead_letter_events": dead_events,
        "dead_letter_files": dead_files,
        "sync_running": _sync_running(spool),
        **_state(spool, settings, clock),
    }


def collect_status(settings: Settings) -> dict[str, Any]:
    clock = SystemClock()
    now = clock.time()
    configured = Spool.for_settings(settings)
    spools = all_spools(settings.cache_path)
    if configured.key and configured.key not in {s.key for s in spools}:
        spools.append(configured)
    summaries = {s.key: _summary(s, settings, clock, now) for s in spools}
    unbound = summaries.pop(None)
    mine = summaries.get(configured.key, unbound)
    everything = [unbound, *summaries.values()]
    ages = [s["oldest_pending_age_s"] for s in everything if s["oldest_pending_age_s"]]
    oldest_age = max(ages) if ages else None
    quarantined, _ = configured.folder_count(configured.quarantine)
    others = [summary for key, summary in summaries.items() if key != configured.key]
    recorded = (any(s.key and os.path.isdir(s.home) for s in spools)
                or bool(unbound["pending_events"] or unbound["dead_letter_events"]))
    return {
        "endpoint": public_endpoint(settings.endpoint),
        "destination": settings.destination,
        "cache_dir": str(configured.root),
        "disabled": settings.disabled,
        "pending_events": sum(s["pending_events"] for s in everything),
        "pending_files": sum(s["pending_files"] for s in everything),
        "pending_bytes": sum(s["pending_bytes"] for s in everything),
        "oldest_pending_at": _iso(now - oldest_age) if oldest_age is not None else None,
        "oldest_pending_age_s": oldest_age,
        "unbound_events": unbound["pending_events"],
        # waiting for a destination that is not the configured one: no sync sends them
        "other_destination_events": sum(d["pending_events"] + d["dead_letter_events"]
                                        for d in others),
        "dead_letter_events": sum(s["dead_letter_events"] for s in everything),
        "dead_letter_files": sum(s["dead_letter_files"] for s in everything),
        "quarantined_files": quarantined,
        "quarantine_dir": str(configured.quarantine),
        "breaker": mine["breaker"],
        "health": mine["health"],
        "sync_running": mine["sync_running"],
        "destinations": [
            {**summary, "configured": key == configured.key}
            for key, summary in summaries.items()
            if summary["pending_events"] or summary["dead_letter_events"]
            or key == configured.key
        ],
        "dropped": read_drops(configured.root),
        "recorded": recorded,  # whether any event was ever recorded in this cache
        "cache_problem": _cache_problem(configured),
    }


def _cache_problem(spool: Spool) -> str | None:
    """Why the cache folder cannot be used now, or None."""
    try:
        spool.ensure()
    except OSError as exc:
        return f"{exc.strerror or exc}: {exc.filename or spool.root}"
    return None


def _sync_running(spool: Spool) -> bool:
    path = spool.home / SYNC_LOCK
    return path.exists() and spool.is_locked(path)


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _why(st: dict[str, Any]) -> list[str]:
    why = []
    if not st["endpoint"]:
        why.append("no endpoint is set: events are kept on disk until you set SHIPPER_ENDPOINT "
                   "or endpoint in config.toml")
    pause = st.get("pause")
    if pause:
        why.append(f"the collector asked to wait until {pause['until']} "
                   f"({pause['reason'] or 'Retry-After'}): every process of this machine waits")
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
    return why


def _destination_lines(st: dict[str, Any]) -> list[str]:
    lines = []
    for d in st["destinations"]:
        if not d["configured"] or not (d["pending_events"] or d["dead_letter_events"]):
            continue
        text = f"  {d['kind']} {d['endpoint']} (configured): {d['pending_events']} pending"
        if d["dead_letter_events"]:
            text += f", {d['dead_letter_events']} dead-lettered"
        lines.append(text)
    if st["unbound_events"]:
        lines.append(f"  recorded with no endpoint: {st['unbound_events']} pending (the first "
                     "destination that syncs takes them)")
    return lines


def other_destination_lines(st: dict[str, Any]) -> list[str]:
    """Events that wait for a destination other than the configured one, which no sync
    sends: where they are, and the command that moves them to the configured one."""
    lines = []
    for d in st["destinations"]:
        if d["configured"] or not (d["pending_events"] or d["dead_letter_events"]):
            continue
        held = f"{d['pending_events']} pending"
        if d["dead_letter_events"]:
            held += f", {d['dead_letter_events']} dead-lettered"
        lines.append(f"  {d['kind']} {d['endpoint']} (folder {d['name']}): {held}, the "
                     f"newest from {_age(d['newest_pending_age_s'] or 0)} ago; a sync "
                     "configured as this one does not send them (a program still configured "
                     "for that destination does): if none is, `shipper requeue --from "
                     f"{d['name']}` moves them to the configured one")
    return lines


def render_status(st: dict[str, Any]) -> str:
    """A doctor's note: what is pending, and why it is not moving."""
    shown = f"{st['endpoint']} ({st['destination']})" if st["endpoint"] else "(none set)"
    lines = [f"endpoint:   {shown}", f"cache:      {st['cache_dir']}"]
    if st["cache_problem"]:
        lines.append(f"problem:    the cache folder cannot be used ({st['cache_problem']}): "
                     "nothing can be recorded; set cache_dir to a folder you own")
    if st["disabled"]:
        lines.append("shipper is DISABLED (disabled=true or DO_NOT_TRACK=1): nothing is recorded.")
    others = st["other_destination_events"]
    mine = st["pending_events"] - sum(d["pending_events"] for d in st["destinations"]
                                      if not d["configured"])
    if st["pending_events"]:
        lines.append(
            f"pending:    {st['pending_events']} event(s) in {st['pending_files']} file(s), "
            f"{st['pending_bytes'] / 1024:.1f} KiB, oldest from {st['oldest_pending_at']} "
            f"({_age(st['oldest_pending_age_s'])} ago)")
        if (st["unbound_events"] or others) and st["endpoint"]:
            lines += _destination_lines(st)  # not all of it is the configured destination's
    elif not st["recorded"] and not st["dropped"]:
        lines.append("pending:    nothing; no event has been recorded in this cache yet")
    else:
        caveats = [f"{sum(st['dropped'].values())} event(s) were dropped"] if st["dropped"] else []
        if st["dead_letter_events"]:
            caveats.append(f"{st['dead_letter_events']} event(s) were refused (dead letter)")
        if st["quarantined_files"]:
            caveats.append(f"{st['quarantined_files']} file(s) are in quarantine")
        lines.append("pending:    nothing; " + (f"but {', '.join(caveats)} (see below)"
                                                if caveats else
                                                "every recorded event was delivered"))
    if others:
        lines.append(f"elsewhere:  {others} event(s) wait for a destination that is not "
                     "configured now:")
        lines += other_destination_lines(st)
    why = _why(st)
    if mine and why:
        lines.append("why:        " + "\n            ".join(why))
    elif mine and st["sync_running"]:
        lines.append("why:        a sync is delivering them now")
    elif mine:
        lines.append("why:        waiting for the next hook or `shipper sync`")
    health = st["health"]
    if health["checked_at"]:
        verdict = {True: "healthy", False: "unhealthy", None: "unknown"}[health["healthy"]]
        lines.append(f"health:     {verdict} (checked {health['checked_at']})")
    if st["dead_letter_events"]:
        lines.append(f"dead letter: {st['dead_letter_events']} event(s) the receiver refused "
                     "(`shipper requeue` sends them again)")
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
