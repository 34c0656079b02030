"""The viewer's benchmark: how fast `shipper serve` stores events, and how fast its page's
queries answer with a million events stored.

    python bench/viewer.py                  # ~3 minutes on 2 cores
    python bench/viewer.py --events 200000  # a smaller store, for a quick look

1. Ingestion into the store (`Store.add`, batches of 500, as the native destination sends
   them), events a second; then the same through HTTP: a real `shipper serve` process taking
   gzipped `/v1/batch` requests from one client.
2. A store of N events (default 1,000,000) spread over 7 days, 5 sources, 40 event names,
   12 tools and ~3,300 agent sessions; a `shipper serve` on it; the time of each request the
   page makes for its first view (last 24 hours: events, counts, names, sessions) and of
   filtered queries. Median of repeats, from a client on the same machine.

Results go to bench/results/viewer.json and a Markdown table on stdout (copied into
docs/performance.md). No figure here is asserted anywhere: timings belong in this file.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shipper._cli._store import Store  # noqa: E402 - after the path is set
from shipper._event import rfc3339_ms  # noqa: E402

SOURCES = ["claude-code", "gemini", "codex", "cursor", "my-app"]
TOOLS = ["Bash", "Read", "Edit", "Write", "Grep", "Glob", "WebFetch", "Task", "TodoWrite",
         "LS", "MultiEdit", "NotebookEdit"]
HOOKS = ["PreToolUse", "PostToolUse", "UserPromptSubmit", "Notification", "Stop",
         "SessionStart", "SessionEnd", "PostToolUseFailure"]
WEIGHTS = [30, 30, 8, 5, 5, 1, 1, 2]
DAY_MS = 86_400_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def make_events(n: int, end_ms: int, span_ms: int, first: int = 0,
                ) -> list[dict[str, Any]]:
    """``n`` events as hooks and agents send them, in time order over ``span_ms`` up to
    ``end_ms``; ``first`` numbers them (ids, sessions) after earlier ones."""
    rng = random.Random(first)
    events = []
    step = span_ms / n
    for j in range(n):
        i = first + j
        ts = end_ms - span_ms + int(j * step)
        session = i // 300
        source = SOURCES[session % len(SOURCES)]
        if source == "my-app":
            name, props = rng.choice(["page.view", "signup", "checkout", "search"]), {
                "path": f"/p/{rng.randrange(50)}", "ms": rng.randrange(900)}
            context = {"library": {"name": "shipper", "version": "0.1.0"},
                       "app": {"name": "my-app"}}
        elif i % 23 == 0:
            name = f"{source.replace('-', '_')}.api_request"
            props = {"session.id": f"s-{session}", "input_tokens": rng.randrange(20000),
                     "output_tokens": rng.randrange(2000), "cost_usd": rng.random() / 10,
                     "model": "model-x"}
            context = {"source": source, "otlp": {"service": source}}
        else:
            hook = rng.choices(HOOKS, WEIGHTS)[0]
            name = f"{source.replace('-', '_')}.{hook}"
            props = {"hook_event_name": hook, "session_id": f"s-{session}",
                     "cwd": f"~/work/project-{session % 17}", "tool_name": rng.choice(TOOLS),
                     "tool_use_id": f"toolu_{i // 2}", "input_bytes": rng.randrange(4000),
                     "success": hook != "PostToolUseFailure"}
            context = {"library": {"name": "shipper", "version": "0.1.0"}, "source": source}
        events.append({"id": f"{ts:012x}"[:8] + f"-{ts % 65536:04x}-7000-8000-{i:012x}",
                       "event": name,
                       "timestamp": rfc3339_ms(ts / 1000), "properties": props,
                       "context": context})
    return events


def ingest_store(events: list[dict[str, Any]], folder: Path) -> tuple[float, float]:
    """Events a second `Store.add` takes into a new store file, batches of 500, each event
    with its JSON text (as serve has it from a /v1/batch body): by the wall clock, and by
    the CPU time this process used (what one idle core would do, whatever else runs)."""
    store = Store(folder / f"ingest-{time.monotonic_ns()}.db")
    raws = [json.dumps(e, separators=(",", ":")) for e in events]
    started = time.perf_counter()
    cpu = time.process_time()
    for at in range(0, len(events), 500):
        store.add(events[at:at + 500], raws=raws[at:at + 500])
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu
    store.close()
    return len(events) / seconds, len(events) / cpu_seconds


class Serve:
    def __init__(self, db: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "SHIPPER_CONFIG": "/nonexistent/config.toml"}
        started = time.perf_counter()
        self.proc = subprocess.Popen([sys.executable, "-m", "shipper", "serve", "--port",
                                      str(self.port), "--db", str(db)], env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while True:
            try:
                httpx.get(self.url + "/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.02)
        self.start_s = time.perf_counter() - started

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def ingest_http(events: list[dict[str, Any]], folder: Path) -> float:
    """Events a second a `shipper serve` process stores from gzipped batches of 500."""
    serve = Serve(folder / f"http-{time.monotonic_ns()}.db")
    bodies = [gzip.compress(json.dumps({"batch": events[at:at + 500],
                                        "sent_at": rfc3339_ms(time.time())}).encode(), 1)
              for at in range(0, len(events), 500)]
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    try:
        with httpx.Client(base_url=serve.url, timeout=60) as client:
            started = time.perf_counter()
            for body in bodies:
                client.post("/v1/batch", content=body, headers=headers).raise_for_status()
            seconds = time.perf_counter() - started
    finally:
        serve.stop()
    return len(events) / seconds


def timed(client: httpx.Client, path: str, params: dict[str, Any], repeats: int,
          ) -> tuple[float, int]:
    """Median milliseconds of ``repeats`` GETs (after one warm-up), and the answer's size."""
    client.get(path, params=params).raise_for_status()
    times = []
    size = 0
    for _ in range(repeats):
        started = time.perf_counter()
        answer = client.get(path, params=params)
        times.append((time.perf_counter() - started) * 1000)
        answer.raise_for_status()
        size = len(answer.content)
    return statistics.median(times), size


