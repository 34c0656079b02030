"""Recording from short-lived processes: one event straight to disk, then a detached sync.

This is the hook path. It must not import httpx or asyncio, and it never waits on the
network: delivery is left to a background ``shipper sync`` that this module starts when no
sync holds the cache's lock and the shared state does not say the service is down.
"""

from __future__ import annotations

import os
import sys
import time

from . import _log
from ._cache._files import atomic_write, encode_file, ensure_cache, ensure_destination, try_lock
from ._cache._layout import (
    PENDING,
    SYNC_LOCK,
    destination_dir,
    destination_of,
    file_name,
    folder_of,
    join,
)
from ._config import Settings, load_settings
from ._event import (
    FILTERED,
    capture_sinks,
    captured,
    default_context,
    id_text,
    make_event,
)
from ._guard import never_raises
from ._kinds import CONSOLE, public_url

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from ._reasons import DropReason

# Background syncs this process started, reaped as they end so that a long-running caller
# of shipper.track() leaves no zombies. Only pids of children are kept; a forked child
# inherits the set and simply finds them not to be its own children.
_children: set[int] = set()


@never_raises("shipper.track()", None, surface=True)
def track(
    event: str,
    properties: dict[str, Any] | None = None,
    *,
    user_id: Any = None,
    context: dict[str, Any] | None = None,
    timestamp: Any = None,
    before_send: Callable[[dict[str, Any]], dict[str, Any] | None] | None = None,
    **settings: Any,
) -> str | None:
    """Write one event durably to the disk cache; start a background sync. Never raises.

    ``user_id`` is who did it (over the ``user_id`` setting, for this event);
    ``before_send`` may change the event or drop it (see `make_event`). Any other keyword
    is a setting: one that is not (a misspelt name) or a bad value drops the event, with a
    warning that the first time is shown on stderr even where logging is not set up."""
    user = None
    if user_id is not None:
        user = id_text(user_id)
        if user is None:
            _log.warning("shipper.track() dropped event %r: user_id must be a non-empty "
                         "string or a number", event, first_of="invalid")
            return None
    try:
        # inside a test's capture() nothing is written: not even the config's snapshot
        resolved = load_settings(settings, short_lived=not capture_sinks)
    except Exception as exc:  # noqa: BLE001 - a bad keyword must not break a hook
        _log.warning("shipper.track(): %s; event %r not recorded", exc, event,
                     first_of="track_settings")
        return None
    return record(resolved, event, properties, context=context, timestamp=timestamp,
                  overrides=settings, before_send=before_send, user=user,
                  first_seen=True)[0]


def record(
    settings: Settings,
    event: str,
    properties: object,
    *,
    context: object = None,
    timestamp: object = None,
    overrides: dict[str, Any] | None = None,
    start_sync: bool = True,
    before_send: Callable[[dict[str, Any]], dict[str, Any] | None] | None = None,
    user: str | None = None,
    first_seen: bool = False,
) -> tuple[str | None, str]:
    """Write one event as its own pending file (data and rename fsync'd) and start a
    background sync. Returns its id (None if it was not recorded) and why it was not ("" when
    it was, or when shipper is disabled or before_send dropped it: a choice, not a loss).
    Inside a test's ``shipper.testing.capture()`` the event goes to the capture alone.
    ``first_seen``: the first drop of each kind is said even where logging is not set up."""
    if settings.disabled:
        return None, ""
    root = settings.cache_root
    made = make_event(event, properties, context, timestamp, max_bytes=settings.event_limit,
                      user_id=settings.user_id, user=user,
                      base_properties=settings.properties, before_send=before_send,
                      defaults=default_context(app_name=settings.app_name,
                                               app_version=settings.app_version,
                                               include_host=settings.include_host),
                      first_seen=first_seen)
    if isinstance(made, str):
        if made == FILTERED:
            return None, ""
        from ._reasons import BEFORE_SEND_FAILED, TOO_LARGE  # a drop: the hook path spares it

        if not capture_sinks:
            _count_drop(root, made)
        if made == TOO_LARGE:
            return None, f"the event is over max_event_bytes ({settings.event_limit} bytes)"
        return None, "before_send failed" if made == BEFORE_SEND_FAILED else made
    event_id, raw = made
    if settings.debug:
        _log.show_debug_on_stderr()
        _log.debug("recorded %s", raw.decode("utf-8", "replace"))
    if capture_sinks:
        captured(settings, raw)
        return event_id, ""
    identity = settings.destination_identity
    key = destination_of(settings.destination, identity)
    try:
        if key is None:  # no endpoint: the first destination that syncs takes it
            ensure_cache(root)
        else:
            ensure_destination(root, key, {"kind": settings.destination,
                                           "endpoint": public_url(identity or "")})
        atomic_write(root, folder_of(key, PENDING), file_name(int(time.time() * 1000), 1),
                     encode_file([raw]))
    except OSError as exc:
        from ._reasons import DISK_UNWRITABLE

        _count_drop(root, DISK_UNWRITABLE)
        why = f"cannot write the disk cache {root}: {exc.strerror or exc}"
        _log.warning("event %s lost: %s", event_id, why)
        return None, why
    # the console prints where it runs: a detached sync would print to nobody, so its events
    # wait for the `shipper sync` (or the running client) that shows them
    if start_sync and key is not None and settings.destination != CONSOLE:
        start_background_sync(settings, destination_dir(root, key), overrides or {})
    return event_id, ""


