"""Lazy access to the ``shipper`` logger.

The hook path must not pay for importing :mod:`logging` when nothing goes wrong, so modules
on it log through these helpers; the logger gets its NullHandler the first time it is used.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False

if TYPE_CHECKING:
    import logging


# Set by the command line only (`show_on_stderr`): the library never prints on its own.
_stderr = [False]


def show_on_stderr(enabled: bool) -> None:
    """For the ``shipper`` command: warnings (drops, quarantines, prunes, paused delivery)
    go to stderr, prefixed ``shipper:``. Takes effect when the first one is logged, so a
    command that logs nothing never imports :mod:`logging`. Turning it off removes the
    handler again, and the debug one (`show_debug_on_stderr`) a command turned on."""
    _stderr[0] = enabled
    if not enabled and "logging" in sys.modules:
        log = sys.modules["logging"].getLogger("shipper")
        for handler in [h for h in log.handlers
                        if getattr(h, "shipper_cli", False) or getattr(h, "shipper_debug", False)]:
            log.removeHandler(handler)


def logger() -> logging.Logger:
    import logging

    log = logging.getLogger("shipper")
    if not any(isinstance(h, logging.NullHandler) for h in log.handlers):
        null = logging.NullHandler()
        null.shipper_null = True  # type: ignore[attr-defined]  # ours: see _handled
        log.addHandler(null)
    if _stderr[0] and not any(getattr(h, "shipper_cli", False) for h in log.handlers):
        handler = _stderr_handler()
        handler.setLevel(logging.WARNING)
        handler.setFormatter(logging.Formatter("shipper: %(message)s"))
        handler.shipper_cli = True  # type: ignore[attr-defined]  # ours, found again
        log.addHandler(handler)
    return log


def _stderr_handler() -> logging.Handler:
    """A handler writing to whatever sys.stderr is when a record comes (not when it was
    made: a test, say, may swap stderr in between)."""
    import logging

    class CurrentStderr(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            try:
                sys.stderr.write(self.format(record) + "\n")
            except Exception:  # noqa: BLE001 - logging's own convention
                self.handleError(record)

    return CurrentStderr()


def show_debug_on_stderr() -> None:
    """The ``debug`` setting: every record, debug ones included, also goes to stderr,
    prefixed ``shipper debug:``. Asked for explicitly, so the library may print; once per
    process."""
    log = logger()
    if any(getattr(h, "shipper_debug", False) for h in log.handlers):
        return
    import logging

    handler = _stderr_handler()
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("shipper debug: %(message)s"))
    handler.shipper_debug = True  # type: ignore[attr-defined]  # ours, found again
    # where the command line shows warnings already, this handler shows the rest only
    handler.addFilter(lambda record: record.levelno < logging.WARNING or not _stderr[0])
    log.addHandler(handler)
    if log.getEffectiveLevel() > logging.DEBUG:
        log.setLevel(logging.DEBUG)


# The kinds of warning already shown through `logging.lastResort` in this process (see
# `warning`): each is shown there once, never on every drop.
_surfaced: set[str] = set()


def warning(msg: str, *args: object, first_of: str | None = None) -> None:
    """Log a warning on the ``shipper`` logger. ``first_of`` names a kind of warning a user
    must see even where logging is not set up (the first dropped event of a misconfigured
    client, say): the first of that kind in this process that finds no handler on its way
    up (shipper's own NullHandler aside) goes to `logging.lastResort`, as it would for a
    library without a NullHandler: one line on stderr. The user's configuration still
    rules it: a handler of theirs (a NullHandler too, or one whose level keeps it out)
    takes it instead, a level on the ``shipper`` logger or ``logging.lastResort = None``
    silences it."""
    log = logger()
    if first_of is None or first_of in _surfaced:
        log.warning(msg, *args)
        return
    import logging

    _surfaced.add(first_of)
    if not log.isEnabledFor(logging.WARNING):
        return
    fn, lno, func, _ = log.findCaller(False, 2)
    record = log.makeRecord(log.name, logging.WARNING, fn, lno, msg, args, None, func)
    log.handle(record)
    last = logging.lastResort
    if last is not None and record.levelno >= last.level and not _handled(log):
        # lastResort prints the bare message: say whose it is
        last.handle(logging.makeLogRecord({**record.__dict__, "msg": f"shipper: {msg}"}))


def _handled(log: logging.Logger) -> bool:
    """Whether the program's logging configuration has a say in a record of ``log``: a handler other
    than shipper's own NullHandler on its way up from ``log``, whatever its level or
    filters (`logging.Logger.callHandlers` falls back to ``lastResort`` only where it finds
    no handler at all: one that filters the record out was still set up by the user)."""

    current: logging.Logger | None = log
    while current is not None:
        for handler in current.handlers:
            if not getattr(handler, "shipper_null", False):
                return True
        if not current.propagate:
            return False
        current = current.parent
    return False


def debug(msg: str, *args: object) -> None:
    logger().debug(msg, *args)


def exception(msg: str, *args: object) -> None:
    logger().exception(msg, *args)
