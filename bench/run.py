"""The benchmark: shipper against segment-analytics-python and posthog, same machine, same run.

    pip install -e '.[bench]'
    python bench/run.py                 # all scenarios, ~10 minutes on 2 cores
    python bench/run.py --quick         # fewer repeats and smaller N, ~3 minutes

Every run of every SDK is a fresh process (bench/driver.py) with the SDK's production
defaults, talking to bench/collector.py on 127.0.0.1. Results go to bench/results/latest.json
and a Markdown table on stdout (copied into docs/performance.md).

The receiver never shares the caller's core: on a machine with two CPUs or more, the
collector is pinned to one CPU and each driver (the caller and its SDK's threads) to
another (``os.sched_setaffinity``; the output says which). A collector that parses what it
receives on the caller's core would put its work on the caller's calls, and an SDK that
delivers while the caller runs (shipper) would pay for it where one that delivers later
(and drops) would not. The "up, shared cores" scenario runs the same without pinning, as a
laptop sees it.

    python bench/run.py --before /path/to/venv   # also the shipper installed there (or a
                                                 # checkout), in the same rounds
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PY = sys.executable
PEERS = ["segment", "posthog"]
SDKS = ["shipper", "shipper-stdlib", *PEERS]
BEFORE = "@before"  # an SDK name ending so runs shipper from the --before tree
# --before PATH: the checkout that "shipper@before" runs (None: not measured)
BEFORE_TREE: list[str] = []
ONLY: list[str] = []  # --sdk: these SDKs only (a quick comparison)


def cpus() -> list[int]:
    return sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


def pinning() -> tuple[set[int], set[int]] | None:
    """(the caller's CPUs, the collector's CPUs): apart, where there are two CPUs or more."""
    have = cpus()
    if len(have) < 2:
        return None
    return {have[0]}, {have[1]}


def pin_to(where: set[int] | None) -> Any:
    """A preexec_fn that pins the child (and every thread it starts) to ``where``."""
    if where is None:
        return None
    return lambda: os.sched_setaffinity(0, where)
HOOK_PAYLOAD = b'{"hook_event_name":"PostToolUse","session_id":"s1","cwd":"/tmp",' \
               b'"tool_name":"Read","tool_input":{"file_path":"/tmp/a.py"},' \
               b'"tool_response":{"success":true}}'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def base_env(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPPER_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a user's machine caches bytecode
    env["SHIPPER_CACHE_DIR"] = str(cache)
    env["SHIPPER_CONFIG"] = str(cache / "none.toml")
    return env


class Collector:
    def __init__(self, blackhole: bool = False, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [PY, str(HERE / "collector.py"), "--port", str(self.port)]
        pins = pinning()
        self.proc = subprocess.Popen([*args, "--blackhole"] if blackhole else args,
                                     # bench/hook.py's threads only kill children
                                     preexec_fn=pin_to(pins[1] if pins else None))  # noqa: PLW1509
        time.sleep(0.3)
        if not blackhole:
            for _ in range(100):
                try:
                    self.stats()
                    break
                except OSError:
                    time.sleep(0.05)

    def call(self, method: str, path: str) -> dict[str, Any]:
        req = urllib.request.Request(self.url + path, method=method,  # noqa: S310 - loopback
                                     data=b"" if method == "POST" else None)
        with urllib.request.urlopen(req, timeout=5) as r:  # noqa: S310 - our loopback URL
            data: dict[str, Any] = json.loads(r.read() or b"{}")
            return data

    def stats(self) -> dict[str, Any]:
        return self.call("GET", "/stats")

    def reset(self) -> None:
        self.call("POST", "/reset")

    def settle(self, want: int, limit: float = 30.0) -> dict[str, Any]:
        """Wait until `want` unique events arrived or the count stops moving (bounded)."""
        deadline = time.monotonic() + limit
        last, still = -1, 0.0
        while time.monotonic() < deadline:
            st = self.stats()
            if st["unique"] >= want:
                return st
            if st["unique"] == last:
                still += 0.2
                if still >= 2.0:
                    return st
            else:
                last, still = st["unique"], 0.0
            time.sleep(0.2)
        return self.stats()

    def pin(self, where: set[int] | None) -> None:
        """Run the collector on ``where`` (None: any CPU)."""
        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(self.proc.pid, where or set(cpus()))

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


@contextmanager
def temp_cache() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="shipper-bench-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def sdk_env(sdk: str, cache: Path) -> tuple[str, dict[str, str], str]:
    """The driver's SDK name, environment and Python: "shipper@before" runs shipper from
    --before, a virtual environment (its own Python and what is installed in it) or a
    checkout (first on this Python's path)."""
    env = base_env(cache)
    if sdk.endswith(BEFORE):
        before = Path(BEFORE_TREE[0])
        if (before / "bin" / "python").exists():
            return sdk.removesuffix(BEFORE), env, str(before / "bin" / "python")
        env["PYTHONPATH"] = str(before)
        return sdk.removesuffix(BEFORE), env, PY
    return sdk, env, PY


def drive(sdk: str, url: str, n: int, cache: Path, cap: float, *,
          extra: list[str] | None = None, pin: bool = True) -> dict[str, Any]:
    """One fresh-process run; a run that outlives `cap` seconds is killed and reported.
    ``pin``: the driver runs on the caller's CPU, apart from the collector's."""
    started = time.monotonic()
    killed: dict[str, Any] = {}
    name, env, python = sdk_env(sdk, cache)
    pins = pinning() if pin else None
    try:
        out = subprocess.run([python, str(HERE / "driver.py"), "--sdk", name, "--url", url,
                              "--n", str(n), *(extra or [])], env=env,
                             preexec_fn=pin_to(pins[0] if pins else None),
                             capture_output=True, text=True, timeout=cap, check=False)
        stdout, stderr = out.stdout, out.stderr
    except subprocess.TimeoutExpired as exc:
        stdout = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        stderr = ""
        killed = {"killed_after_s": cap}
    lines = [ln for ln in stdout.splitlines() if ln.startswith("{")]
    if not lines:
        return {"sdk": sdk, "error": stderr[-500:], "wall_s": time.monotonic() - started,
                **killed}
    result: dict[str, Any] = {**json.loads(lines[-1]), **killed}
    result["wall_s"] = time.monotonic() - started
    return result


def med(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


# -- scenarios ---------------------------------------------------------------------------


def sdks() -> list[str]:
    """The SDKs of a round: shipper (and its --before tree's), then the peers."""
    before = [f"shipper{BEFORE}", f"shipper-stdlib{BEFORE}"] if BEFORE_TREE else []
    return [*before, *(ONLY or SDKS)]


def scenario_up(up: Collector, n: int, repeats: int, *, pin: bool = True) -> dict[str, Any]:
    """Call overhead, burst loss and end-to-end throughput with the collector up. Round
    after round, every SDK once a round, so that a ratio can be taken within a round
    (``rounds``: shipper's end-to-end events/s over the fastest peer's in that round)."""
    pins = pinning() if pin else None
    up.pin(pins[1] if pins else None)
    out: dict[str, Any] = {sdk: [] for sdk in sdks()}
    for _ in range(repeats):
        for sdk in sdks():
            up.reset()
            with temp_cache() as cache:
                r = drive(sdk, up.url, n, cache, cap=120, pin=pin)
            st = up.settle(n)
            if "median_us" in r and st["last_at"]:
                r["received"] = st["unique"]
                r["lost"] = n - st["unique"]
                r["throughput"] = st["unique"] / max(st["last_at"] - r["first_call_at"], 1e-6)
                r["requests"] = st["requests"]
            r["load"] = os.getloadavg()[0]
            out[sdk].append(r)
    out["pinned"] = ({"caller_cpus": sorted(pins[0]), "collector_cpus": sorted(pins[1])}
                     if pins else None)
    up.pin(pinning()[1] if pinning() else None)  # back where the other scenarios expect it
    return out


def scenario_unreachable(url: str, n: int, repeats: int, cap: float) -> dict[str, Any]:
    """Call overhead and close time with the collector down (refused) or blackholed."""
    out: dict[str, Any] = {}
    for sdk in sdks():
        runs = []
        for i in range(repeats if sdk.startswith("shipper") else 1):
            with temp_cache() as cache:
                runs.append(drive(sdk, url, n, cache, cap=cap))
            if i == 0 and "killed_after_s" in runs[-1]:
                break
        out[sdk] = runs
    return out


def scenario_recovery(n: int, cap: float) -> dict[str, Any]:
    """n events recorded during an outage; program exits; collector comes back."""
    out: dict[str, Any] = {}
    for sdk in ["shipper", *PEERS]:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        with temp_cache() as cache:
            r = drive(sdk, url, n, cache, cap=cap)
            collector = Collector(port=port)
            try:
                if sdk == "shipper":
                    subprocess.run([PY, "-m", "shipper", "sync", "-q"],
                                   env={**base_env(cache), "SHIPPER_ENDPOINT": url},
                                   timeout=300, check=False)
                st = collector.settle(n, limit=10)
            finally:
                collector.stop()
        r["delivered_after_recovery"] = st["unique"]
        r["delivered_pct"] = 100.0 * st["unique"] / n
        out[sdk] = r
    return out


def scenario_memory(sizes: list[int], peer_sizes: list[int], cap: float) -> dict[str, Any]:
    """Peak RSS while recording N events with the collector down."""
    out: dict[str, Any] = {}
    down = f"http://127.0.0.1:{free_port()}"
    for sdk in [*([f"shipper{BEFORE}"] if BEFORE_TREE else []), "shipper", *PEERS]:
        out[sdk] = {}
        for size in sizes if sdk.startswith("shipper") else peer_sizes:
            with temp_cache() as cache:
                r = drive(sdk, down, size, cache, cap=cap)
            out[sdk][str(size)] = r.get("peak_rss_mb")
    return out


def drain_once(sdk: str, n: int, *, outage: bool = False) -> dict[str, Any]:
    """`shipper sync` of an n-event disk cache, process start included; the sync on the
    caller's CPU, the collector on its own. The backlog is recorded with no endpoint set
    (offline first: the collector has never failed, a healthy drain), or with ``outage``
    while the collector is down: the drain is then a recovery, paced by design (a trial,
    then a rate that grows while the collector keeps up: docs/operations.md)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with temp_cache() as cache:
        drive(sdk, url if outage else "none", n, cache, cap=600)
        collector = Collector(port=port)
        name, env, python = sdk_env(sdk, cache)
        pins = pinning()
        try:
            started = time.monotonic()
            subprocess.run([python, "-m", "shipper", "sync", "-q"],
                           env={**env, "SHIPPER_ENDPOINT": url}, timeout=600, check=False,
                           preexec_fn=pin_to(pins[0] if pins else None))
            seconds = time.monotonic() - started
            st = collector.stats()
        finally:
            collector.stop()
    return {"sdk": name, "events": n, "delivered": st["unique"], "seconds": seconds,
            "events_per_s": st["unique"] / seconds, "requests": st["requests"],
            "load": os.getloadavg()[0]}


def scenario_drain(n: int, repeats: int) -> dict[str, Any]:
    """`shipper sync` of an n-event backlog, round after round (the --before tree's too),
    and once after an outage (a recovery: paced)."""
    names = [*([f"shipper{BEFORE}"] if BEFORE_TREE else []), "shipper"]
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for _ in range(repeats):
        for name in names:
            runs[name].append(drain_once(name, n))
    last = runs["shipper"][-1]
    return {**last, "events_per_s": statistics.median(r["events_per_s"] for r in runs["shipper"]),
            "runs": runs, "after_outage": drain_once("shipper", n, outage=True)}


def peer_hook_script(sdk: str, url: str) -> list[str]:
    code = {
        "segment": "import segment.analytics as a\n"
                   f"c = a.Client(write_key='k', host={url!r})\n"
                   "c.track(user_id='u', event='hook', properties={'x': 1})\nc.flush()\n"
                   "c.shutdown()\n",
        "posthog": "from posthog import Posthog\n"
                   f"p = Posthog('phc_k', host={url!r})\n"
                   "p.capture('hook', distinct_id='u', properties={'x': 1})\np.flush()\n"
                   "p.shutdown()\n",
    }[sdk]
    return [PY, "-c", code]


def time_command(cmd: list[str], env: dict[str, str], runs: int, cap: float,
                 stdin: bytes = b"", *, between: Any = None) -> dict[str, Any]:
    samples = []
    for _ in range(runs):
        if between is not None:
            between()  # not timed: e.g. let the last run's background sync finish
        started = time.perf_counter()
        try:
            subprocess.run(cmd, input=stdin, env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=cap, check=False)
        except subprocess.TimeoutExpired:
            return {"killed_after_s": cap}
        samples.append((time.perf_counter() - started) * 1000)
    return {"median_ms": statistics.median(samples), "runs": runs}


def hook_venv() -> Path:
    """A clean virtual environment with shipper and the peers, and nothing else: the
    machine's own Python may load extra modules at start-up that hide import costs."""
    venv = HERE / ".venv-hook"
    if not (venv / "bin" / "shipper").exists():
        subprocess.run([PY, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "-e",
                        f"{HERE.parent}[bench]"], check=True)
    return venv / "bin"


def scenario_hook(up: Collector, blackhole: Collector, runs: int, peer_runs: int,
                  cap: float) -> dict[str, Any]:
    """A fresh process records one event and exits (in a clean venv)."""
    bin_dir = hook_venv()
    py, shipper_bin = str(bin_dir / "python"), str(bin_dir / "shipper")
    down = f"http://127.0.0.1:{free_port()}"
    out: dict[str, Any] = {"venv": str(bin_dir.parent)}
    with temp_cache() as cache:
        env = base_env(cache)
        subprocess.run([py, "-c", "import shipper._cli._main, httpx"], env=env, check=False)  # pyc

        def sync_done() -> None:
            # each destination's sync holds its own lock (destinations/<key>/sync.lock)
            locks = [str(p) for p in cache.rglob("sync.lock")]
            for _ in range(100):
                if subprocess.run([py, "-c", "import fcntl, os, sys\n"
                                   f"for path in {locks!r}:\n"
                                   "    fd = os.open(path, os.O_RDWR | os.O_CREAT)\n"
                                   "    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)"],
                                  capture_output=True, check=False).returncode == 0:
                    time.sleep(0.3)  # and let that sync's interpreter finish exiting
                    return
                time.sleep(0.1)

        # the baseline waits between runs exactly as the hooks do: a CPU left idle for a
        # moment starts the next process slower, and both sides must pay that alike
        out["python -c pass"] = time_command([py, "-c", "pass"], env, runs, cap,
                                             between=sync_done)
        for label, url in (("up", up.url), ("down", down), ("blackholed", blackhole.url)):
            hook_env = {**env, "SHIPPER_ENDPOINT": url}
            out[f"shipper hook ({label})"] = time_command(
                [shipper_bin, "hook", "--source", "claude-code"], hook_env, runs, cap,
                HOOK_PAYLOAD, between=sync_done)
            out[f"shipper emit ({label})"] = time_command(
                [shipper_bin, "emit", "hook.event", "-p", "x=1"], hook_env, runs, cap,
                between=sync_done)
            for sdk in PEERS:
                peer = peer_hook_script(sdk, url)
                peer[0] = py
                out[f"{sdk} ({label})"] = time_command(
                    peer, env, peer_runs if label != "up" else runs, cap)
            sync_done()
    return out


def scenario_many_hooks(up: Collector, hooks: int, parallel: int) -> dict[str, Any]:
    """`hooks` hook processes, `parallel` at a time, during an outage and after."""
    shipper_bin = str(Path(PY).with_name("shipper"))
    out: dict[str, Any] = {}
    with temp_cache() as cache:
        env = {**base_env(cache), "SHIPPER_ENDPOINT": up.url}
        up.reset()
        up.call("POST", "/outage/on")

        def burst() -> float:
            started = time.monotonic()
            running: list[subprocess.Popen[bytes]] = []
            for _ in range(hooks):
                if len(running) >= parallel:
                    running.pop(0).wait(60)
                p = subprocess.Popen([shipper_bin, "hook", "--source", "claude-code"],
                                     stdin=subprocess.PIPE, env=env)
                assert p.stdin is not None
                p.stdin.write(HOOK_PAYLOAD)
                p.stdin.close()
                running.append(p)
            for p in running:
                p.wait(60)
            return time.monotonic() - started

        seconds = burst()
        time.sleep(3)
        st = up.stats()
        out["outage"] = {"hooks": hooks, "seconds": seconds, "health_probes": st["probes"],
                         "batch_requests": st["requests"], "received": st["unique"]}
        up.call("POST", "/outage/off")
        up.reset()
        time.sleep(31)  # health_ttl: the shared failed probe expires
        seconds = burst()
        st = up.settle(2 * hooks, limit=60)
        out["after"] = {"hooks": hooks, "seconds": seconds, "health_probes": st["probes"],
                        "batch_requests": st["requests"], "received": st["unique"],
                        "delivered_all": st["unique"] == 2 * hooks}
    return out


def collector_ceiling(up: Collector, seconds: float = 3.0) -> dict[str, Any]:
    """How many events/s the collector takes from one keep-alive client with 500-event
    batches: it must be far above what any SDK sends."""
    import http.client

    batch = json.dumps({"batch": [{"id": f"c{i}", "event": "x", "properties": {"a": 1}}
                                  for i in range(500)]}).encode()
    conn = http.client.HTTPConnection("127.0.0.1", up.port)
    sent = 0
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        conn.request("POST", "/v1/batch", body=batch,
                     headers={"Content-Type": "application/json"})
        conn.getresponse().read()
        sent += 500
    conn.close()
    rate = sent / (time.monotonic() - started)
    up.reset()
    return {"events_per_s": rate}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", nargs="*", help="scenario names to run")
    parser.add_argument("--before", type=Path, metavar="TREE_OR_VENV",
                        help="an earlier shipper, measured in the same rounds: a virtual "
                             "environment it is installed in, or a checkout")
    parser.add_argument("--repeats", type=int, help="rounds of the up and drain scenarios")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "latest.json")
    parser.add_argument("--sdk", action="append", choices=SDKS,
                        help="only this SDK (repeatable; the --before one too)")
    args = parser.parse_args()
    q = args.quick
    n = 20_000
    if args.before:
        BEFORE_TREE.append(str(args.before.resolve()))
    ONLY.extend(args.sdk or [])
    pins = pinning()
    results: dict[str, Any] = {"date": time.strftime("%Y-%m-%d"), "python": sys.version.split()[0],
                               "cpus": os.cpu_count(), "quick": q, "before": BEFORE_TREE[:1],
                               "load_at_start": os.getloadavg(),
                               "pinned": {"caller_cpus": sorted(pins[0]),
                                          "collector_cpus": sorted(pins[1])} if pins else None}
    print(f"pinned: callers on CPU {sorted(pins[0])}, collectors on CPU {sorted(pins[1])}"
          if pins else "not pinned: fewer than two CPUs", file=sys.stderr)
    repeats = args.repeats or (2 if q else 3)
    up = Collector()
    black = Collector(blackhole=True)
    down_url = f"http://127.0.0.1:{free_port()}"
    plan = {
        "ceiling": lambda: collector_ceiling(up),
        "up": lambda: scenario_up(up, n, repeats),
        "up_shared": lambda: scenario_up(up, n, repeats, pin=False),
        "down": lambda: scenario_unreachable(down_url, n, 2 if q else 3, cap=30 if q else 60),
        "blackholed": lambda: scenario_unreachable(black.url, n, 2 if q else 3,
                                                   cap=30 if q else 60),
        "recovery": lambda: scenario_recovery(n, cap=30 if q else 60),
        "memory": lambda: scenario_memory([10_000, 100_000] if q else
                                          [10_000, 100_000, 1_000_000],
                                          [10_000, 100_000], cap=30 if q else 60),
        "drain": lambda: scenario_drain(20_000 if q else 100_000, repeats),
        "hook": lambda: scenario_hook(up, black, 5 if q else 15, 2 if q else 3,
                                      cap=30 if q else 60),
        "many_hooks": lambda: scenario_many_hooks(up, 50 if q else 200, 8),
    }
    try:
        for name, run in plan.items():
            if args.only and name not in args.only:
                continue
            started = time.monotonic()
            print(f"-- {name}", file=sys.stderr, flush=True)
            results[name] = run()
            results[name + "_seconds"] = round(time.monotonic() - started, 1)
    finally:
        up.stop()
        black.stop()
    latest = args.out
    latest.parent.mkdir(parents=True, exist_ok=True)
    if args.only and latest.exists():  # a partial run updates the scenarios it ran
        results = {**json.loads(latest.read_text()), **results}
    latest.write_text(json.dumps(results, indent=2))
    from report import render

    print(render(results))


if __name__ == "__main__":
    main()
