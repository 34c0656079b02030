"""``shipper requeue``: dead letters back to pending, or (``--from``) an earlier destination's
events to the configured one.

An earlier destination is named by the folder name ``shipper status`` shows, or by its URL
(any form of it: with or without credentials, a query or the destination's own path such as
``/v1/logs``). Events keep their ids, so a receiver that already has some of them removes
the duplicates.
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from .._cache._spool import Spool, all_spools, elsewhere
from .._config import Settings
from .._kinds import public_url


def _same_place(value: str, endpoint: str) -> bool:
    """Whether URL ``value`` names the destination whose public endpoint is ``endpoint``:
    the same URL, or one its path continues (the destination's own path, a table)."""
    given = public_url(value.strip()).rstrip("/")
    shown = endpoint.rstrip("/")
    return bool(given) and (shown == given or shown.startswith(given + "/"))


def matching(settings: Settings, value: str) -> list[Spool]:
    """The destinations of the cache, other than the configured one, that ``value`` names."""
    configured = Spool.for_settings(settings).key
    found = []
    for spool in all_spools(settings.cache_path):
        if spool.key is None or spool.key == configured:
            continue
        endpoint = spool.about.get("endpoint") or ""
        if value == spool.key or ("://" in value and endpoint and _same_place(value, endpoint)):
            found.append(spool)
    return found


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
        err.write(f"shipper requeue --from: no earlier destination matches {source!r}"
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
