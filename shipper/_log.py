"""Lazy access to the ``shipper`` logger.

The hook path must not pay for importing :mod:`logging` when nothing goes wrong, so modules
on it log through these helpers; the logger gets its NullHandler the first time it is used.
"""

from __future__ import annotations

TYPE_CHECKING = False

if TYPE_CHECKING:
    import logging


def logger() -> logging.Logger:
    import logging

    log = logging.getLogger("shipper")
    if not any(isinstance(h, logging.NullHandler) for h in log.handlers):
        log.addHandler(logging.NullHandler())
    return log


def warning(msg: str, *args: object) -> None:
    logger().warning(msg, *args)


def debug(msg: str, *args: object) -> None:
    logger().debug(msg, *args)


def exception(msg: str, *args: object) -> None:
    logger().exception(msg, *args)
