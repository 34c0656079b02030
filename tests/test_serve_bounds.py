"""`shipper serve` stays up and private: idle connections and slow clients, its events
file's mode, its key off the command line."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from shipper._cli._main import main
from shipper._cli._serve import make_server

from .conftest import (
    child_env,
    free_port,
    serving,
    wait_for,
)

pytestmark = pytest.mark.chaos


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
        slow.sendall(b"POST /v1/batch HTTP/1.1\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 100\r\n\r\n")
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
        r = httpx.post(url + "/v1/batch", content=deep.encode(), timeout=30,
                       headers={"Content-Type": "application/json"})
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
