"""File primitives shared by the hook path and the cache: private folders, atomic writes,
flock'd sections, small JSON documents. Standard library only, and only what Python has
loaded anyway, so the hook path stays fast.
"""

from __future__ import annotations

import errno
import os
import stat

from ._layout import (
    DESTINATION_FILE,
    DESTINATION_FOLDERS,
    DESTINATIONS,
    FOLDERS,
    FORMAT_VERSION,
    TMP,
    join,
    tmp_name,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import TracebackType
    from typing import Any


class UnsafeCacheDir(OSError):
    """The cache folder is not a private folder of this user, or another user could change
    a folder above it."""


def make_private_dir(path: str | os.PathLike[str]) -> None:
    """Create ``path`` (0700) if missing, in a folder that exists; refuse one that is not
    this user's own folder (a link is followed only when the user owns it and its target)."""
    path = os.fspath(path)
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        target = os.stat(path)
        if info.st_uid != os.getuid() or target.st_uid != os.getuid():
            raise UnsafeCacheDir(errno.EPERM, "cache folder is a link owned by another user",
                                 path)
        info = target
    if not stat.S_ISDIR(info.st_mode):
        raise UnsafeCacheDir(errno.ENOTDIR, "cache path is not a folder", path)
    if info.st_uid != os.getuid():
        raise UnsafeCacheDir(errno.EPERM, "cache folder belongs to another user", path)
    if stat.S_IMODE(info.st_mode) & 0o077:
        os.chmod(path, 0o700)


def _trusted(info: os.stat_result, uid: int) -> bool:
    """A folder only root or this user can change: owned by one of them and not writable by
    group or others, unless it is root's and sticky (like /tmp: others may add, not
    replace)."""
    if info.st_uid not in (0, uid):
        return False
    if not info.st_mode & 0o022:
        return True
    return info.st_uid == 0 and bool(info.st_mode & stat.S_ISVTX)


def check_ancestors(path: str) -> None:
    """Refuse a cache folder that another user could tamper with, the way OpenSSH's
    StrictModes does: every folder above it, as the path is written and as its links
    resolve, must pass `_trusted`, and every link on the way must be root's or this user's.
    Raises `UnsafeCacheDir`. Folders that do not exist yet are fine: we create them."""
    uid = os.getuid()
    parent = os.path.dirname(os.path.abspath(path))
    walked = "/"
    for name in parent.split(os.sep)[1:]:
        walked = os.path.join(walked, name)
        try:
            info = os.lstat(walked)
        except FileNotFoundError:
            break
        if stat.S_ISLNK(info.st_mode) and info.st_uid not in (0, uid):
            raise UnsafeCacheDir(errno.EPERM, "a link above the cache folder belongs to "
                                              "another user", walked)
    real = os.path.realpath(parent)
    walked = "/"
    for name in ["", *real.split(os.sep)[1:]]:
        walked = os.path.join(walked, name) if name else walked
        try:
            info = os.stat(walked)
        except FileNotFoundError:
            return
        if not _trusted(info, uid):
            raise UnsafeCacheDir(errno.EPERM, "another user can change a folder above the "
                                              "cache folder", walked)


def ensure_cache(root: str | os.PathLike[str]) -> str:
    """The cache folder and its subfolders, private, below folders only root or this user
    can change (see `check_ancestors`); returns the root as a string. Checked every time:
    a folder deleted since is made again, a tree changed since is refused."""
    root = os.fspath(root)
    if not root or not os.path.isabs(root):
        raise UnsafeCacheDir(errno.ENOENT, "no cache folder: there is no home folder to put "
                                           "it in; set cache_dir", root)
    check_ancestors(root)
    parent = os.path.dirname(root)
    if not os.path.isdir(parent):
        _no_file_in_the_way(parent)
        os.makedirs(parent, 0o700, exist_ok=True)
    make_private_dir(root)
    for name in FOLDERS:
        make_private_dir(join(root, name))
    return root


def _no_file_in_the_way(path: str) -> None:
    """Raise ENOTDIR, naming it, where a file stands where a folder of ``path`` must be (a
    bare ``makedirs`` says "File exists", which misleads)."""
    walked = path
    while walked and walked != os.path.dirname(walked) and not os.path.lexists(walked):
        walked = os.path.dirname(walked)
    if walked and os.path.lexists(walked) and not os.path.isdir(walked):
        raise UnsafeCacheDir(errno.ENOTDIR, "a part of the cache path is a file, not a folder",
                             walked)


def ensure_destination(root: str, key: str, about: dict[str, str]) -> str:
    """The cache folder and the folder of destination ``key`` in it, private; writes
    ``about`` (kind and public endpoint, for people) to its destination.json the first time.
    Returns the destination's folder."""
    ensure_cache(root)
    home = join(root, DESTINATIONS, key)
    make_private_dir(join(root, DESTINATIONS))
    make_private_dir(home)
    for name in DESTINATION_FOLDERS:
        make_private_dir(join(home, name))
    about_path = join(home, DESTINATION_FILE)
    if about and not os.path.exists(about_path):
        write_json(about_path, about)
    return home


def file_parts(events: list[bytes], extra: dict[str, object] | None = None, *,
               crc32: int | None = None) -> list[bytes]:
    """The pieces of one cache file, in order: a header line, then one event per line.
    ``crc32``: the CRC-32 of what follows the header line (each event and its line break),
    kept in the header: a reader that finds it matching trusts each line to be the
    event as it was encoded, and reads its id without parsing it (`_spool.salvage_file`).

    Written with ``os.writev`` as they are: joining them first would allocate a buffer the
    size of the file on every spill, which fragments the heap of a long outage.
    """
    if extra or crc32 is not None:
        from .._json import dumps

        head = dumps({"shipper": FORMAT_VERSION, "n": len(events), **(extra or {}),
                      **({"crc32": crc32} if crc32 is not None else {})})
    else:
        head = b'{"shipper":%d,"n":%d}' % (FORMAT_VERSION, len(events))
    parts = [head]
    for event in events:
        parts += (b"\n", event)
    parts.append(b"\n")
    return parts


def encode_file(events: list[bytes], extra: dict[str, object] | None = None) -> bytes:
    """The bytes of one cache file: a header line, then one event per line."""
    return b"".join(file_parts(events, extra))


_IOV_MAX = 1024


def _write_all(fd: int, parts: list[bytes]) -> None:
    for start in range(0, len(parts), _IOV_MAX):
        chunk = parts[start:start + _IOV_MAX]
        written = os.writev(fd, chunk)
        if written < sum(len(p) for p in chunk):  # a short write: finish it plainly
            view = memoryview(b"".join(chunk))[written:]
            while view:
                view = view[os.write(fd, view):]


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC


def _open_root(root: str) -> int:
    """The cache folder, opened: ours (a link to it is followed only as `make_private_dir`
    allowed it), checked again on the descriptor itself."""
    fd = os.open(root, _DIR_FLAGS)
    info = os.fstat(fd)
    if info.st_uid != os.getuid() or stat.S_IMODE(info.st_mode) & 0o077:
        os.close(fd)
        raise UnsafeCacheDir(errno.EPERM, "cache folder is not private to this user", root)
    return fd


def atomic_write(root: str, folder: str, name: str, data: bytes | list[bytes], *,
                 fsync: bool = True) -> str:
    """Write ``data`` (bytes, or pieces to write in order) to ``root/tmp``, then rename it
    to ``root/folder/name``: readers see the whole file or none of it. Returns the final
    path. Raises OSError.

    Every folder below the root is opened relative to the one above it, following no
    link, and the file is written and renamed through those descriptors: nothing another
    process swaps in along the way is written through. With ``fsync``, the file's data and
    then the folder it was renamed into are flushed: the event survives a power cut."""
    fds = [_open_root(root)]
    try:
        fds.append(os.open(TMP, _DIR_FLAGS | os.O_NOFOLLOW, dir_fd=fds[0]))
        tmp_fd = fds[-1]
        dst_fd = fds[0]
        for part in folder.split("/"):
            dst_fd = os.open(part, _DIR_FLAGS | os.O_NOFOLLOW, dir_fd=dst_fd)
            fds.append(dst_fd)
        temp = tmp_name(folder, name)
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                     | os.O_CLOEXEC, 0o600, dir_fd=tmp_fd)
        try:
            _write_all(fd, [data] if isinstance(data, bytes) else data)
            if fsync:
                os.fsync(fd)
        except BaseException:
            os.close(fd)
            _unlink_at(temp, tmp_fd)
            raise
        os.close(fd)
        try:
            os.rename(temp, name, src_dir_fd=tmp_fd, dst_dir_fd=dst_fd)
        except BaseException:
            _unlink_at(temp, tmp_fd)
            raise
        if fsync:
            os.fsync(dst_fd)  # the rename itself, on disk
    finally:
        for fd in reversed(fds):
            os.close(fd)
    return join(root, folder, name)


