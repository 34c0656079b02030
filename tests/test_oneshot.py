"""Module-level shipper.track for short-lived processes, and the decorator."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from pathlib import Path

import pytest

import shipper

from .conftest import child_env, events_on_disk


def test_track_writes_one_durable_event(cache_dir: Path) -> None:
    """shipper.track puts the event on disk at once, with its id."""
    event_id = shipper.track("cli.run", {"args": 3})
    (doc,) = events_on_disk(cache_dir)
    assert doc["id"] == event_id and doc["event"] == "cli.run"


def test_track_without_endpoint_starts_no_sync(cache_dir: Path) -> None:
    """With no endpoint, events wait on disk and no sync lock is taken."""
    shipper.track("e")
    assert not (cache_dir / "sync.lock").exists()


def test_track_imports_neither_httpx_nor_asyncio(tmp_path: Path) -> None:
    """The hook path records an event without importing httpx or asyncio."""
    code = (
        "import sys, shipper\n"
        "assert shipper.track('e', {'x': 1}, endpoint='http://127.0.0.1:9') is not None\n"
        "heavy = [m for m in ('httpx', 'asyncio', 'httpcore', 'ssl') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=child_env(tmp_path / "c"),
                         capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == ""


def test_disabled_writes_nothing(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """DO_NOT_TRACK=1 makes shipper.track a no-op that creates no file."""
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    assert shipper.track("e") is None
    assert not cache_dir.exists()


def test_unwritable_cache_is_counted_not_raised(tmp_path: Path) -> None:
    """A cache path through a regular file: None returned, no exception."""
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    assert shipper.track("e", cache_dir=str(blocker / "cache")) is None


def test_bad_keyword_does_not_raise(caplog: pytest.LogCaptureFixture) -> None:
    """Even a misspelt setting on the one-shot path only logs."""
    caplog.set_level(logging.WARNING, logger="shipper")
    assert shipper.track("e", batchsize=3) is None
    assert "batchsize" in caplog.text


def test_decorator_swallows_and_counts_exceptions(caplog: pytest.LogCaptureFixture) -> None:
    """A raising tracking function returns the fallback; the error is logged and counted."""
    caplog.set_level(logging.ERROR, logger="shipper")

    @shipper.graceful_tracking
    def plain() -> int:
        """Doc kept."""
        raise RuntimeError("tracking bug")

    @shipper.graceful_tracking(fallback="fb")
    def with_fallback(x: int) -> str:
        if x:
            raise KeyError(x)
        return "ok"

    assert plain() is None
    assert plain.__name__ == "plain" and plain.__doc__ == "Doc kept."
    assert with_fallback(0) == "ok" and with_fallback(1) == "fb"
    assert plain.failures.counts == {plain.__qualname__: 1}  # type: ignore[attr-defined]
    assert "tracking bug" in caplog.text


async def test_decorator_wraps_coroutines() -> None:
    """Async tracking functions stay async and are made just as safe."""

    @shipper.graceful_tracking(fallback=0)
    async def track_async() -> int:
        await asyncio.sleep(0)
        raise ValueError("nope")

    assert asyncio.iscoroutinefunction(track_async)
    assert await track_async() == 0


def test_decorator_lets_base_exceptions_through() -> None:
    """KeyboardInterrupt and SystemExit are not swallowed: only errors are."""

    @shipper.graceful_tracking
    def interrupted() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        interrupted()

