"""One benchmark run of one SDK in a fresh process; prints a JSON line of figures.

    python bench/driver.py --sdk shipper --url http://127.0.0.1:8053 --n 20000
    python bench/driver.py --sdk shipper --url none --n 100000   # no endpoint: all to disk

SDKs: shipper (orjson if installed), shipper-stdlib (orjson hidden), segment, posthog,
each with its documented production defaults, pointed at --url.
"""

from __future__ import annotations

import argparse
import array
import json
import resource
import sys
import time
from collections.abc import Callable

PROPS = {"plan": "pro", "items": 3, "ok": True, "path": "/docs/quickstart", "ms": 12.5}


def make(sdk: str, url: str, destination: str = "shipper",
         table: str | None = None) -> tuple[Callable[[], object], Callable[[], object]]:
    """(track one event, close the client) for an SDK. For shipper with a destination other
    than its own, close waits until everything is delivered (the benchmark times it)."""
    if sdk in ("shipper", "shipper-stdlib"):
        if sdk == "shipper-stdlib":
            sys.modules["orjson"] = None  # type: ignore[assignment]  # import fails: stdlib
        from shipper import Shipper

        extra = {} if destination == "shipper" else {"destination": destination,
                                                     "api_key": "bench-key",
                                                     "shutdown_timeout": 120}
        if table:  # ClickHouse: its default user, which has no password
            extra["clickhouse_table"] = table
            del extra["api_key"]
        s = Shipper(endpoint=None if url == "none" else url, **extra)
        return (lambda: s.track("page.view", PROPS)), s.close
    if sdk == "segment":
        from segment import analytics

        client = analytics.Client(write_key="bench-key", host=url)
        return (lambda: client.track(user_id="u1", event="page.view", properties=PROPS),
                client.shutdown)
    if sdk == "posthog":
        from posthog import Posthog

        ph = Posthog("phc_bench", host=url)
        return (lambda: ph.capture("page.view", distinct_id="u1", properties=PROPS),
                ph.shutdown)
    raise SystemExit(f"unknown sdk {sdk}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sdk", required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--destination", default="shipper")
    parser.add_argument("--table")
    args = parser.parse_args()
    track, close = make(args.sdk, args.url, args.destination, args.table)
    # time every call up to 20k; past that every k-th, so the harness's own memory stays flat
    stride = max(1, args.n // 20_000)
    times = array.array("q")
    perf = time.perf_counter_ns
    first_call_at = time.time()
    for i in range(args.n):
        t0 = perf()
        track()
        if i % stride == 0:
            times.append(perf() - t0)
    loop_end = time.time()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    times = array.array("q", sorted(times))
    figures = {
        "sdk": args.sdk,
        "n": args.n,
        "median_us": times[len(times) // 2] / 1000,
        "p99_us": times[int(len(times) * 0.99)] / 1000,
        "p999_us": times[int(len(times) * 0.999)] / 1000,
        "max_us": times[-1] / 1000,
        "loop_s": loop_end - first_call_at,
        "first_call_at": first_call_at,
        "peak_rss_mb": rss,
    }
    print(json.dumps(figures), flush=True)  # before close: a peer may hang there
    closing = time.monotonic()
    close()
    figures["close_s"] = time.monotonic() - closing
    print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()
