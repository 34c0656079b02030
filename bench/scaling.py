"""How shipper's costs grow: event size, batch size, backlog size, gzip level; and a plot.

    python bench/scaling.py            # writes bench/results/scaling.json and scaling.png

Runs in-process against bench/collector.py on 127.0.0.1 (and a down port for memory).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
import zlib
from pathlib import Path
from typing import Any

from run import PY, Collector, base_env, scenario_drain, temp_cache

HERE = Path(__file__).resolve().parent


def per_call_by_event_size() -> dict[str, float]:
    """Median µs per track() for events of about 100 B, 1 KiB and 10 KiB."""
    from shipper import Shipper

    out = {}
    for size in (100, 1024, 10 * 1024):
        props = {"text": "x" * size}
        with temp_cache() as cache:
            s = Shipper(endpoint="http://127.0.0.1:9", cache_dir=str(cache), flush_interval=60)
            samples = []
            for _ in range(5000):
                t0 = time.perf_counter_ns()
                s.track("e", props)
                samples.append(time.perf_counter_ns() - t0)
            s.close()
        out[str(size)] = statistics.median(samples) / 1000
    return out


def throughput_by_batch_size(up: Collector, n: int = 20_000) -> dict[str, float]:
    """End-to-end events/s for batch_size 50, 500 (default) and 2000."""
    out = {}
    for batch in (50, 500, 2000):
        up.reset()
        with temp_cache() as cache:
            env = {**base_env(cache), "SHIPPER_BATCH_SIZE": str(batch)}
            started = time.time()
            subprocess.run([PY, str(HERE / "driver.py"), "--sdk", "shipper", "--url", up.url,
                            "--n", str(n)], env=env, capture_output=True, timeout=300,
                           check=False)
            st = up.settle(n)
        out[str(batch)] = st["unique"] / max((st["last_at"] or started) - started, 1e-6)
    return out


def drain_by_backlog(sizes: tuple[int, ...] = (10_000, 50_000, 100_000)) -> dict[str, float]:
    """`shipper sync` events/s for backlogs of several sizes."""
    return {str(size): scenario_drain(size)["events_per_s"] for size in sizes}


def gzip_levels() -> dict[str, dict[str, float]]:
    """Time and size to compress one 500-event batch at gzip levels 1, 6 and 9."""
    from shipper._destinations._native import batch_body
    from shipper._event import build_event

    body = batch_body([build_event("page.view", {"plan": "pro", "i": i, "path": "/a/b/c"})[1]
                       for i in range(500)], time.time())
    out = {}
    for level in (1, 6, 9):
        samples = []
        for _ in range(30):
            t0 = time.perf_counter()
            c = zlib.compressobj(level, zlib.DEFLATED, 31)
            packed = c.compress(body) + c.flush()
            samples.append(time.perf_counter() - t0)
        out[str(level)] = {"ms": statistics.median(samples) * 1000,
                           "ratio": len(packed) / len(body)}
    return out


def memory_by_n() -> dict[str, float]:
    """Peak RSS by N, from the last full benchmark run (bench/run.py measures it)."""
    latest = json.loads((HERE / "results" / "latest.json").read_text())
    return {k: float(v) for k, v in latest["memory"]["shipper"].items()}


def plot(res: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    drain = res["drain_by_backlog"]
    a.plot([int(k) for k in drain], list(drain.values()), marker="o")
    a.set_xscale("log")
    a.set_xlabel("backlog (events)")
    a.set_ylabel("shipper sync, events/s")
    a.set_ylim(bottom=0)
    a.set_title("Drain rate: start-up amortised as the backlog grows")
    mem = res["memory_by_n"]
    b.plot([int(k) for k in mem], list(mem.values()), marker="o", color="C1")
    b.set_xscale("log")
    b.set_xlabel("events recorded with the collector down")
    b.set_ylabel("peak RSS (MB)")
    b.set_ylim(bottom=0)
    b.set_title("Memory stays flat: overflow goes to disk")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main() -> None:
    up = Collector()
    try:
        res = {
            "per_call_us_by_event_bytes": per_call_by_event_size(),
            "throughput_by_batch_size": throughput_by_batch_size(up),
            "drain_by_backlog": drain_by_backlog(),
            "gzip_levels": gzip_levels(),
            "memory_by_n": memory_by_n(),
        }
    finally:
        up.stop()
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "scaling.json").write_text(json.dumps(res, indent=2))
    try:
        plot(res, out / "scaling.png")
    except ImportError:
        print("matplotlib missing: no plot", file=sys.stderr)
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
