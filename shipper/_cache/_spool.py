"""The disk cache: atomic event files that many processes write and sync at once.

The folders and the file format are named in `_layout`. A `Spool` is the cache of one
destination (or, without one, of the events recorded while no endpoint was set); the events
of one destination are never handed to another. A file is written to ``tmp/`` and renamed
into ``pending/``, so a reader never sees half a file. A syncer *claims* a file with
a non-blocking ``flock``; the kernel drops the lock when the syncer dies, even by SIGKILL,
so nothing is ever stuck. A file is unlinked only after the collector accepted all its
events.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import time
import zlib
from pathlib import Path
from typing import Any, NamedTuple

from .. import _log
from .._json import loads
from ._files import (
    Locked,
    atomic_write,
    encode_file,
    ensure_cache,
    ensure_destination,
    file_parts,
    read_json,
    unlink_quietly,
    write_json,
)
from ._layout import (
    DEAD,
    DESTINATIONS,
    FAILURES_FILE,
    FAILURES_LOCK,
    FORMAT_VERSION,
    PENDING,
    QUARANTINE,
    TMP,
    destination_of,
    file_name,
    folder_of,
    parse_name,
    quarantine_name,
    quarantined_original,
    tmp_target,
    writer_pid,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .._config import Settings

_STALE_TMP_S = 3600.0  # a leftover in tmp/ this old is nobody's any more
_UNFINISHED_S = 10.0  # a file in tmp/ younger than this may still be being written


def _writer_gone(name: str) -> bool:
    """Whether the process that wrote cache file ``name`` has ended."""
    pid = writer_pid(name)
    if pid is None or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive, another user's
        return False
    return False


class Entry(NamedTuple):
    """A pending file, known by its name alone."""

    path: Path
    written_ms: int
    count: int  # type: ignore[assignment]  # shadows tuple.count, which nobody calls here

    @property
    def name(self) -> str:
        return self.path.name


class CorruptFile(ValueError):
    """A cache file whose bytes are not a whole, valid cache file."""


class ResourceShortage(OSError):
    """The cache could not be read for want of a resource (descriptors, memory), not
    because of what is in it: stop and try again later, never quarantine."""


# errors that say something about the file itself; any other OSError is the machine's
_FILE_FAULTS = frozenset({errno.ELOOP, errno.EISDIR, errno.EACCES, errno.EPERM, errno.ENXIO,
                          errno.ENODEV, errno.EINVAL, errno.ENOTDIR})


def _event_of(line: bytes) -> tuple[str, bytes] | None:
    try:
        event = loads(line)  # orjson where loaded: only the id is read, the bytes are kept
    except (ValueError, RecursionError):
        return None
    if not isinstance(event, dict) or not isinstance(event.get("id"), str):
        return None
    return event["id"], line


def _header_of(data: bytes) -> dict[str, Any]:
    try:
        header = json.loads(data.split(b"\n", 1)[0])
    except ValueError:
        raise CorruptFile("header is not JSON") from None
    if not isinstance(header, dict) or header.get("shipper") != FORMAT_VERSION:
        raise CorruptFile("not a shipper cache file")
    return header


def events_crc(events: list[bytes]) -> int:
    """The CRC-32 of what follows a file's header line: each event and its line break."""
    crc = 0
    for event in events:
        crc = zlib.crc32(b"\n", zlib.crc32(event, crc))
    return crc


# each line of a file that matches its checksum starts with its id, as our encoders write
# it (a UUID: 36 ASCII characters, no escapes), right after the line break before it (a
# literal start the search skips to: `^` with re.M tried every byte, 12x slower)
_ID_AT_START = re.compile(rb'\n\{"id":"([\x20-\x21\x23-\x5b\x5d-\x7e]{36})"')


