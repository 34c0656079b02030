"""Render bench/results/latest.json as the Markdown table of docs/performance.md."""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Any


def _med(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in runs if isinstance(r.get(key), (int, float))]
    return statistics.median(values) if values else None


def _fmt(value: float | None, unit: str = "", digits: int = 1) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}{unit}"


def _killed(runs: list[dict[str, Any]]) -> float | None:
    for r in runs:
        if "killed_after_s" in r:
            return float(r["killed_after_s"])
    return None


def _close(runs: list[dict[str, Any]]) -> str:
    killed = _killed(runs)
    if killed is not None:
        return f"> {killed:.0f} s (killed)"
    return _fmt(_med(runs, "close_s"), " s", 2)


def render(res: dict[str, Any]) -> str:
    rows = ["| scenario | measure | shipper | shipper (stdlib json) | segment | posthog | "
            "shipper / faster peer |", "| --- | --- | --- | --- | --- | --- | --- |"]

    def row(scenario: str, measure: str, values: dict[str, str], ratio: str = "") -> None:
        rows.append(f"| {scenario} | {measure} | {values.get('shipper', '')} | "
                    f"{values.get('shipper-stdlib', '')} | {values.get('segment', '')} | "
                    f"{values.get('posthog', '')} | {ratio} |")

    def ratio(key: str, data: dict[str, list[dict[str, Any]]], invert: bool = False) -> str:
        ours = _med(data.get("shipper", []), key)
        peers = [v for v in (_med(data.get(p, []), key) for p in ("segment", "posthog"))
                 if v is not None]
        if ours is None or not peers:
            return ""
        best = max(peers) if invert else min(peers)
        return f"{ours / best:.2f}" if best else ""

    if "up" in res:
        up = res["up"]
        row("collector up", "µs per call, median",
            {k: _fmt(_med(v, "median_us")) for k, v in up.items()}, ratio("median_us", up))
        row("collector up", "µs per call, p99",
            {k: _fmt(_med(v, "p99_us")) for k, v in up.items()}, ratio("p99_us", up))
        row("burst of 20k, collector up", "events lost",
            {k: _fmt(_med(v, "lost"), digits=0) for k, v in up.items()})
        row("end-to-end", "events/s until the collector holds them",
            {k: _fmt(_med(v, "throughput"), digits=0) for k, v in up.items()},
            ratio("throughput", up, invert=True))
        row("collector up", "time to close", {k: _close(v) for k, v in up.items()})
    for mode in ("down", "blackholed"):
        if mode in res:
            data = res[mode]
            row(f"collector {mode}", "µs per call, median",
                {k: _fmt(_med(v, "median_us")) for k, v in data.items()},
                ratio("median_us", data))
            row(f"collector {mode}", "µs per call, p99",
                {k: _fmt(_med(v, "p99_us")) for k, v in data.items()}, ratio("p99_us", data))
            row(f"collector {mode}", "time to close", {k: _close(v) for k, v in data.items()})
    if "recovery" in res:
        rec = res["recovery"]
        row("outage, exit, recovery", "% of 20k delivered after recovery",
            {k: _fmt(v.get("delivered_pct"), " %", 1) for k, v in rec.items()})
    if "memory" in res:
        for size in sorted({s for v in res["memory"].values() for s in v}, key=int):
            row("memory, collector down", f"peak RSS, {int(size):,} events",
                {k: _fmt(v.get(size), " MB") if size in v else "" for k, v in
                 res["memory"].items()})
    if "drain" in res:
        d = res["drain"]
        row("backlog drain", f"`shipper sync` of {d['events']:,} events",
            {"shipper": f"{d['events_per_s']:,.0f} events/s"})
    if "hook" in res:
        h = res["hook"]
        base = h["python -c pass"]["median_ms"]
        for label in ("up", "down", "blackholed"):
            values = {}
            for key, name in ((f"shipper hook ({label})", "shipper"),
                              (f"segment ({label})", "segment"),
                              (f"posthog ({label})", "posthog")):
                item = h.get(key, {})
                values[name] = (f"{item['median_ms']:.0f} ms (+{item['median_ms'] - base:.0f})"
                                if "median_ms" in item else
                                f"> {item.get('killed_after_s', 0):.0f} s (killed)")
            row(f"hook process, collector {label}",
                f"one event, fresh process (python -c pass: {base:.0f} ms)", values)
    if "many_hooks" in res:
        m = res["many_hooks"]
        for phase in ("outage", "after"):
            p = m[phase]
            row(f"{p['hooks']} hooks, 8 at a time, {phase}", "probes / batch requests / received",
                {"shipper": f"{p['health_probes']} / {p['batch_requests']} / {p['received']}"})
    if "ceiling" in res:
        rows.append(f"\nCollector ceiling (one keep-alive client, 500-event batches): "
                    f"{res['ceiling']['events_per_s']:,.0f} events/s.")
    return "\n".join(rows)


if __name__ == "__main__":
    default = Path(__file__).parent / "results" / "latest.json"
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else default
    print(render(json.loads(path.read_text())))
