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


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="ascii") as f:
            text = f.read(64).strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text if _valid(text) else None


def anonymous_id(root: str | os.PathLike[str]) -> str:
    """The cache's anonymous id, made (atomically, once, whatever races it) if missing.

    Where the cache cannot be written, a fresh id is returned for this process: sending
    under a new anonymous id beats not sending.
    """
    root = os.fspath(root)
    path = join(root, ANONYMOUS_ID)
    found = _read(path)
    if found is not None:
        return found
    fresh = _random_uuid4()
    tmp = join(root, TMP, f"{ANONYMOUS_ID}.{os.getpid()}.{os.urandom(4).hex()}")
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
            if _read(path) is None:  # a damaged one: replace it
                os.replace(tmp, path)
        finally:
            if os.path.lexists(tmp):
                os.unlink(tmp)
    except OSError:
        return fresh
    return _read(path) or fresh


_KEY_BYTES = 32


def _read_key(path: str) -> bytes | None:
    try:
        with open(path, encoding="ascii") as f:
            text = f.read(2 * _KEY_BYTES + 8).strip()
    except (OSError, UnicodeDecodeError):
        return None
    if len(text) != 2 * _KEY_BYTES or not set(text) <= _HEX:
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
    root = os.fspath(root)
    path = join(root, PATH_KEY)
    found = _read_key(path)
    if found is not None:
        return found
    fresh = os.urandom(_KEY_BYTES)
    tmp = join(root, TMP, f"{PATH_KEY}.{os.getpid()}.{os.urandom(4).hex()}")
    try:
        ensure_cache(root)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            os.write(fd, fresh.hex().encode() + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)  # only where there is none: if another process won, theirs
        except FileExistsError:
            if _read_key(path) is None:  # a damaged one: replace it
                os.replace(tmp, path)
        finally:
            if os.path.lexists(tmp):
                os.unlink(tmp)
    except OSError:
        return fresh
    return _read_key(path) or fresh