def salvage_file(data: bytes) -> tuple[list[tuple[str, bytes]], list[bytes], str]:
    """Read a cache file line by line: (the events that read, the lines that do not, what
    is wrong or ""). Raises `CorruptFile` only when the header is not ours: then nothing in
    it can be trusted.

    A file whose header keeps the checksum of its events (a client's spill) and matches it
    holds each event as it was encoded: the ids are read where the encoder put them (first
    in each line), without parsing the events (a tenth of the cost: the bulk of a drain's
    reading). Any other file, one whose bytes changed since they were written, or one with
    a line written otherwise (a ``before_send`` that moved or changed the id) is parsed line
    by line."""
    header = _header_of(data)
    body = data.split(b"\n")[1:]
    problem = ""
    if not body or body[-1] != b"":
        problem = "file is truncated"
    else:
        body.pop()
    crc = header.get("crc32")
    if not problem and type(crc) is int and header.get("n") == len(body):
        start = data.index(b"\n") + 1
        if zlib.crc32(memoryview(data)[start:]) == crc:
            ids = _ID_AT_START.findall(data, start - 1)  # from the header's line break
            if len(ids) == len(body):  # one at the start of every line
                pairs = zip(ids, body, strict=True)
                return [(i.decode("ascii"), line) for i, line in pairs], [], ""
    good, bad = [], []
    for line in body:
        event = _event_of(line)
        if event is None:
            bad.append(line)
        else:
            good.append(event)
    if bad:
        problem = f"{len(bad)} line(s) are not events"
    elif header.get("n") != len(good) and not problem:
        problem = f"header says {header.get('n')} events, file has {len(good)}"
    return good, bad, problem


def decode_file(data: bytes) -> list[tuple[str, bytes]]:
    """Parse a whole cache file into (id, event bytes) pairs; raise `CorruptFile` if it is
    not whole (see `salvage_file` for reading what can be read)."""
    if not data:
        raise CorruptFile("file is empty")
    events, _, problem = salvage_file(data)
    if problem:
        raise CorruptFile(problem)
    return events


