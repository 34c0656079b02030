"""@graceful_tracking protects generators and async generators too."""

from __future__ import annotations

from typing import Any

import pytest

from shipper import graceful_tracking

pytestmark = pytest.mark.chaos


def test_graceful_tracking_protects_generators() -> None:
    """A generator or async generator that raises while iterated ends quietly."""
    @graceful_tracking
    def events() -> Any:
        yield 1
        raise RuntimeError("tracking broke")

    @graceful_tracking
    async def async_events() -> Any:
        yield 1
        raise RuntimeError("tracking broke")

    import asyncio

    async def collect() -> list[int]:
        return [i async for i in async_events()]

    assert list(events()) == [1]
    assert asyncio.run(collect()) == [1]
    assert events.failures.counts and async_events.failures.counts  # type: ignore[attr-defined]
