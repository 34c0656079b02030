"""Counts of events lost on purpose (pruned, too large, unwritable), kept across processes."""

from __future__ import annotations

from pathlib import Path

from . import _log
from ._filelock import locked, read_json, write_json
from ._spool import make_private_dir


def add_drops(root: Path, counts: dict[str, int]) -> bool:
    """Add ``counts`` (reason -> events) to the cache's persistent totals. Never raises;
    returns False when they could not be saved (the disk is full, say)."""
    counts = {k: v for k, v in counts.items() if v}
    if not counts:
        return True
    try:
        make_private_dir(root)  # never write into a folder someone else controls
        with locked(root / "drops.lock"):
            totals = read_json(root / "drops.json")
            for reason, n in counts.items():
                old = totals.get(reason)
                totals[reason] = (old if isinstance(old, int) else 0) + n
            write_json(root / "drops.json", totals)
    except OSError as exc:
        _log.warning("cannot record dropped-event counts in %s: %s", root, exc.strerror)
        return False
    return True


def read_drops(root: Path) -> dict[str, int]:
    data = read_json(root / "drops.json")
    return {k: v for k, v in data.items() if isinstance(v, int)}
