"""Time sources, injectable so that tests control time and never really sleep."""

from __future__ import annotations

import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol

    class Clock(Protocol):
        """Wall time for display and file names, monotonic time for every duration."""

        def time(self) -> float: ...

        def monotonic(self) -> float: ...


class SystemClock:
    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()
