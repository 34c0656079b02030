"""What an adversarial review broke, each pinned by a test that failed before its fix:
hangs and stalls of the caller, lost events, privacy and security, bad settings."""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

import shipper
from shipper import AsyncShipper, ConfigError, Shipper, graceful_tracking
from shipper._cache._spool import ResourceShortage, Spool
from shipper._cli._main import main
from shipper._cli._serve import make_server
from shipper._config import load_settings
from shipper._event import build_event, fast_encoder
from shipper._transport import tls_verification

from .conftest import (
    ROOT,
    Collector,
    child_env,
    destination_home,
    events_on_disk,
    free_port,
    pending_events,
    require_tool,
    required_or_skip,
    serving,
    wait_for,
    write_backlog,
)
from .mockcollector import MockCollector

pytestmark = pytest.mark.chaos


def run_py(code: str, env: dict[str, str], timeout: float = 60,
           **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                          capture_output=True, text=True, timeout=timeout, check=False, **kwargs)


def shipper_cmd(env: dict[str, str], *args: str,
                **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shipper", *args], env=env,
                          capture_output=True, text=True, timeout=120, check=False, **kwargs)


# -- the caller hangs or is slowed --------------------------------------------------------


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


# -- acknowledged events are lost -----------------------------------------------------------


def test_running_out_of_descriptors_never_quarantines(collector: Collector,
                                                      cache_dir: Path) -> None:
    """With a low descriptor limit, a sync of 1,500 single-event files delivers them all
    and quarantines none (claims are capped; a shortage stops, it never blames a file)."""
    spool = Spool(cache_dir)
    recorded = write_backlog(cache_dir, files=1500, per_file=1)
    out = run_py(f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_NOFILE, (200, 200))
        import shipper
        result = shipper.sync(120, endpoint={collector.url!r})
        print(result.delivered, result.pending_events, result.stopped_by)
    """, child_env(cache_dir), timeout=180)
    assert out.returncode == 0, out.stderr
    assert os.listdir(spool.quarantine) == []
    assert sorted(collector.ids()) == sorted(recorded)


def test_a_descriptor_shortage_is_not_the_files_fault(tmp_path: Path) -> None:
    """Claiming with no descriptor left raises ResourceShortage; the file stays pending."""
    spool = Spool(tmp_path)
    spool.write([b'{"id":"a"}'])
    (entry,) = spool.entries()
    out = run_py(f"""
        import os, resource
        from pathlib import Path
        from shipper._cache._spool import ResourceShortage, Spool, Entry
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
        held = []
        try:
            while True:
                held.append(os.open("/dev/null", os.O_RDONLY))
        except OSError:
            pass
        spool = Spool({str(tmp_path)!r})
        try:
            spool.claim(Entry(Path({str(entry.path)!r}), {entry.written_ms}, 1))
            print("claimed")
        except ResourceShortage:
            print("shortage")
    """, child_env())
    assert out.stdout.strip() == "shortage", out.stderr
    assert os.listdir(spool.quarantine) == [] and len(spool.entries()) == 1
    assert issubclass(ResourceShortage, OSError)


def test_one_unrepresentable_value_spoils_only_itself(collector: Collector,
                                                      cache_dir: Path) -> None:
    """A property that cannot be written (an integer of 5,000 digits) becomes a marker; the
    event and the events spilled beside it are delivered whole."""
    with Shipper(shutdown_timeout=0.2) as s:  # no endpoint: kept for the first sync
        ids = [s.track("good", {"i": i}) for i in range(10)]
        bad = s.track("bad", {"n": 10**5000, "ok": 1})
    assert pending_events(cache_dir) == 11
    shipper.sync(60, endpoint=collector.url)
    received = {e["id"]: e for e in collector.events()}
    assert set(received) == {*ids, bad}
    assert received[bad]["properties"] == {"n": "<int of about 5001 digits>", "ok": 1}


SIGTERM_POOL = """
import json, multiprocessing, sys
import shipper

client = None

def work(i):
    global client
    if client is None:  # one client per worker, kept for the worker's life
        client = shipper.Shipper(endpoint="http://127.0.0.1:9", flush_interval=3600,
                                 shutdown_timeout=0.2)
    return [client.track("pooled", {"task": i, "n": n}) for n in range(20)]

if __name__ == "__main__":
    with multiprocessing.get_context(sys.argv[1]).Pool(2) as pool:
        ids = [i for chunk in pool.map(work, range(10)) for i in chunk]
    print(json.dumps(ids))   # the with block ended the workers with SIGTERM
