"""A real ClickHouse server for the tests: Debian's ``clickhouse-server`` package, installed
where it is missing (root and apt), started on a free loopback port with all its state in a
temporary folder, and stopped with the test.

Only the HTTP port is opened (the config names no other); the root tag is ``<yandex>`` so
the 2018 server Debian ships (18.16) reads it, and newer servers accept it too.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

CONFIG = """<?xml version="1.0"?>
<yandex>
    <logger><level>warning</level><log>{dir}/server.log</log>
        <errorlog>{dir}/server.err.log</errorlog><size>10M</size><count>1</count></logger>
    <listen_host>127.0.0.1</listen_host>
    <http_port>{port}</http_port>
    <path>{dir}/data/</path>
    <tmp_path>{dir}/data/tmp/</tmp_path>
    <user_files_path>{dir}/data/user_files/</user_files_path>
    <format_schema_path>{dir}/data/format_schemas/</format_schema_path>
    <users_config>{dir}/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mark_cache_size>268435456</mark_cache_size>
    <uncompressed_cache_size>268435456</uncompressed_cache_size>
</yandex>
"""

USERS = """<?xml version="1.0"?>
<yandex>
    <profiles><default/><no_ddl><allow_ddl>0</allow_ddl></no_ddl></profiles>
    <users>
        <default><password></password><networks><ip>127.0.0.1</ip></networks>
            <profile>default</profile><quota>default</quota></default>
        <shipper><password>{password}</password><networks><ip>127.0.0.1</ip></networks>
            <profile>default</profile><quota>default</quota></shipper>
        <inserter><password>{password}</password><networks><ip>127.0.0.1</ip></networks>
            <profile>no_ddl</profile><quota>default</quota></inserter>
    </users>
    <quotas><default/></quotas>
</yandex>
"""

PASSWORD = "ch-secret-7"  # noqa: S105 - the test server's own user, made up here
_SEARCH = os.pathsep.join(["/usr/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin"])


def server_binary() -> list[str] | None:
    """How to start a server here: Debian's ``clickhouse-server``, or a newer single
    ``clickhouse`` binary; None when neither is installed."""
    path = os.environ.get("PATH", "") + os.pathsep + _SEARCH
    found = shutil.which("clickhouse-server", path=path)
    if found:
        return [found]
    single = shutil.which("clickhouse", path=path)
    return [single, "server"] if single else None


def install() -> str | None:
    """Install Debian's clickhouse-server where it is missing; None when a server is
    there, else why it cannot be (not root, no apt, the install failed)."""
    if server_binary() is not None:
        return None
    if os.geteuid() != 0:
        return "clickhouse-server is not installed and installing it needs root"
    if shutil.which("apt-get") is None:
        return "clickhouse-server is not installed and there is no apt-get"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    steps = [["apt-get", "update"], ["apt-get", "install", "-y", "clickhouse-server"]]
    for step in steps:
        done = subprocess.run(step, env=env, capture_output=True, timeout=900, check=False)
        if done.returncode != 0:
            return f"{' '.join(step)} failed: {done.stderr.decode(errors='replace')[-500:]}"
    return None if server_binary() is not None else "clickhouse-server did not install"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class ClickHouseServer:
    """One server process; `start` and `stop` may be called again (same port, same data)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.dir = Path(tempfile.mkdtemp(prefix="shipper-clickhouse-"))
        (self.dir / "config.xml").write_text(CONFIG.format(dir=self.dir, port=self.port))
        (self.dir / "users.xml").write_text(USERS.format(password=PASSWORD))
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        command = server_binary()
        assert command is not None, "clickhouse-server is not installed"
        self.proc = subprocess.Popen([*command, f"--config-file={self.dir / 'config.xml'}"],
                                     cwd=self.dir, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"clickhouse-server exited with {self.proc.returncode}: "
                                   + self.log_tail())
            try:
                if httpx.get(self.url + "/ping", timeout=1, trust_env=False).text == "Ok.\n":
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError("clickhouse-server did not answer /ping: " + self.log_tail())

    def log_tail(self) -> str:
        path = self.dir / "server.err.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def stop(self) -> None:
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGKILL)  # throw-away data: no clean shutdown
            self.proc.wait(30)
            self.proc = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def query(self, sql: str) -> str:
        """Run one statement as the default user; its output (raises on an error)."""
        response = httpx.post(self.url + "/", content=sql.encode(), timeout=30,
                              trust_env=False)
        if response.status_code != 200:
            raise RuntimeError(f"{sql!r}: HTTP {response.status_code}: {response.text}")
        return response.text
