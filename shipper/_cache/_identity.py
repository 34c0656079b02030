"""The anonymous id: sent as the user of events recorded without a ``user_id``.

Random (a version 4 UUID), made once per cache and kept in it, so every program and hook
sharing the cache reports as one anonymous user. It is never derived from the machine or the
user: nothing about either can be learned from it.

The path key (``path_key``), made and kept the same way, is the secret ``hash_paths`` hashes
paths with; unlike the anonymous id it never leaves the cache.
"""

from __future__ import annotations

import os

from ._files import ensure_cache
from ._layout import ANONYMOUS_ID, PATH_KEY, TMP, join

TYPE_CHECKING = False
if TYPE_CHECKING:  # not at run time: a hook that hashes paths must not import typing
    from collections.abc import Callable
    from typing import TypeVar

    T = TypeVar("T")

_HEX = frozenset("0123456789abcdef")


def _random_uuid4() -> str:
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # variant 10
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _valid(text: str) -> bool:
    parts = text.split("-")
    return ([len(p) for p in parts] == [8, 4, 4, 4, 12]
            and set("".join(parts)) <= _HEX)


def _read_text(path: str, size: int) -> str | None:
    try:
        with open(path, encoding="ascii") as f:
            return f.read(size).strip()
    except (OSError, UnicodeDecodeError):
        return None


def _read_id(path: str) -> str | None:
    text = _read_text(path, 64)
    return text if text is not None and _valid(text) else None


def _kept_once(root: str, name: str, fresh: str, read: Callable[[str], T | None],
               fallback: T) -> T:
    """The value kept in file ``name`` of the cache, as ``read`` reads it; where missing or
    damaged, ``fresh`` is written there first (atomically, once, whatever races it: the
    first process to link its file in wins). ``fallback`` where the cache cannot be
    written."""
    path = join(root, name)
    found = read(path)
    if found is not None:
        return found
    tmp = join(root, TMP, f"{name}.{os.getpid()}.{os.urandom(4).hex()}")
    try:
        ensure_cache(root)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            os.write(fd, fresh.encode() + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)  # only where there is none: if another process won, theirs
        except FileExistsError:
            if read(path) is None:  # a damaged one: replace it
                os.replace(tmp, path)
        finally:
            if os.path.lexists(tmp):
                os.unlink(tmp)
    except OSError:
        return fallback
    kept = read(path)
    return fallback if kept is None else kept


def anonymous_id(root: str | os.PathLike[str]) -> str:
    """The cache's anonymous id, made (atomically, once, whatever races it) if missing.

    Where the cache cannot be written, a fresh id is returned for this process: sending
    under a new anonymous id beats not sending.
    """
    fresh = _random_uuid4()
    return _kept_once(os.fspath(root), ANONYMOUS_ID, fresh, _read_id, fresh)


_KEY_BYTES = 32


def _read_key(path: str) -> bytes | None:
    text = _read_text(path, 2 * _KEY_BYTES + 8)
    if text is None or len(text) != 2 * _KEY_BYTES or not set(text) <= _HEX:
        return None
    return bytes.fromhex(text)


def path_key(root: str | os.PathLike[str]) -> bytes:
    """The cache's secret for ``hash_paths``: 32 random bytes, made (atomically, once,
    whatever races it) if missing, kept in a 0600 file in the cache and never sent. Paths
    are hashed with it, so a hash cannot be reversed by hashing guessed paths without it;
    it is not the anonymous id, which destinations receive.

    Where the cache cannot be written, a fresh key is returned for this process: its paths
    hash differently from other processes', but they are still hashed.
    """
    fresh = os.urandom(_KEY_BYTES)
    return _kept_once(os.fspath(root), PATH_KEY, fresh.hex(), _read_key, fresh)
