"""Where the delivery worker holds the GIL while the caller's ``track()`` calls wait.

    pip install -e '.[bench]' py-spy
    python bench/gil.py                 # 20,000 calls, the collector up, sampled by py-spy
    python bench/gil.py --tree /path/to/other-checkout --n 60000

A caller records events in a tight loop with the collector up (on its own CPU) while
py-spy samples, from outside the process, the thread that holds the GIL (``--gil``) several
thousand times a second. The process ends right after the loop (``os._exit``), so every
sample of the worker thread was taken while the caller was recording: the worker's samples
are the time the caller's calls waited for it. Printed: the caller's slow calls (how many
took over 0.25, 0.5, 1 and 2 ms), then where the worker's GIL time went, by the innermost
frame of shipper, httpx, h11, httpcore or asyncio, and by shipper's own outermost step.
"""

from __future__ import annotations

import argparse
import array
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from run import Collector, pin_to, pinning  # noqa: E402 - the shared collector harness

PROPS = {"plan": "pro", "items": 3, "ok": True, "path": "/docs/quickstart", "ms": 12.5}
LIBRARIES = ("shipper/", "httpx/", "httpcore/", "h11/", "asyncio/", "anyio/", "concurrent/",
             "threading.py", "selectors.py", "socket.py", "ssl.py")


def child(url: str, n: int, warm: bool) -> None:
    """The caller: ``n`` timed ``track()`` calls, figures on stdout, then gone at once.
    ``warm``: one event is delivered first (the worker started and connected)."""
    from shipper import Shipper

    s = Shipper(endpoint=url)
    if warm:
        s.track("warm.up")
        s.flush()
    print("ready", flush=True)
    sys.stdin.readline()  # py-spy is attached: go
    perf = time.perf_counter_ns
    times = array.array("q")
    for _ in range(n):
        t0 = perf()
        s.track("page.view", PROPS)
        times.append(perf() - t0)
    ordered = sorted(times)
    print(json.dumps({
        "n": n, "p50_us": ordered[n // 2] / 1000, "p99_us": ordered[int(n * 0.99)] / 1000,
        "p999_us": ordered[int(n * 0.999)] / 1000, "max_us": ordered[-1] / 1000,
        "over_ms": {str(ms): sum(t > ms * 1e6 for t in times) for ms in (0.25, 0.5, 1, 2)},
        "stats": {k: v for k, v in s.stats().items() if isinstance(v, int)},
    }), flush=True)
    os._exit(0)


def frames(stack: str) -> list[str]:
    return [f for f in stack.split(";") if f]


def where(frame: str) -> str:
    """``function (file:line)`` with the file shortened to its library and name."""
    name, _, rest = frame.partition(" (")
    path = rest.rstrip(")")
    for lib in LIBRARIES:
        if lib in path:
            return f"{name} ({lib.rstrip('/')}{path.split(lib, 1)[1]})"
    return f"{name} ({os.path.basename(path)})"


def analyse(raw: Path, top: int) -> dict[str, object]:
    """Samples of each thread, and the worker's by innermost library frame."""
    threads: collections.Counter[str] = collections.Counter()
    leaf: collections.Counter[str] = collections.Counter()
    step: collections.Counter[str] = collections.Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        parts = frames(stack)
        if not parts:
            continue
        thread = parts[0]
        threads[thread] += int(count)
        if "driver" in stack or "child (gil.py" in stack:
            continue  # the caller itself
        if "_bootstrap" not in stack:
            continue
        inner = [f for f in parts[1:] if any(lib in f for lib in LIBRARIES)]
        leaf[where(inner[-1]) if inner else where(parts[-1])] += int(count)
        ours = [f for f in parts if "shipper/" in f]
        step[where(ours[-1]) if ours else "(not in shipper's code)"] += int(count)
    worker = sum(leaf.values())
    return {"samples_by_thread": dict(threads), "worker_samples": worker,
            "worker_innermost": leaf.most_common(top), "worker_in_shipper": step.most_common(top)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--rate", type=int, default=5000, help="py-spy samples per second")
    parser.add_argument("--tree", type=Path, help="run shipper from this checkout")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--warm", action="store_true",
                        help="deliver one event before the loop: the steady state alone")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.n, args.warm)
        return
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    work = Path(tempfile.mkdtemp(prefix="shipper-gil-"))
    up = Collector()
    pins = pinning()
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPPER_")}
        env.update(SHIPPER_CACHE_DIR=str(work / "cache"), SHIPPER_CONFIG=str(work / "none"))
        if args.tree:
            env["PYTHONPATH"] = str(args.tree.resolve())
        raw = work / "gil.txt"
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # a user's machine caches bytecode
        # the caller on its own CPU, as bench/run.py runs it; py-spy on the collector's
        caller = subprocess.Popen(
            [sys.executable, __file__, "--child", up.url, "--n", str(args.n),
             *(["--warm"] if args.warm else [])], env=env, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True,
            preexec_fn=pin_to(pins[0] if pins else None))  # noqa: PLW1509 - no threads here
        assert caller.stdin is not None
        assert caller.stdout is not None
        if caller.stdout.readline().strip() != "ready":
            raise SystemExit("the caller did not start")
        spy_proc = subprocess.Popen(
            [spy, "record", "--gil", "--threads", "--nonblocking", "--rate", str(args.rate),
             "--format", "raw", "--output", str(raw), "--pid", str(caller.pid)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            preexec_fn=pin_to(pins[1] if pins else None))  # noqa: PLW1509 - no threads here
        time.sleep(1.0)  # attached
        caller.stdin.write("go\n")
        caller.stdin.flush()
        line = caller.stdout.readline()
        caller.wait()
        _, err = spy_proc.communicate(timeout=60)
        if not line.startswith("{") or not raw.exists():
            raise SystemExit(f"no result: {err[-2000:]}")
        figures = json.loads(line)
        report = {"caller": figures, "rate": args.rate, **analyse(raw, args.top)}
        print(json.dumps(report["caller"]))
        total = report["worker_samples"] or 1
        print(f"\nworker: {report['worker_samples']} samples holding the GIL "
              f"({report['worker_samples'] / args.rate * 1000:.1f} ms) during the loop")
        print("\ninnermost library frame:")
        for name, count in report["worker_innermost"]:  # type: ignore[attr-defined]
            print(f"  {100 * count / total:5.1f}%  {name}")
        print("\nshipper's innermost frame:")
        for name, count in report["worker_in_shipper"]:  # type: ignore[attr-defined]
            print(f"  {100 * count / total:5.1f}%  {name}")
    finally:
        up.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