def sync_in_background(settings: Settings, overrides: dict[str, Any] | None = None) -> bool:
    """`start_background_sync` for the destination ``settings`` name, if they name one."""
    key = destination_of(settings.destination, settings.destination_identity)
    if key is None:
        return False
    return start_background_sync(settings, destination_dir(settings.cache_root, key),
                                 overrides or {})


def _count_drop(root: str, reason: DropReason) -> None:
    from ._cache._drops import add_drops  # only when something went wrong

    add_drops(root, {reason: 1})


def _env_value(value: object) -> str:
    """A setting as its SHIPPER_* environment variable writes it."""
    if isinstance(value, dict):
        return ",".join(f"{_quote(str(k))}={_quote(str(v))}" for k, v in value.items())
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _quote(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-._~/:" else
                   "".join(f"%{b:02X}" for b in c.encode()) for c in text)


def start_background_sync(settings: Settings, home: str, overrides: dict[str, Any]) -> bool:
    """Start a detached ``shipper sync --background`` for the destination whose folder is
    ``home``, unless one runs or the service is known to be down.

    The sync lock is taken here and handed to the child as an inherited descriptor, so two
    hooks racing each other cannot both start one. Returns True if a sync was started.
    The pause hint is read first: while the service is known to be down, a hook takes no
    lock (and does not even load :mod:`fcntl`).
    """
    if _service_known_down(home):
        return False
    try:
        fd = try_lock(join(home, SYNC_LOCK))
    except OSError:
        return False
    if fd is None:
        return False  # a sync is running; it lingers for events like ours
    try:
        fd = _above_std_streams(fd)
        env = dict(os.environ)
        for key, value in overrides.items():
            if value is not None:
                env["SHIPPER_" + key.upper()] = _env_value(value)
        os.set_inheritable(fd, True)
        args = [sys.executable, "-m", "shipper", "sync", "--background", "--lock-fd", str(fd)]
        devnull = os.devnull
        _reap()
        pid = os.posix_spawn(
            sys.executable, args, env,
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_OPEN, 1, devnull, os.O_WRONLY, 0),
                (os.POSIX_SPAWN_OPEN, 2, devnull, os.O_WRONLY, 0),
            ],
            setsid=True,
        )
        _children.add(pid)
        return True
    except (OSError, NotImplementedError) as exc:  # posix_spawn's setsid is not everywhere
        _log.warning("cannot start a background sync: %s", getattr(exc, "strerror", None) or exc)
        return False
    finally:
        os.close(fd)


def _above_std_streams(fd: int) -> int:
    """``fd``, or a copy of it numbered 3 or more when it is 0, 1 or 2 (a caller that had
    closed its standard streams): the spawn points those at /dev/null in the child, which
    would close the sync's copy of the lock. A copy shares the lock; the original goes."""
    if fd > 2:  # past stdin, stdout and stderr
        return fd
    import fcntl

    copy = fcntl.fcntl(fd, fcntl.F_DUPFD, 3)  # on failure the caller still closes fd
    os.close(fd)
    return copy


def _reap() -> None:
    """Collect background syncs that ended, so a long-running caller leaves no zombies."""
    for pid in list(_children):
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            _children.discard(pid)


def _service_known_down(home: str) -> bool:
    """Whether the destination's shared state says wait now (its ``paused-until`` hint)."""
    from ._cache._files import boot_id
    from ._cache._pause import paused

    return paused(home, boot_id(), time.monotonic())
