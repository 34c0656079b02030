"""A client never holds its caller up: a client that cannot be built, a key that cannot
be a header, a TLS context plain HTTP does not need, a signal handler interrupting the
start, a thread that cannot start."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from shipper import ConfigError, Shipper
from shipper._config import load_settings
from shipper._transport import tls_verification

from .conftest import (
    child_env,
    events_on_disk,
    pending_events,
    run_py,
    shipper_cmd,
)

pytestmark = pytest.mark.chaos



@pytest.mark.parametrize("variable", [{"SSL_CERT_FILE": "/nonexistent/ca.pem"},
                                      {"HTTPS_PROXY": "foo://bar"}])
def test_a_client_that_cannot_be_built_keeps_events_and_never_hangs(
        variable: dict[str, str], cache_dir: Path) -> None:
    """A broken TLS or proxy setting: track() returns ids at once, close() returns, the
    events are kept on disk for a sync that can deliver, and doctor names the cause."""
    env = child_env(cache_dir, **variable)
    out = run_py("""
        import json
        from shipper import Shipper, AsyncShipper
        import asyncio
        s = Shipper(endpoint="https://127.0.0.1:9", shutdown_timeout=0.5)
        ids = [s.track("e", {"i": i}) for i in range(5)]
        s.close()
        async def main():
            async with AsyncShipper(endpoint="https://127.0.0.1:9", shutdown_timeout=0.5) as a:
                ids.append(a.track("async"))
        asyncio.run(main())
        print(json.dumps(ids))
    """, env, timeout=60)
    assert out.returncode == 0, out.stderr
    ids = json.loads(out.stdout)
    assert all(ids) and len(ids) == 6
    assert sorted(e["id"] for e in events_on_disk(cache_dir)) == sorted(ids)
    doctor = shipper_cmd({**env, "SHIPPER_ENDPOINT": "https://127.0.0.1:9"}, "doctor")
    assert doctor.returncode == 1
    assert "cannot set up HTTP" in doctor.stdout


def test_a_key_that_cannot_be_a_header_is_refused_and_never_shown(cache_dir: Path) -> None:
    """A non-ASCII key is a programmer error as an argument, and ignored with a warning
    (which does not show it) from the environment; the key never reaches a message."""
    with pytest.raises(ConfigError) as caught:
        Shipper(endpoint="http://127.0.0.1:9", api_key="sk-\u00e9t\u00e9-secret")
    assert "secret" not in str(caught.value)
    env = child_env(cache_dir, SHIPPER_ENDPOINT="http://127.0.0.1:9",
                    SHIPPER_API_KEY="sk-\u00e9t\u00e9-secret")
    out = run_py("""
        import logging, shipper
        logging.basicConfig(level=logging.DEBUG)
        s = shipper.Shipper(shutdown_timeout=0.2)
        s.track("e")
        s.close()
    """, env)
    assert out.returncode == 0
    assert "secret" not in out.stdout + out.stderr and "api_key" in out.stderr


def test_a_client_imports_what_delivery_needs_when_it_is_made(cache_dir: Path) -> None:
    """What the first request imports (httpcore's connection, its asyncio backend, h11) is
    imported when the client is made, before any track(): never on the delivery thread
    while the caller records (an import holds the interpreter lock for milliseconds)."""
    out = run_py("""
        import sys
        from shipper import Shipper
        names = ("h11", "httpcore._async.http11", "anyio._backends._asyncio")
        before = [n in sys.modules for n in names]
        s = Shipper(endpoint="http://127.0.0.1:9", shutdown_timeout=0.2)
        print(before, [n in sys.modules for n in names], s._thread is None)
    """, child_env(cache_dir))
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["[False,", "False,", "False]", "[True,", "True,", "True]",
                                  "True"]


def test_plain_http_builds_no_tls_context() -> None:
    """An http:// endpoint gets a TLS context with no certificates (cheap to build); https
    gets full verification."""
    plain = tls_verification(load_settings({"endpoint": "http://127.0.0.1:9"}, environ={}))
    assert not isinstance(plain, bool) and plain.cert_store_stats()["x509_ca"] == 0
    assert tls_verification(load_settings({"endpoint": "https://x.test"}, environ={})) is True
    off = load_settings({"endpoint": "https://x.test", "verify_tls": False}, environ={})
    assert tls_verification(off) is False


def test_track_and_close_from_a_handler_that_interrupts_the_start(cache_dir: Path) -> None:
    """A signal handler runs on the thread it interrupts: track() or close() called from it
    while the first track() holds the start lock must not deadlock."""
    s = Shipper(endpoint="http://127.0.0.1:9", shutdown_timeout=0.2)
    done: list[object] = []

    def interrupted_start() -> None:
        with s._start_lock:  # where a signal could land: inside the first track's start
            done.append(s.track("from.handler"))
            done.append(s.close())

    worker = threading.Thread(target=interrupted_start)
    worker.start()
    worker.join(30)
    assert not worker.is_alive() and done[0] is not None
    assert pending_events(cache_dir) == 1


def test_a_failed_thread_start_does_not_wedge_the_client(cache_dir: Path) -> None:
    """When no thread can be started (the address space is capped here), track() still
    returns ids and the events go to disk; nothing waits in memory for a thread that will
    never run."""
    out = run_py("""
        import json, resource
        from shipper import Shipper
        s = Shipper(shutdown_timeout=0.2)
        with open("/proc/self/status") as f:
            size = next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmSize"))
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        resource.setrlimit(resource.RLIMIT_AS, (size + 4 * 1024 * 1024, hard))
        ids = [s.track("e", {"i": i}) for i in range(5)]
        started = s._thread is not None
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        s.close()
        print(json.dumps({"ids": ids, "started": started}))
    """, child_env(cache_dir))
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert not doc["started"] and all(doc["ids"])
    assert sorted(e["id"] for e in events_on_disk(cache_dir)) == sorted(doc["ids"])