class Claim:
    """A pending file this process holds the lock of, with its events."""

    def __init__(self, spool: Spool, entry: Entry, fd: int, events: list[tuple[str, bytes]],
                 *, damaged: bool = False, size: int | None = None) -> None:
        self.spool = spool
        self.entry = entry
        self.events = events
        #: the events' bytes, a line break each (a batch's size, without counting again)
        self.size = sum(len(raw) + 1 for _, raw in events) if size is None else size
        self.damaged = damaged  # lines were set aside: the file is rewritten whatever happens
        self._fd: int | None = fd

    def ack(self) -> None:
        """Every event was accepted (or dead-lettered): remove the file."""
        try:
            os.unlink(self.entry.path)
        except FileNotFoundError:
            pass
        self.release()

    def keep_only(self, remaining: list[tuple[str, bytes]]) -> None:
        """Some events were delivered: replace the file by one holding only the rest."""
        if not remaining:
            self.ack()
            return
        if len(remaining) != len(self.events) or self.damaged:
            self.spool.write([e for _, e in remaining], written_ms=self.entry.written_ms)
            self.ack()
        else:
            self.release()

    def release(self) -> None:
        """Leave the file as it is for a later sync."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class Spool:
    """The cache of one destination, or with ``key=None`` of the events recorded while no
    endpoint was set ("unbound"). Cheap to create; nothing touches the disk until it is used.

    A destination's spool also drains the unbound events: the first destination that syncs
    takes them. ``about`` (kind and public endpoint) is written once to ``destination.json``
    so that ``shipper status`` can name the destination.
    """

    def __init__(self, root: Path | str, key: str | None = None, *,
                 about: dict[str, str] | None = None, fsync: bool = True) -> None:
        self.root = Path(root)
        self.key = key
        self.about = about or {}
        self.home = self.root / DESTINATIONS / key if key else self.root
        self.pending = self.root / folder_of(key, PENDING)
        self.dead = self.root / folder_of(key, DEAD)
        self.quarantine = self.root / QUARANTINE
        self.tmp = self.root / TMP
        self.unbound = self.root / PENDING if key else None
        self.fsync = fsync

    @classmethod
    def for_settings(cls, settings: Settings) -> Spool:
        """The spool events recorded with ``settings`` belong to."""
        from .._kinds import public_url

        identity = settings.destination_identity
        key = destination_of(settings.destination, identity)
        if key is None or identity is None:
            return cls(settings.cache_path)
        return cls(settings.cache_path, key,
                   about={"kind": settings.destination, "endpoint": public_url(identity)})

    def _relative(self, folder: str) -> str:
        return folder_of(self.key, folder)

    # -- folder -------------------------------------------------------------------------

    def ensure(self) -> None:
        """Create the folders, private to this user; refuse a folder someone else controls.
        Checked at every call (every write): a cache deleted since is made again, a tree
        another user could change since is refused."""
        if self.key:
            ensure_destination(str(self.root), self.key, self.about)
        else:
            ensure_cache(self.root)

    # -- writing ------------------------------------------------------------------------

    def _write(self, folder: str, events: list[bytes], written_ms: int | None,
               extra: dict[str, object] | None = None) -> Path:
        self.ensure()
        ms = int(time.time() * 1000) if written_ms is None else written_ms
        parts = file_parts(events, extra, crc32=events_crc(events))
        return Path(atomic_write(str(self.root), self._relative(folder),
                                 file_name(ms, len(events)), parts, fsync=self.fsync))

    def write(self, events: list[bytes], *, written_ms: int | None = None) -> Path:
        """Write events as one new pending file, atomically. Raises OSError on failure."""
        return self._write(PENDING, events, written_ms)

    def dead_letter(self, events: list[bytes], reason: str) -> Path:
        """Keep events the collector refused, with the reason, out of the pending set."""
        return self._write(DEAD, events, None, {"reason": reason[:500]})

    # -- reading ------------------------------------------------------------------------

    def entries(self) -> list[Entry]:
        """Pending files, oldest first: this destination's own, then (as old or older) the
        unbound ones it also delivers. Files with foreign names are moved to quarantine."""
        out = self._entries_in(self.pending)
        if self.unbound is not None:
            out += self._entries_in(self.unbound)
        out.sort(key=lambda entry: (entry.written_ms, entry.path.name))
        return out

    def _entries_in(self, folder: Path) -> list[Entry]:
        try:
            names = os.listdir(folder)
        except (FileNotFoundError, NotADirectoryError):  # nothing there (or no folder at all)
            return []
        except OSError as exc:
            raise ResourceShortage(exc.errno, exc.strerror, str(folder)) from None
        out = []
        for name in names:
            parsed = parse_name(name)
            if parsed is None:
                self._quarantine(folder / name, "foreign file name")
                continue
            out.append(Entry(folder / name, parsed[0], parsed[1]))
        return out

    def own_entries(self) -> list[Entry]:
        """This spool's own pending files (not the unbound ones it also delivers)."""
        return sorted(self._entries_in(self.pending),
                      key=lambda entry: (entry.written_ms, entry.path.name))

    def pending_events(self) -> int:
        """How many events this spool delivers (its own and the unbound ones), counted from
        the file names alone."""
        return sum(entry.count for entry in self.entries())

    def claim(self, entry: Entry) -> Claim | None:
        """Lock and read one pending file; None if another process holds it or it is gone.

        A file that is not a cache file is moved to quarantine (and None returned); lines of a
        file that cannot be read are set aside in quarantine, and the file is replaced by a
        whole one holding the rest (and None returned: the next listing finds it). Raises
        `ResourceShortage` when the machine, not the file, is the problem (no descriptors).
        """
        try:
            fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            return None
        except OSError as exc:
            if exc.errno not in _FILE_FAULTS:
                raise ResourceShortage(exc.errno, exc.strerror, str(entry.path)) from None
            self._quarantine(entry.path, f"cannot open: {exc.strerror}")
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return None
        try:
            # the file may have been delivered and unlinked between our open and our lock
            if os.stat(entry.path).st_ino != os.fstat(fd).st_ino:
                os.close(fd)
                return None
            data = _read_all(fd)
            events, bad, problem = salvage_file(data)
        except FileNotFoundError:
            os.close(fd)
            return None
        except CorruptFile as exc:
            self._quarantine(entry.path, str(exc))
            os.close(fd)
            return None
        except OSError as exc:
            os.close(fd)
            if exc.errno in _FILE_FAULTS:
                self._quarantine(entry.path, str(exc))
                return None
            raise ResourceShortage(exc.errno, exc.strerror, str(entry.path)) from None
        if not problem:
            return Claim(self, entry, fd, events, size=len(data) - data.index(b"\n") - 1)
        if not events:
            self._quarantine(entry.path, problem)
            os.close(fd)
            return None
        # set the unreadable lines aside and put a whole file in its place (same age); the
        # next look at the cache finds that one
        self._set_aside(entry.path.name, bad, problem)
        Claim(self, entry, fd, events, damaged=True).keep_only(events)
        return None

    def _set_aside(self, name: str, lines: list[bytes], why: str) -> None:
        """Keep the unreadable lines of a cache file in quarantine; the rest goes on."""
        _log.warning("cache file %s: %s; the readable events go on", name, why)
        if not lines:
            return
        try:
            self.ensure()
            atomic_write(str(self.root), QUARANTINE,
                         quarantine_name(int(time.time() * 1000), name + ".lines"),
                         b"".join(line + b"\n" for line in lines), fsync=self.fsync)
        except OSError as exc:
            _log.warning("cannot keep the unreadable lines of %s: %s", name, exc.strerror)

    def _quarantine(self, path: Path, why: str) -> None:
        try:
            self.ensure()
            os.rename(path, self.quarantine / quarantine_name(int(time.time() * 1000), path.name))
            _log.warning("cache file %s moved to quarantine: %s", path.name, why)
        except FileNotFoundError:
            pass
        except OSError as exc:
            _log.warning("cache file %s is unreadable (%s) and cannot be moved: %s",
                         path.name, why, exc.strerror)

    def delivery_failed(self, entry: Entry, why: str, limit: int) -> bool:
        """Count a failure (an exception of ours) to deliver pending file ``entry``, in
        ``failures.json`` beside this spool's state; at ``limit`` failures the file goes
        to quarantine, where it blocks nothing. Returns True when it was moved there."""
        path = self.home / FAILURES_FILE
        try:
            self.ensure()
            with Locked(self.home / FAILURES_LOCK):
                counts = read_json(path)
                # forget files that were delivered, pruned or moved since
                counts = {name: n for name, n in counts.items()
                          if isinstance(n, int) and ((self.pending / name).exists() or (
                              self.unbound is not None and (self.unbound / name).exists()))}
                failures = counts.get(entry.name, 0) + 1
                if failures >= limit:
                    counts.pop(entry.name, None)
                else:
                    counts[entry.name] = failures
                write_json(path, counts)
        except OSError as exc:
            _log.warning("cannot count the failure of %s: %s", entry.name, exc.strerror)
            return False
        if failures < limit:
            return False
        self._quarantine(entry.path, f"its delivery failed {failures} times ({why[:200]})")
        return True

    # -- summaries ----------------------------------------------------------------------

    def folder_count(self, folder: Path) -> tuple[int, int]:
        """(files, events) in a dead-letter or quarantine-like folder."""
        try:
            names = os.listdir(folder)
        except (FileNotFoundError, NotADirectoryError):
            return 0, 0
        events = 0
        for name in names:
            parsed = parse_name(quarantined_original(name) if folder == self.quarantine else name)
            events += parsed[1] if parsed else 0
        return len(names), events

    def requeue(self, *, dry_run: bool = False) -> tuple[int, int]:
        """Move dead-lettered files back to pending (for a receiver that refused them by
        mistake); returns (files, events) moved, or that would be."""
        files = events = 0
        try:
            names = sorted(os.listdir(self.dead))
        except FileNotFoundError:
            return 0, 0
        for name in names:
            parsed = parse_name(name)
            if parsed is None:
                continue
            if not dry_run:
                try:
                    self.ensure()
                    os.rename(self.dead / name, self.pending / name)
                except FileNotFoundError:
                    continue  # another requeue took it
            files += 1
            events += parsed[1]
        return files, events

    def move_to(self, other: Spool, *, dry_run: bool = False) -> tuple[int, int]:
        """Move this destination's pending and dead-lettered files into ``other``'s pending
        (an earlier destination's events, for the one configured now), ids unchanged; a file
        a sync holds now is left for the next move. Returns (files, events) moved, or that
        would be."""
        files = events = 0
        for folder in (self.pending, self.dead):
            try:
                names = sorted(os.listdir(folder))
            except (FileNotFoundError, NotADirectoryError):
                continue
            for name in names:
                parsed = parse_name(name)
                if parsed is None:
                    continue
                if not dry_run and not self._move_unclaimed(folder / name, other):
                    continue
                files += 1
                events += parsed[1]
        return files, events

    def _move_unclaimed(self, path: Path, other: Spool) -> bool:
        """Rename ``path`` into ``other``'s pending, holding its lock meanwhile (a sync
        that holds it is delivering it: it stays). False when it was not moved."""
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            other.ensure()
            os.rename(path, other.pending / path.name)
        except OSError:
            return False
        finally:
            os.close(fd)
        return True

    def is_locked(self, path: Path) -> bool:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        finally:
            os.close(fd)
        return False

    def clean_tmp(self, now: float | None = None) -> int:
        """Deal with what writers left in ``tmp/``: a cache file whose writer died before
        renaming it into place goes where it was going (whole, or what of it reads, the rest
        to quarantine); any other leftover is removed once it is `_STALE_TMP_S` old.
        Returns how many files it dealt with."""
        now = time.time() if now is None else now
        done = 0
        try:
            names = os.listdir(self.tmp)
        except OSError:  # none yet, or unreadable: nothing to deal with now
            return 0
        for name in names:
            path = self.tmp / name
            try:
                age = now - path.lstat().st_mtime
            except OSError:
                continue
            target = tmp_target(name)
            if target is not None and age >= _UNFINISHED_S and (
                    age > _STALE_TMP_S or _writer_gone(target[1])):
                done += self._finish(path, *target)
            elif age > _STALE_TMP_S:
                unlink_quietly(path)
                done += 1
        return done

    def _finish(self, path: Path, folder: str, name: str) -> int:
        """Put a file its writer left in ``tmp/`` into ``folder`` as ``name``: 1 if it was
        dealt with, 0 if it was left for later."""
        parts = folder.split("/")
        if parts[-1] not in (PENDING, DEAD) or len(parts) not in (1, 3) or (
                len(parts) == 3 and parts[0] != DESTINATIONS):
            unlink_quietly(path)  # not a cache file's folder: nothing to keep
            return 1
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            return 0  # another sync dealt with it
        try:
            # held while it is dealt with: two syncs never put the same file back twice
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if os.stat(path).st_ino != os.fstat(fd).st_ino:
                return 0  # dealt with (and replaced) between our open and our lock
            data = _read_all(fd)
            if not data:
                unlink_quietly(path)  # nothing was written yet
                return 1
            if len(parts) == 3:
                ensure_destination(str(self.root), parts[1], {})
            try:
                decode_file(data)
            except CorruptFile:
                return self._salvage(path, folder, name, data)
            os.rename(path, self.root / folder / name)
            _log.warning("cache file %s was left unfinished by a process that ended; it is "
                         "whole and back in %s", name, folder)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.ENOENT):
                _log.warning("cannot recover %s left in tmp/: %s", name, exc.strerror)
            return 0
        finally:
            os.close(fd)
        return 1

    def _salvage(self, path: Path, folder: str, name: str, data: bytes) -> int:
        """A file cut off mid-write: its readable events go where it was going (pending
        only: a dead letter without its reason is not worth keeping apart), the rest to
        quarantine."""
        try:
            good, bad, _ = salvage_file(data)
        except CorruptFile:
            good, bad = [], []
        parsed = parse_name(name)
        if good and parsed is not None and folder.endswith(PENDING):
            atomic_write(str(self.root), folder, file_name(parsed[0], len(good)),
                         encode_file([raw for _, raw in good]), fsync=self.fsync)
            self._set_aside(name, bad, "written only in part by a process that ended")
            unlink_quietly(path)
        else:
            self._quarantine(path, "written only in part by a process that ended")
        return 1


