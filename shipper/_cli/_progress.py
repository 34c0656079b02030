"""A one-line progress bar for ``shipper sync`` on a terminal; silent elsewhere."""

from __future__ import annotations

import time
from typing import TextIO

SHOW_OVER = 1000  # events: smaller backlogs finish before a bar is worth drawing
WIDTH = 30


class Progress:
    def __init__(self, stream: TextIO, *, enabled: bool = True) -> None:
        self.stream = stream
        self.enabled = enabled and stream.isatty()
        self.started = time.monotonic()
        self.drawn = False
        self._last = 0.0

    def update(self, done: int, total: int) -> None:
        if not self.enabled or total < SHOW_OVER:
            return
        now = time.monotonic()
        if now - self._last < 0.1 and done < total:
            return
        self._last = now
        rate = done / max(now - self.started, 1e-6)
        filled = int(WIDTH * min(done / total, 1.0))
        bar = "#" * filled + "-" * (WIDTH - filled)
        self.stream.write(f"\r[{bar}] {done:,}/{total:,} events  {rate:,.0f}/s ")
        self.stream.flush()
        self.drawn = True

    def done(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
