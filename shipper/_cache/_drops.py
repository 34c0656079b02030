"""Counts of events lost on purpose (pruned, too large, unwritable), kept across processes."""

from __future__ import annotations

import os

from .. import _log
from ._files import Locked, ensure_cache, read_json, write_json
from ._layout import DROPS_FILE, DROPS_LOCK, join


def add_drops(root: str | os.PathLike[str], counts: dict[str, int]) -> bool:
    """Add ``counts`` (reason -> events) to the cache's persistent totals. Never raises;
    returns False when they could not be saved (the disk is full, say)."""
    counts = {k: v for k, v in counts.items() if v}
    if not counts:
        return True
    root = os.fspath(root)
    try:
        ensure_cache(root)  # never write into a folder someone else controls
        with Locked(join(root, DROPS_LOCK)):
            path = join(root, DROPS_FILE)
            totals = read_json(path)
            for reason, n in counts.items():
                old = totals.get(reason)
                totals[reason] = (old if isinstance(old, int) else 0) + n
            write_json(path, totals)
    except OSError as exc:
        _log.warning("cannot record dropped-event counts in %s: %s", root, exc.strerror)
        return False
    return True


def read_drops(root: str | os.PathLike[str]) -> dict[str, int]:
    data = read_json(join(os.fspath(root), DROPS_FILE))
    return {k: v for k, v in data.items() if isinstance(v, int)}
