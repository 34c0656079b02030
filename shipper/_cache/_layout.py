"""The on-disk layout of a cache folder: every folder, file and lock, named once.

The layout is a protocol between processes (hooks, syncs, long-running clients) and between
versions of shipper that may share one cache, so nothing else spells these names::

    <root>/                      0700, owned by the user
        pending/<name>           events recorded while no endpoint was set: the first
                                 destination that syncs takes them (0.1 kept all events here)
        dead/<name>              refused events from pending/ (dead letter), with the reason
        quarantine/<ms>-<name>   files that could not be read or parsed, moved aside
        tmp/                     files being written; renamed into place once whole
        drops.json               events lost on purpose, counted by reason
        drops.lock               held while drops.json is changed
        anonymous_id             the random id sent where no user_id is set, made once
        path_key                 the secret key of hash_paths (0600), made once, never sent
        config-snapshot.json     the parsed config file for hooks, no secrets (_snapshot)
        destinations/<key>/      one destination: its kind and endpoint (see destination_key)
            destination.json     {"kind": ..., "endpoint": ...} for people (no credentials)
            pending/<name>       events recorded for this destination, oldest name first
            dead/<name>          events it refused (dead letter), with the reason
            state.json           its health and breaker state, shared by every process
            state.lock           held while state.json is read, changed and replaced
            paused-until         until when state.json says wait (monotonic, with the boot
                                 id): what hooks read instead of state.json
            probe.lock           held by the one process probing its health endpoint
            sync.lock            held by its running sync (a hook hands it to the sync it starts)
            failures.json        pending files whose delivery raised, by name: how often
            failures.lock        held while failures.json is changed

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
PAUSE_FILE = "paused-until"
PROBE_LOCK = "probe.lock"
SYNC_LOCK = "sync.lock"
FAILURES_FILE = "failures.json"
FAILURES_LOCK = "failures.lock"
DROPS_FILE = "drops.json"
DROPS_LOCK = "drops.lock"
ANONYMOUS_ID = "anonymous_id"
PATH_KEY = "path_key"  # the key of hash_paths; never sent anywhere
DESTINATIONS = "destinations"
DESTINATION_FILE = "destination.json"
DESTINATION_FOLDERS = (PENDING, DEAD)

_SUFFIX = ".json"


def file_name(written_ms: int, count: int) -> str:
    """``<ms>-<pid>-<random>-<count>.json`` for a file of ``count`` events written at ``ms``."""
    return f"{written_ms:013d}-{os.getpid()}-{os.urandom(4).hex()}-{count}{_SUFFIX}"


def _digits(text: str) -> bool:
    """ASCII digits only (``str.isdigit`` also takes "²", which ``int`` refuses)."""
    return text.isascii() and text.isdigit()


def parse_name(name: str) -> tuple[int, int] | None:
    """``(written_ms, count)`` from a cache file name; None for a name that is not ours."""
    if not name.endswith(_SUFFIX):
        return None
    parts = name[: -len(_SUFFIX)].split("-")
    if len(parts) != 4 or not (_digits(parts[0]) and _digits(parts[3])):
        return None
    return int(parts[0]), int(parts[3])


def writer_pid(name: str) -> int | None:
    """The process that wrote a cache file, from its name (see `file_name`)."""
    parts = name.split("-")
    return int(parts[1]) if len(parts) == 4 and _digits(parts[1]) else None


def tmp_name(folder: str, name: str) -> str:
    """The name a file bound for ``folder/name`` has in ``tmp/`` while it is written: the
    folder is part of it, so a file whose writer died before the rename can still be put
    where it was going (see `tmp_target`)."""
    return f"{folder.replace('/', '+')}+{name}.tmp"


def tmp_target(tmp: str) -> tuple[str, str] | None:
    """``(folder, name)`` a file in ``tmp/`` was being written for, or None for a name
    that `tmp_name` did not make."""
    if not tmp.endswith(".tmp"):
        return None
    folder, plus, name = tmp[:-len(".tmp")].rpartition("+")
    if not plus or not folder or parse_name(name) is None:
        return None
    return folder.replace("+", "/"), name


def quarantine_name(now_ms: int, name: str) -> str:
    """The name a file gets in quarantine: its old name behind the time it was moved."""
    return f"{now_ms}-{name}"


def quarantined_original(name: str) -> str:
    """The name a quarantined file had before (see `quarantine_name`)."""
    return name.split("-", 1)[1] if "-" in name else name


def join(root: str, *names: str) -> str:
    """A path below ``root``: strings only, no pathlib, for the hook path."""
    return os.path.join(root, *names)


_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.")


def destination_key(kind: str, identity: str) -> str:
    """The folder name of one destination: ``<kind>-<host>-<16 hex digits>``, readable in
    ``ls`` and unique for the kind and identity (the hex digits are the 64-bit FNV-1a hash
    of both: importing hashlib would cost a hook 4 ms, zlib 0.4 ms)."""
    host = identity.split("://", 1)[-1].split("/", 1)[0].split("?", 1)[0].rsplit("@", 1)[-1]
    shown = "".join(c if c in _SAFE else "_" for c in host)[:48] or "_"
    data = f"{kind}\n{identity}".encode()
    return f"{kind}-{shown}-{_fnv1a_64(data):016x}"


def destination_of(kind: str, identity: str | None) -> str | None:
    """The folder name of the destination an event recorded for ``kind`` at ``identity``
    belongs to (see `destination_key`); None without an endpoint: such events wait in the
    top-level ``pending/`` for the first destination that syncs. Every writer of events
    asks this one function."""
    return destination_key(kind, identity) if identity else None


def folder_of(key: str | None, folder: str) -> str:
    """Folder ``folder`` (``pending``, ``dead``) of destination ``key`` (None: the top-level
    one), relative to the cache folder."""
    return f"{DESTINATIONS}/{key}/{folder}" if key else folder


def _fnv1a_64(data: bytes) -> int:
    """The 64-bit FNV-1a hash: stable across processes and versions (``hash()`` is not)."""
    digest = 0xCBF29CE484222325
    for byte in data:
        digest = ((digest ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return digest


def destination_dir(root: str, key: str) -> str:
    return join(root, DESTINATIONS, key)