def reads(db: Path, events: int, repeats: int) -> dict[str, Any]:
    serve = Serve(db)
    sessions = events // 300
    day = {"since": "24h"}
    first_view = {
        "events (newest 200)": ("/api/events", {**day, "limit": 200}),
        "counts by source": ("/api/counts", {**day, "by": "source", "buckets": 60}),
        "names": ("/api/names", {}),
        "sessions": ("/api/sessions", {**day, "limit": 300}),
    }
    filtered = {
        "events of one source and event name, 7 days": (
            "/api/events", {"source": "codex", "event": "codex.PostToolUseFailure",
                            "since": "7d", "limit": 200}),
        "events of one tool, 24 hours": ("/api/events", {**day, "tool": "WebFetch",
                                                          "limit": 200}),
        "events of one session": ("/api/events", {"session": f"s-{sessions // 3}", "limit": 200}),
        "counts of one source by tool, 7 days": (
            "/api/counts", {"source": "gemini", "by": "tool", "since": "7d"}),
        "one session's timeline": (f"/api/sessions/s-{sessions - 5}", {}),
        "next page of the feed (before=...)": ("/api/events", {**day, "limit": 200}),
    }
    out: dict[str, Any] = {"serve_start_s": round(serve.start_s, 2)}
    try:
        with httpx.Client(base_url=serve.url, timeout=60) as client:
            page = client.get("/api/events", params={**day, "limit": 200}).json()
            filtered["next page of the feed (before=...)"][1]["before"] = page["next"]
            for group, queries in (("first_view", first_view), ("filtered", filtered)):
                out[group] = {}
                for name, (path, params) in queries.items():
                    ms, size = timed(client, path, params, repeats)
                    out[group][name] = {"ms": round(ms, 1), "bytes": size}
            out["first_view_total_ms"] = round(sum(v["ms"] for v in
                                                   out["first_view"].values()), 1)
            with httpx.Client(base_url=serve.url, timeout=60) as fresh:
                started = time.perf_counter()
                fresh.get("/").raise_for_status()
                fresh.get("/viewer.js").raise_for_status()
                fresh.get("/viewer.css").raise_for_status()
                out["page_assets_ms"] = round((time.perf_counter() - started) * 1000, 1)
    finally:
        serve.stop()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--ingest", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    now = int(time.time() * 1000)
    results: dict[str, Any] = {"cpus": os.cpu_count(), "events": args.events}
    with tempfile.TemporaryDirectory(prefix="shipper-bench-viewer-") as tmp:
        folder = Path(tmp)
        sample = make_events(args.ingest, now, DAY_MS)
        runs = [ingest_store(sample, folder) for _ in range(3)]
        results["ingest_store_per_s"] = [round(wall) for wall, _ in runs]
        results["ingest_store_per_cpu_s"] = [round(cpu) for _, cpu in runs]
        results["load_average"] = [round(x, 1) for x in os.getloadavg()]
        results["ingest_http_per_s"] = [round(ingest_http(sample[:100_000], folder))
                                        for _ in range(2)]
        db = folder / "million.db"
        store = Store(db)
        started = time.perf_counter()
        for at in range(0, args.events, 100_000):
            n = min(100_000, args.events - at)
            chunk = make_events(n, now - 7 * DAY_MS + (at + n) * 7 * DAY_MS // args.events,
                                n * 7 * DAY_MS // args.events, first=at)
            for b in range(0, len(chunk), 500):
                store.add(chunk[b:b + 500])
        results["build_store_s"] = round(time.perf_counter() - started, 1)
        store.close()
        results["store_mb"] = round(db.stat().st_size / 1e6, 1)
        results["reads"] = reads(db, args.events, args.repeats)
    out = ROOT / "bench" / "results" / "viewer.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    report(results)


def report(r: dict[str, Any]) -> None:
    print(f"ingestion into the store: {statistics.median(r['ingest_store_per_s']):,.0f} "
          f"events/s (runs: {r['ingest_store_per_s']}); per CPU second: "
          f"{statistics.median(r['ingest_store_per_cpu_s']):,.0f}; load average then: "
          f"{r['load_average']}")
    print(f"through HTTP (one client, gzipped batches of 500): "
          f"{statistics.median(r['ingest_http_per_s']):,.0f} events/s")
    print(f"store of {r['events']:,} events: {r['store_mb']} MB, built in "
          f"{r['build_store_s']} s; serve starts in {r['reads']['serve_start_s']} s")
    print("\n| query | median ms | answer bytes |\n| --- | ---: | ---: |")
    for group in ("first_view", "filtered"):
        for name, v in r["reads"][group].items():
            print(f"| {group.replace('_', ' ')}: {name} | {v['ms']} | {v['bytes']:,} |")
    print(f"| first view, all four | {r['reads']['first_view_total_ms']} | |")


if __name__ == "__main__":
    main()