def _unlink_at(name: str, dir_fd: int) -> None:
    try:
        os.unlink(name, dir_fd=dir_fd)
    except OSError:
        pass


def unlink_quietly(path: str | os.PathLike[str]) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def try_lock(path: str | os.PathLike[str]) -> int | None:
    """An open descriptor holding an exclusive flock on ``path``, or None if another
    process holds it. The lock lasts until the descriptor (and every copy of it) is closed.
    Raises OSError if the file cannot be opened."""
    import fcntl  # here, not at the top: a hook without an endpoint never locks

    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    return fd


class Locked:
    """``with Locked(path) as mine:`` holds an exclusive flock on ``path`` for the block.

    Non-blocking: ``mine`` is False when another process holds it.
    """

    def __init__(self, path: str | os.PathLike[str], *, blocking: bool = True) -> None:
        self.path = os.fspath(path)
        self.blocking = blocking
        self.fd: int | None = None

    def __enter__(self) -> bool:
        import fcntl

        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if self.blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd
        return True

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def boot_id() -> str:
    """This boot of the machine (Linux); "" where it cannot be known. Monotonic times
    written in another boot mean nothing in this one."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip()
    except OSError:
        return ""


def read_json(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A JSON object from ``path``; empty if missing or damaged (these files are advisory)."""
    from .._json import loads

    try:
        with open(path, "rb") as f:
            data = loads(f.read())
    except (OSError, ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def write_json(path: str | os.PathLike[str], data: dict[str, Any]) -> None:
    """Replace ``path`` atomically with ``data`` as JSON (0600)."""
    from .._json import dumps

    path = os.fspath(path)
    folder, name = os.path.split(path)
    tmp = os.path.join(folder, f".{name}.{os.getpid()}.{os.urandom(3).hex()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        os.write(fd, dumps(data))
    finally:
        os.close(fd)
    try:
        os.replace(tmp, path)
    except OSError:
        os.unlink(tmp)
        raise
