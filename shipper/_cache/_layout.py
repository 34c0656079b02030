"""The on-disk layout of a cache folder: every folder, file and lock, named once.

The layout is a protocol between processes (hooks, syncs, long-running clients) and between
versions of shipper that may share one cache, so nothing else spells these names::

    <root>/                      0700, owned by the user
        pending/<name>           events waiting for delivery, oldest name first
        dead/<name>              events the collector refused (dead letter), with the reason
        quarantine/<ms>-<name>   files that could not be read or parsed, moved aside
        tmp/                     files being written; renamed into place once whole
        state.json               health and breaker state shared by every process
        state.lock               held while state.json is read, changed and replaced
        probe.lock               held by the one process probing the health endpoint
        sync.lock                held by the running sync (a hook hands it to the sync it starts)
        drops.json               events lost on purpose, counted by reason
        drops.lock               held while drops.json is changed

A cache file is JSON Lines: a header ``{"shipper":1,"n":N}`` (plus extra keys, such as the
reason of a dead letter) and then N events, one a line. Its name
``<ms>-<pid>-<random>-<n>.json`` sorts by age and says how many events it holds, so the cache
can be counted without reading a file.

Standard library only, and only what Python has loaded anyway: the hook path imports this.
"""

from __future__ import annotations

import os

FORMAT_VERSION = 1

PENDING = "pending"
DEAD = "dead"
QUARANTINE = "quarantine"
TMP = "tmp"
FOLDERS = (PENDING, DEAD, QUARANTINE, TMP)

STATE_FILE = "state.json"
STATE_LOCK = "state.lock"
PROBE_LOCK = "probe.lock"
SYNC_LOCK = "sync.lock"
DROPS_FILE = "drops.json"
DROPS_LOCK = "drops.lock"

_SUFFIX = ".json"


def file_name(written_ms: int, count: int) -> str:
    """``<ms>-<pid>-<random>-<count>.json`` for a file of ``count`` events written at ``ms``."""
    return f"{written_ms:013d}-{os.getpid()}-{os.urandom(4).hex()}-{count}{_SUFFIX}"


def parse_name(name: str) -> tuple[int, int] | None:
    """``(written_ms, count)`` from a cache file name; None for a name that is not ours."""
    if not name.endswith(_SUFFIX):
        return None
    parts = name[: -len(_SUFFIX)].split("-")
    if len(parts) != 4 or not (parts[0].isdigit() and parts[3].isdigit()):
        return None
    return int(parts[0]), int(parts[3])


def quarantine_name(now_ms: int, name: str) -> str:
    """The name a file gets in quarantine: its old name behind the time it was moved."""
    return f"{now_ms}-{name}"


def quarantined_original(name: str) -> str:
    """The name a quarantined file had before (see `quarantine_name`)."""
    return name.split("-", 1)[1] if "-" in name else name


def join(root: str, *names: str) -> str:
    """A path below ``root``: strings only, no pathlib, for the hook path."""
    return os.path.join(root, *names)
