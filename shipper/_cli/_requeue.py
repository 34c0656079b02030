"""``shipper requeue``: dead letters back to pending, or (``--from``) an earlier destination's
events to the configured one.

An earlier destination is named by the folder name ``shipper status`` shows, or by its URL
(with or without credentials or a query; for OTLP with or without ``/v1/logs``), exactly:
never by a part of one, since a move cannot be undone. Events keep their ids, so a receiver
that already has some of them removes the duplicates.
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from .._cache._spool import Spool, all_spools, elsewhere
from .._config import Settings
from .._kinds import CLICKHOUSE, OTLP, OTLP_LOGS_PATH, public_url


def _names_for(spool: Spool) -> set[str]:
    """The URLs a destination's events may be asked for by: its endpoint as `status` shows
    it, and the endpoint it was configured with (without the logs path OTLP adds, without
    the table ClickHouse's identity adds)."""
    shown = (spool.about.get("endpoint") or "").rstrip("/")
    if not shown:
        return set()
    names = {shown}
    kind = spool.about.get("kind")
    if kind == OTLP and shown.endswith(OTLP_LOGS_PATH):
        names.add(shown[:-len(OTLP_LOGS_PATH)].rstrip("/"))
    elif kind == CLICKHOUSE:
        names.add(shown.rsplit("/", 1)[0])
    return names


def matching(settings: Settings, value: str) -> list[Spool]:
    """The destinations of the cache, other than the configured one, that ``value`` names:
    exactly, by folder name or by URL (with or without its credentials and query), never
    by a part of one."""
    configured = Spool.for_settings(settings).key
    given = public_url(value.strip()).rstrip("/") if "://" in value else None
    if given is not None and not given.partition("://")[2].strip("/"):
        return []  # no host: names nothing
    return [spool for spool in all_spools(settings.cache_path)
            if spool.key is not None and spool.key != configured
            and (value == spool.key or (given is not None and given in _names_for(spool)))]


def requeue(settings: Settings, source: str | None, *, dry_run: bool, as_json: bool,
            out: TextIO, err: TextIO) -> int:
    """The command; its exit status (0 done or nothing to do; 1 nothing matches ``--from``;
    2 no destination is configured to move to)."""
    if source is not None:
        return _requeue_from(settings, source, dry_run=dry_run, as_json=as_json, out=out,
                             err=err)
    moved: list[dict[str, Any]] = []
    total = 0
    for spool in all_spools(settings.cache_path):
        files, events = spool.requeue(dry_run=dry_run)
        if files:
            total += events
            moved.append({"kind": spool.about.get("kind"), "endpoint":
                          spool.about.get("endpoint"), "files": files, "events": events})
    if as_json:
        out.write(json.dumps({"dry_run": dry_run, "events": total, "destinations": moved},
                             indent=2) + "\n")
        return 0
    verb = "would move" if dry_run else "moved"
    out.write(f"{verb} {total} dead-lettered event(s) back to pending\n")
    for m in moved:
        where = f"{m['kind']} {m['endpoint']}" if m["kind"] else "recorded with no endpoint"
        out.write(f"  {where}: {m['events']} event(s) in {m['files']} file(s)\n")
    if total and not dry_run:
        out.write("they are sent by the next sync (`shipper sync`)\n")
    return 0


def _requeue_from(settings: Settings, source: str, *, dry_run: bool, as_json: bool,
                  out: TextIO, err: TextIO) -> int:
    target = Spool.for_settings(settings)
    if target.key is None:
        err.write("shipper requeue --from: no endpoint is set, so there is no destination to "
                  "move the events to; set one first (SHIPPER_ENDPOINT or endpoint in "
                  "config.toml)\n")
        return 2
    sources = matching(settings, source)
    if not sources:
        waiting = [spool.key for spool, _, _ in elsewhere(settings.cache_path, target.key)]
        shown = settings.redact(public_url(source) if "://" in source else source)
        err.write(f"shipper requeue --from: no earlier destination matches {shown!r}"
                  + (f"; these hold events: {', '.join(map(str, waiting))}\n" if waiting
                     else "; no other destination holds events\n"))
        return 1
    moved = []
    total = 0
    for spool in sources:
        files, events = spool.move_to(target, dry_run=dry_run)
        total += events
        moved.append({"folder": spool.key, "kind": spool.about.get("kind"),
                      "endpoint": spool.about.get("endpoint"), "files": files,
                      "events": events})
    destination = f"{settings.destination} {target.about.get('endpoint')}"
    if as_json:
        out.write(json.dumps({"dry_run": dry_run, "events": total, "to": destination,
                              "from": moved}, indent=2) + "\n")
        return 0
    verb = "would move" if dry_run else "moved"
    out.write(f"{verb} {total} event(s) to the configured destination, {destination}\n")
    for m in moved:
        out.write(f"  from {m['kind']} {m['endpoint']} ({m['folder']}): {m['events']} "
                  f"event(s) in {m['files']} file(s)\n")
    if total and not dry_run:
        out.write("they are sent by the next sync (`shipper sync`), with their ids unchanged\n")
    return 0