def _read_all(fd: int) -> bytes:
    chunks: list[bytes] = []
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def elsewhere(root: Path | str, configured: str | None) -> list[tuple[Spool, int, int]]:
    """The destinations of a cache, other than the ``configured`` one (its folder name),
    that still hold events: ``(spool, pending, dead-lettered)`` for each. No sync of the
    configured destination sends them; ``shipper requeue --from`` moves them to it."""
    found = []
    for spool in all_spools(root):
        if spool.key is None or spool.key == configured:
            continue
        try:
            pending = sum(entry.count for entry in spool.own_entries())
        except ResourceShortage:
            continue
        dead = spool.folder_count(spool.dead)[1]
        if pending or dead:
            found.append((spool, pending, dead))
    return found


def all_spools(root: Path | str) -> list[Spool]:
    """Every spool of a cache folder: the unbound one, then one per destination folder."""
    from ._files import read_json
    from ._layout import DESTINATION_FILE

    root = Path(root)
    spools = [Spool(root)]
    try:
        keys = sorted(os.listdir(root / DESTINATIONS))
    except OSError:
        return spools
    for key in keys:
        about = read_json(root / DESTINATIONS / key / DESTINATION_FILE)
        spools.append(Spool(root, key, about={k: str(v) for k, v in about.items()}))
    return spools