"""


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_sigterm_from_a_pool_spills_what_is_queued(method: str, cache_dir: Path,
                                                   tmp_path: Path) -> None:
    """`with multiprocessing.Pool()` ends its workers with SIGTERM: what their clients had
    queued is on disk, not lost."""
    script = tmp_path / "pooled.py"
    script.write_text(SIGTERM_POOL)
    out = subprocess.run([sys.executable, str(script), method], env=child_env(cache_dir),
                         capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    ids = json.loads(out.stdout)
    assert len(ids) == 200 and all(ids)
    assert sorted(e["id"] for e in events_on_disk(cache_dir)) == sorted(ids)


def test_a_forked_child_starts_with_sigterms_default(cache_dir: Path) -> None:
    """A fork worker of a program with an open client has SIGTERM at its default (nothing
    of its own to spill: Pool.terminate must end it at once); a client the child uses
    takes SIGTERM over again, and what it queued is spilled when the pool ends it."""
    out = run_py("""
        import multiprocessing, signal
        from shipper import Shipper

        def idle(_):
            return signal.getsignal(signal.SIGTERM) is signal.SIG_DFL

        def uses_the_parents_client(_):
            parent.track("in.child")
            return signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL

        parent = Shipper(endpoint="http://127.0.0.1:9", flush_interval=60)
        parent.track("in.parent")
        assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
        with multiprocessing.get_context("fork").Pool(2) as pool:
            print(pool.map(idle, [0, 1]), pool.apply(uses_the_parents_client, (0,)))
        parent.close()
    """, child_env(cache_dir))
    assert out.stdout.strip() == "[True, True] True", out.stderr
    assert sorted(e["event"] for e in events_on_disk(cache_dir)) == ["in.child", "in.parent"]


def test_sigterm_leaves_a_programs_own_handler_alone(cache_dir: Path) -> None:
    """A program that set its own SIGTERM handler keeps it: shipper does not take over."""
    out = run_py("""
        import signal, shipper
        def mine(signum, frame):
            pass
        signal.signal(signal.SIGTERM, mine)
        shipper.Shipper(shutdown_timeout=0.1)
        print(signal.getsignal(signal.SIGTERM) is mine)
    """, child_env(cache_dir))
    assert out.stdout.strip() == "True"


def test_a_deleted_cache_folder_is_made_again(cache_dir: Path) -> None:
    """The cache is deleted under a running client: its next spill makes it again."""
    mock = MockCollector()
    mock.down = True
    s = Shipper(endpoint="http://collector.test", transport=mock.transport,
                shutdown_timeout=0.2)
    s.track("first")
    s.flush()
    shutil.rmtree(cache_dir)
    for i in range(5):
        s.track("after", {"i": i})
    s.close()
    assert pending_events(cache_dir) == 5
    assert s.stats()["dropped"] == {}


def test_a_first_track_at_exit_is_delivered(collector: Collector, cache_dir: Path) -> None:
    """track() first called from an atexit handler (no thread can start then) writes the
    event to disk and starts a detached sync, which delivers it."""
    out = run_py(f"""
        import atexit, shipper
        client = shipper.Shipper(endpoint={collector.url!r})
        atexit.register(lambda: print(client.track("at.exit")))
    """, child_env(cache_dir))
    event_id = out.stdout.strip()
    assert len(event_id) == 36, out.stderr
    assert wait_for(lambda: event_id in collector.ids(), timeout=60)


def test_an_async_client_never_started_keeps_its_events(cache_dir: Path) -> None:
    """AsyncShipper used without `async with` or start(): outside a loop the events are
    spilled at exit; inside a running loop the delivery task starts by itself."""
    out = run_py("""
        import json, shipper
        s = shipper.AsyncShipper(endpoint="http://127.0.0.1:9")
        print(json.dumps([s.track("e", {"i": i}) for i in range(5)]))
    """, child_env(cache_dir))
    ids = json.loads(out.stdout)
    assert sorted(e["id"] for e in events_on_disk(cache_dir)) == sorted(ids)


async def test_an_async_client_starts_itself_inside_a_loop() -> None:
    """Inside a running loop, the first track() starts the delivery task."""
    mock = MockCollector()
    s = AsyncShipper(endpoint="http://collector.test", transport=mock.transport)
    ids = [s.track("e") for _ in range(3)]
    result = await s.flush()
    await s.aclose()
    assert result.delivered == 3 and sorted(mock.ids) == sorted(ids)


def test_a_receiver_refusing_everything_is_not_believed(collector: Collector,
                                                        cache_dir: Path) -> None:
    """A collector answering 400 to everything: the events are kept (not dead-lettered),
    the bisection is bounded, and the breaker opens."""
    collector.faults(status=400)
    with Shipper(endpoint=collector.url, shutdown_timeout=5) as s:
        for i in range(200):
            s.track("e", {"i": i})
    assert pending_events(cache_dir) == 200
    home = destination_home(cache_dir, collector.url)
    assert not any((home / "dead").iterdir())
    assert collector.stats()["batch_requests"] <= 70
    state = json.loads((home / "state.json").read_text())
    assert "refused all" in state["breaker"]["reason"]


def test_sync_delivers_before_it_prunes(collector: Collector, cache_dir: Path) -> None:
    """With a healthy collector and a small cache limit, sync delivers everything first
    and prunes nothing."""
    recorded = write_backlog(cache_dir, files=20, per_file=100)  # ~130 KB
    result = shipper.sync(60, endpoint=collector.url, max_cache_mb=0.05)
    assert result.delivered == 2000 and result.pruned == 0
    assert sorted(collector.ids()) == sorted(recorded)


class Hostile:
    def __getattr__(self, name: str) -> Any:
        raise RuntimeError("no attributes here")

    @property  # type: ignore[misc]
    def __class__(self) -> Any:
        raise RuntimeError("no class either")


@pytest.mark.parametrize("timestamp", [1e20, 10**400, -1e30, float("nan"), "hostile"],
                         ids=["1e20", "10**400", "-1e30", "nan", "hostile"])
def test_a_bad_timestamp_keeps_the_event(timestamp: object) -> None:
    """A time that cannot be written is replaced by now; the event is kept."""
    if timestamp == "hostile":
        timestamp = Hostile()
    before = time.time()
    _, raw = build_event("e", {"x": 1}, timestamp=timestamp)
    doc = json.loads(raw)
    assert doc["properties"] == {"x": 1}
    assert doc["timestamp"] >= time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(before - 1))


def test_hostile_values_and_colliding_keys_spoil_nothing_else() -> None:
    """An object whose attributes or class raise becomes its repr; None and NaN keys stay
    apart; 1 and "1" both keep their values."""
    for encode in (None, fast_encoder()):
        kwargs = {} if encode is None else {"encode": encode}
        _, raw = build_event("e", {"h": Hostile(), None: 1, math.nan: 2, 1: "a", "1": "b",
                                   "ok": True}, **kwargs)
        props = json.loads(raw)["properties"]
        assert props["ok"] is True and isinstance(props["h"], str)
        assert props["null"] == 1 and props["NaN"] == 2
        assert sorted(v for k, v in props.items() if k.startswith("1")) == ["a", "b"]


# -- security and privacy -------------------------------------------------------------------


def test_a_cache_below_a_folder_others_can_write_is_refused(tmp_path: Path) -> None:
    """Every folder above the cache must be root's or ours and not writable by others
    (unless root's and sticky, like /tmp): else nothing is written, and doctor says why."""
    open_dir = tmp_path / "shared"
    open_dir.mkdir()
    os.chmod(open_dir, 0o777)  # writable by all, not sticky
    cache = open_dir / "cache"
    env = child_env(cache)
    out = shipper_cmd(env, "emit", "x")
    assert out.returncode == 1 and "another user can change" in out.stderr
    assert not cache.exists()
    doctor = shipper_cmd(env, "doctor")
    assert doctor.returncode == 1 and "another user can change" in doctor.stdout
    os.chmod(open_dir, 0o1777)
    os.chown(open_dir, 54321, 54321)  # sticky, but not root's
    assert shipper_cmd(env, "emit", "x").returncode == 1
    os.chown(open_dir, 0, 0)  # like /tmp: root's and sticky
    assert shipper_cmd(env, "emit", "x").returncode == 0


def test_a_running_client_checks_the_tree_every_time(tmp_path: Path) -> None:
    """A client that wrote once is refused later if a folder above the cache became
    writable by others: it checks at each write, not once."""
    parent = tmp_path / "home"
    parent.mkdir(mode=0o755)
    cache = parent / "cache"
    s = Shipper(endpoint="http://127.0.0.1:9", cache_dir=str(cache), shutdown_timeout=0.2)
    s.track("before")
    s.flush()
    assert pending_events(cache) == 1
    os.chmod(parent, 0o777)
    s.track("after")
    s.close()
    assert pending_events(cache) == 1 and s.stats()["dropped"] == {"disk_unwritable": 1}


@pytest.mark.parametrize("folder", ["pending", "tmp"])
def test_a_folder_of_the_cache_swapped_for_a_link_is_not_followed(
        tmp_path: Path, folder: str) -> None:
    """A folder inside the cache replaced by a link to elsewhere: the files are opened
    through descriptors of folders opened without following links, so nothing is written
    there; the event is reported as not recorded."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    cache = tmp_path / "cache"
    env = child_env(cache)
    assert shipper_cmd(env, "emit", "first").returncode == 0
    (cache / folder).rename(tmp_path / "moved")
    (cache / folder).symlink_to(elsewhere, target_is_directory=True)
    out = shipper_cmd(env, "emit", "second")
    assert out.returncode == 1 and "event not recorded" in out.stderr
    assert list(elsewhere.iterdir()) == []


def test_a_link_above_the_cache_owned_by_another_user_is_refused(tmp_path: Path) -> None:
    """A folder link owned by another user above the cache: refused."""
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    os.lchown(link, 54321, 54321)
    out = shipper_cmd(child_env(link / "cache"), "emit", "x")
    assert out.returncode == 1 and not (real / "cache").exists()


@pytest.mark.parametrize("spelling", ["claude_code", "Claude-Code", "claudecode", "CLAUDE"])
def test_common_spellings_of_a_source_are_understood(spelling: str, cache_dir: Path) -> None:
    """A misspelt known source maps to it: its privacy rules apply."""
    payload = json.dumps({"hook_event_name": "UserPromptSubmit", "prompt": "SECRET PROMPT",
                          "session_id": "s1"})
    subprocess.run([sys.executable, "-m", "shipper", "hook", "--source", spelling],
                   input=payload.encode(), env=child_env(cache_dir), timeout=60, check=True)
    (event,) = events_on_disk(cache_dir)
    assert event["event"] == "claude_code.UserPromptSubmit"
    assert "SECRET" not in json.dumps(event)


def test_an_unknown_source_ships_metadata_only(cache_dir: Path) -> None:
    """The generic mapping keeps what cannot be content (names, ids, numbers) and the sizes
    of the rest, unless content is opted in."""
    payload = json.dumps({"event": "tool.ran", "session_id": "s1", "duration_ms": 12,
                          "prompt": "SECRET PROMPT", "command": "rm -rf SECRET",
                          "nested": {"secret": "SECRET"}})
    env = child_env(cache_dir)
    subprocess.run([sys.executable, "-m", "shipper", "hook", "--source", "my-tool"],
                   input=payload.encode(), env=env, timeout=60, check=True)
    (event,) = events_on_disk(cache_dir)
    assert "SECRET" not in json.dumps(event)
    assert event["event"] == "tool.ran"
    assert event["properties"]["session_id"] == "s1"
    assert event["properties"]["duration_ms"] == 12
    assert event["properties"]["prompt_bytes"] == len("SECRET PROMPT")


def test_the_collector_survives_idle_connections_and_slow_clients(tmp_path: Path) -> None:
    """More idle connections than workers get 503 at once instead of stalling everyone; a
    client trickling bytes is cut off at the request deadline; JSON nested too deep is a
    400, not a dropped connection."""
    server = make_server("127.0.0.1", 0, out=tmp_path / "o.jsonl", request_deadline=1.0)
    with serving(server) as url:
        port = server.server_address[1]
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(70)]
        try:
            idle[-1].settimeout(30)  # past the workers: answered at once, not left waiting
            assert idle[-1].recv(100).startswith(b"HTTP/1.1 503")
        finally:
            for sock in idle:
                sock.close()
        assert wait_for(lambda: httpx.get(url + "/health", timeout=5).status_code == 200)
        slow = socket.create_connection(("127.0.0.1", port))
        slow.sendall(b"POST /v1/batch HTTP/1.1\r\nContent-Length: 100\r\n\r\n")
        slow.settimeout(0.2)
        cut_off = False
        for _ in range(100):  # a byte every 0.2 s for up to 20 s: each one under any timeout
            try:
                slow.sendall(b" ")
                cut_off = slow.recv(1024) == b""
            except TimeoutError:
                continue
            except OSError:
                cut_off = True
            if cut_off:
                break
        slow.close()
        assert cut_off, "a trickling client was never cut off"
        deep = "[" * 100_000 + "]" * 100_000
        r = httpx.post(url + "/v1/batch", content=deep.encode(), timeout=30)
        assert r.status_code == 400


def test_the_collector_keeps_its_events_private_and_its_key_off_the_command_line(
        tmp_path: Path) -> None:
    """The events file is 0600; the key comes from the environment or a file, never argv."""
    out = tmp_path / "events.jsonl"
    out.write_text("")
    os.chmod(out, 0o644)
    server = make_server("127.0.0.1", 0, out=out)
    with serving(server) as url:
        httpx.post(url + "/v1/batch", json={"batch": [{"id": "a", "event": "e"}]}, timeout=10)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert main(["serve", "--api-key", "k"]) == 2  # no such flag


def test_the_collector_takes_its_key_from_a_file(tmp_path: Path) -> None:
    """`shipper serve --api-key-file F`: a batch without that key (or with another) is 401
    and not stored; with it, 200 and stored. A file it cannot read is a usage error."""
    key_file = tmp_path / "key"
    key_file.write_text("s3cret-key\n")
    out = tmp_path / "events.jsonl"
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "shipper", "serve", "--port", str(port),
                             "--out", str(out), "--api-key-file", str(key_file)],
                            env=child_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1/batch"
    try:
        assert wait_for(lambda: _answers(f"http://127.0.0.1:{port}/health"), timeout=60)
        body = {"batch": [{"id": "a1", "event": "e"}]}
        assert httpx.post(url, json=body, timeout=10).status_code == 401
        assert httpx.post(url, json=body, timeout=10,
                          headers={"Authorization": "Bearer other"}).status_code == 401
        assert httpx.post(url, json=body, timeout=10,
                          headers={"Authorization": "Bearer s3cret-key"}).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == ["a1"]
    assert main(["serve", "--api-key-file", str(tmp_path / "missing")]) == 2


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code < 500
    except httpx.HTTPError:
        return False


# -- smaller, still wrong -------------------------------------------------------------------


def test_the_cli_shows_warnings_and_emit_says_why_it_dropped(cache_dir: Path) -> None:
    """emit of an event over the limit exits 1 with the reason; warnings go to stderr, and
    -q silences them."""
    env = child_env(cache_dir, SHIPPER_MAX_EVENT_BYTES="100")
    out = shipper_cmd(env, "emit", "big", "-p", "x=" + "y" * 500)
    assert out.returncode == 1 and "event not recorded" in out.stderr
    assert "over max_event_bytes" in out.stderr
    status = shipper_cmd(env, "status")
    assert "1 too large" in status.stdout
    Spool(cache_dir).write([b'{"id":"old"}'], written_ms=0)
    loud = shipper_cmd(env, "prune", "--max-age", "1")
    assert "shipper: pruned 1 cached events" in loud.stderr
    Spool(cache_dir).write([b'{"id":"old2"}'], written_ms=0)
    quiet = shipper_cmd(env, "prune", "--max-age", "1", "-q")
    assert quiet.stderr == ""


def test_the_hook_path_makes_the_rename_durable(cache_dir: Path) -> None:
    """After renaming the event file into pending/, the folder itself is fsync'd."""
    require_tool("strace")
    out = subprocess.run(["strace", "-f", "-y", "-e", "trace=fsync,renameat,rename",
                          sys.executable, "-m", "shipper", "emit", "durable"],
                         env=child_env(cache_dir), capture_output=True, text=True,
                         timeout=120, check=False)
    lines = out.stderr.splitlines()
    renames = [i for i, line in enumerate(lines) if "rename" in line and "/pending" in line]
    assert renames, out.stderr[-2000:]
    after = lines[renames[-1]:]
    assert any("fsync(" in line and "/pending>" in line and line.rstrip().endswith("= 0")
               for line in after), out.stderr[-2000:]


def test_client_side_drops_are_saved_for_status(cache_dir: Path) -> None:
    """too_large drops of a client are in drops.json after close (status shows them)."""
    s = Shipper(endpoint="http://127.0.0.1:9", max_event_bytes=100, shutdown_timeout=0.2)
    assert s.track("big", {"x": "y" * 500}) is None
    s.close()
    assert json.loads((cache_dir / "drops.json").read_text()) == {"too_large": 1}


def test_a_bug_inside_track_is_counted_as_an_internal_error(
        cache_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A failure of track() itself (here a subclass whose worker check raises, standing in
    for a bug) reaches no caller: None is returned, the traceback logged, and the lost event
    saved as an internal_error drop for status."""

    class Broken(Shipper):
        def _worker_ready(self) -> bool:
            raise RuntimeError("a bug in shipper")

    s = Broken(endpoint="http://127.0.0.1:9", shutdown_timeout=0.2)
    with caplog.at_level(logging.ERROR, logger="shipper"):
        assert s.track("e", {"n": 1}) is None
    s.close()
    assert "a bug in shipper" in caplog.text
    assert json.loads((cache_dir / "drops.json").read_text()) == {"internal_error": 1}


def test_status_does_not_claim_pruned_events_were_delivered(cache_dir: Path,
                                                            capsys: pytest.CaptureFixture[str],
                                                            ) -> None:
    """When the cache is empty because events were pruned, status says they were dropped."""
    Spool(cache_dir).write([b'{"id":"old"}'], written_ms=0)
    main(["prune", "--max-age", "1", "-q"])
    capsys.readouterr()
    main(["status"])
    out = capsys.readouterr().out
    assert "were dropped" in out and "every recorded event was delivered" not in out


def _python_for(uid: int) -> str | None:
    """An interpreter another user can run (this one may sit in root's home)."""
    for candidate in (sys.executable, "/usr/bin/python3"):
        try:
            if subprocess.run([candidate, "-c", "pass"], user=uid, capture_output=True,
                              timeout=30, check=False).returncode == 0:
                return candidate
        except OSError:
            continue
    return None


def test_no_home_folder_means_no_cache_not_a_tilde_folder() -> None:
    """HOME unset and no user database entry: nothing is written (not ./~/...), and the
    command says why. (Recording needs no third-party module: any Python 3.10+ runs it.)"""
    if os.geteuid() != 0:
        required_or_skip("root", "needed to run as a user with no entry in the user database")
    python = _python_for(54321)
    if python is None:
        required_or_skip("python", "no Python here that another user may run")
    workdir = Path(tempfile.mkdtemp(prefix="shipper-nohome-"))
    try:
        os.chown(workdir, 54321, 54321)
        env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT),
               "SHIPPER_CONFIG": "/nonexistent/config.toml"}
        out = subprocess.run([python, "-m", "shipper", "emit", "x"], env=env, cwd=workdir,
                             capture_output=True, text=True, timeout=60, check=False,
                             user=54321, group=54321)
        assert out.returncode == 1 and "home folder" in out.stderr, out.stderr
        assert list(workdir.iterdir()) == []
    finally:
        shutil.rmtree(workdir)


@pytest.mark.parametrize(("variable", "value", "default"), [
    ("SHIPPER_ENDPOINT", "http://127.0.0.1:99999", None), ("SHIPPER_ENDPOINT", "ftp://x", None),
    ("SHIPPER_FLUSH_INTERVAL", "0", 1.0), ("SHIPPER_TIMEOUT", "0", 5.0),
])
def test_bad_settings_are_refused_not_obeyed(variable: str, value: str, default: object,
                                             cache_dir: Path) -> None:
    """A port out of range, a scheme that is not http, a flush interval of 0: the CLI
    refuses them (exit 2) and the library ignores them (the default holds) with a
    warning."""
    env = child_env(cache_dir, **{variable: value})
    assert shipper_cmd(env, "status").returncode == 2
    assert shipper_cmd(env, "doctor").returncode == 1
    settings = load_settings(environ={variable: value})
    assert getattr(settings, variable.removeprefix("SHIPPER_").lower()) == default


def test_a_config_file_that_is_a_fifo_does_not_hang(tmp_path: Path, cache_dir: Path) -> None:
    """SHIPPER_CONFIG pointing at a FIFO: the file is ignored with a warning, no hang."""
    fifo = tmp_path / "config.fifo"
    os.mkfifo(fifo)
    env = child_env(cache_dir, SHIPPER_CONFIG=str(fifo))
    out = run_py("import shipper\nprint(shipper.track('e'))", env, timeout=30)
    assert len(out.stdout.strip()) == 36
    assert shipper_cmd(env, "status").returncode == 2


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


def test_signal_module_is_untouched_by_a_disabled_client() -> None:
    """A disabled client installs no SIGTERM handler."""
    before = signal.getsignal(signal.SIGTERM)
    Shipper(disabled=True)
    assert signal.getsignal(signal.SIGTERM) is before
