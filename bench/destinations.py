"""The destinations benchmark: for each destination, the cost of `track()` and the end-to-end
events/s against its receiver on 127.0.0.1, with Segment's SDK measured in the same run as
the baseline.

    pip install -e '.[bench]'
    python bench/destinations.py            # ~5 minutes on 2 cores
    python bench/destinations.py --quick

Every run is a fresh process (bench/driver.py) recording N events with shipper's defaults
and the destination set. The HTTP destinations talk to bench/collector.py, which reads each
format and counts events by id; ClickHouse is a real server (Debian's clickhouse-server,
started on a free port; the tests' helper installs it where it is missing), and a run counts
as delivered when close() returned and the table holds every id. Results go to
bench/results/destinations.json and a Markdown table on stdout (docs/performance.md).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # for tests.clickhouse, the server helper

from run import Collector, drive, temp_cache  # noqa: E402 - after the path is set

KINDS = ["shipper", "otlp", "segment", "posthog", "webhook", "clickhouse"]
CLICKHOUSE_TABLE = "bench_events"


def http_run(kind: str, up: Collector, n: int) -> dict[str, Any]:
    up.reset()
    with temp_cache() as cache:
        if kind == "segment-sdk":
            r = drive("segment", up.url, n, cache, cap=300)
        else:
            r = drive("shipper", up.url, n, cache, cap=300, extra=["--destination", kind])
    st = up.settle(n)
    if "median_us" in r and st["last_at"]:
        r["received"] = st["unique"]
        r["throughput"] = st["unique"] / max(st["last_at"] - r["first_call_at"], 1e-6)
    return r


def clickhouse_run(server: Any, n: int, round_no: int) -> dict[str, Any]:
    table = f"{CLICKHOUSE_TABLE}_{round_no}"
    with temp_cache() as cache:
        r = drive("shipper", server.url, n, cache, cap=300,
                  extra=["--destination", "clickhouse", "--table", table])
    if "close_s" in r:
        held = int(server.query(f"SELECT uniqExact(id) FROM default.{table}").strip())  # noqa: S608 - our own table name
        done_at = r["first_call_at"] + r["loop_s"] + r["close_s"]
        r["received"] = held
        r["throughput"] = held / max(done_at - r["first_call_at"], 1e-6)
    return r


def med(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in runs if isinstance(r.get(key), (int, float))]
    return statistics.median(values) if values else None


def render(res: dict[str, Any]) -> str:
    base = med(res["segment-sdk"], "throughput")
    rows = ["| destination | µs per `track()`, median | µs, p99 | end-to-end events/s | "
            "x Segment's SDK (same run) |", "| --- | --- | --- | --- | --- |"]
    for kind in [*KINDS, "segment-sdk"]:
        runs = res.get(kind) or []
        rate = med(runs, "throughput")
        ratio = f"{rate / base:.1f}x" if rate and base else "n/a"
        label = "Segment's SDK (baseline)" if kind == "segment-sdk" else f"`{kind}`"
        rows.append(f"| {label} | {med(runs, 'median_us') or 0:.1f} | "
                    f"{med(runs, 'p99_us') or 0:.1f} | {rate or 0:,.0f} | {ratio} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--n", type=int, default=20_000)
    args = parser.parse_args()
    repeats = 2 if args.quick else 3
    results: dict[str, Any] = {"date": time.strftime("%Y-%m-%d"), "n": args.n,
                               "python": sys.version.split()[0], "repeats": repeats}
    from tests.clickhouse import ClickHouseServer, install

    why = install()
    server = None
    if why is None:
        server = ClickHouseServer()
        server.start()
    else:
        results["clickhouse_skipped"] = why
    up = Collector()
    try:
        for round_no in range(repeats):  # rounds interleave the kinds: drift hits all alike
            for kind in [*KINDS, "segment-sdk"]:
                print(f"-- {kind} (round {round_no + 1})", file=sys.stderr, flush=True)
                if kind == "clickhouse":
                    if server is None:
                        continue
                    run = clickhouse_run(server, args.n, round_no)
                else:
                    run = http_run(kind, up, args.n)
                results.setdefault(kind, []).append(run)
    finally:
        up.stop()
        if server is not None:
            server.close()
    out = HERE / "results" / "destinations.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(render(results))


if __name__ == "__main__":
    main()
