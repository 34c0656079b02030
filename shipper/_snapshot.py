"""A parsed copy of the config file, so that a hook need not import :mod:`tomllib`.

Parsing TOML imports ``tomllib``, ``re``, ``typing`` and ``datetime``: about as long as
all the rest of a hook. The first short-lived process that parses a config file therefore
leaves what it read in ``config-snapshot.json`` in the default cache folder (the
configuration says where, see `shipper._config`), and the next
ones use that while the file is unchanged.

"Unchanged" is the file's device, inode, size, modification and change times, as git's
index compares them. A file written within ``_SETTLE_S`` of being read is not snapshotted
(its times could be rewritten within the clock's granularity without changing), so an edit
is always seen. Secrets are never copied: ``api_key`` and ``headers`` are left out (a hook
does not send anything; the sync it starts reads the file itself), and a file whose endpoint
carries credentials or a query string is not snapshotted at all. The snapshot is advisory:
missing, damaged or stale, it is simply not used.
"""

from __future__ import annotations

import os
import time

from ._kinds import public_url

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Collection
    from typing import Any

SNAPSHOT_FILE = "config-snapshot.json"
SECRET_KEYS = frozenset({"api_key", "headers"})
_URL_KEYS = ("endpoint", "otlp_logs_endpoint")
_SETTLE_S = 2.0
_MAX_ENTRIES = 8
_PLAIN = (str, int, float, bool)


def stamp_of(info: os.stat_result) -> list[int]:
    return [info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns]


def cached(where: str, path: str, stamp: list[int]) -> dict[str, Any] | None:
    """The values of config file ``path`` as last parsed, if it still has ``stamp``, from
    the snapshot file ``where`` ("": none)."""
    if not where:
        return None
    from ._cache._files import read_json

    entry = read_json(where).get(path)
    if not isinstance(entry, dict) or entry.get("stamp") != stamp:
        return None
    values = entry.get("values")
    return values if isinstance(values, dict) else None


def _json_like(value: object, depth: int = 0) -> bool:
    """Whether JSON keeps ``value`` as it is (TOML's dates and times it does not)."""
    if isinstance(value, _PLAIN):
        return True
    if depth > 16:
        return False
    if isinstance(value, list):
        return all(_json_like(item, depth + 1) for item in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _json_like(v, depth + 1) for k, v in value.items())
    return False


def _shareable(values: dict[str, Any], keys: Collection[str]) -> dict[str, Any] | None:
    """What of the parsed file may be copied: settings (``keys``), no secrets; None when an
    endpoint holds credentials or a query, or when a setting holds what JSON would change
    (a TOML date among the ``properties``): then nothing is copied, and hooks parse the file
    itself rather than miss a setting."""
    kept: dict[str, Any] = {}
    for key, value in values.items():
        if key not in keys or key in SECRET_KEYS:
            continue
        if key in _URL_KEYS and isinstance(value, str) and public_url(value) != value:
            return None
        if not _json_like(value):
            return None
        kept[key] = value
    return kept


def remember(where: str, path: str, stamp: list[int], values: dict[str, Any],
             keys: Collection[str]) -> None:
    """Keep ``values`` (just parsed from ``path``, which has ``stamp``) for the next hook, in
    the snapshot file ``where`` ("": none), those of ``keys`` (the settings) that may be
    kept. Never raises: a snapshot that cannot be written only means the next hook parses."""
    try:
        if time.time_ns() - max(stamp[3], stamp[4]) < _SETTLE_S * 1e9:
            return  # written a moment ago: its times could change again unseen
        kept = _shareable(values, keys)
        if kept is None or not where:
            return
        from ._cache._files import ensure_cache, read_json, write_json

        ensure_cache(os.path.dirname(where))
        entries = {k: v for k, v in read_json(where).items() if k != path}
        entries = dict(list(entries.items())[-(_MAX_ENTRIES - 1):])
        entries[path] = {"stamp": stamp, "values": kept}
        write_json(where, entries)
    except Exception:  # noqa: BLE001, S110 - advisory: the next hook parses the file again
        pass
