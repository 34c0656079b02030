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


COLUMNS = {"shipper@before": "shipper, before", "shipper-stdlib@before": "stdlib json, before",
           "shipper": "shipper", "shipper-stdlib": "shipper (stdlib json)",
           "segment": "segment", "posthog": "posthog"}


def _range(values: list[float], digits: int = 1, unit: str = "") -> str:
    """median (min-max) of a few runs."""
    if not values:
        return "n/a"
    if len(values) == 1:
        return _fmt(values[0], unit, digits)
    return (f"{_fmt(statistics.median(values), unit, digits)} "
            f"({_fmt(min(values), '', digits)}-{_fmt(max(values), '', digits)})")


def paired_ratios(up: dict[str, Any], sdk: str = "shipper") -> list[float]:
    """Round by round, ``sdk``'s end-to-end events/s over the fastest peer's of that round."""
    out = []
    for i, ours in enumerate(up.get(sdk, [])):
        peers = [up[p][i].get("throughput") for p in ("segment", "posthog")
                 if p in up and i < len(up[p])]
        peers = [p for p in peers if p]
        if ours.get("throughput") and peers:
            out.append(ours["throughput"] / max(peers))
    return out


def render(res: dict[str, Any]) -> str:
    present = [k for k in COLUMNS if k in res.get("up", {}) or k in res.get("up_shared", {})
               or k in ("shipper", "shipper-stdlib", "segment", "posthog")]
    rows = ["| scenario | measure | " + " | ".join(COLUMNS[k] for k in present)
            + " | shipper / faster peer |", "| --- | --- | " + "--- | " * len(present) + "--- |"]
    if res.get("pinned"):
        p = res["pinned"]
        rows.insert(0, f"Callers pinned to CPU {p['caller_cpus']}, the collector to CPU "
                       f"{p['collector_cpus']} (\"shared cores\": neither pinned). "
                       "Median of the runs, (min-max) where there were several.\n")

    def row(scenario: str, measure: str, values: dict[str, str], ratio: str = "") -> None:
        rows.append(f"| {scenario} | {measure} | "
                    + " | ".join(values.get(k, "") for k in present) + f" | {ratio} |")

    def ratio(key: str, data: dict[str, list[dict[str, Any]]], invert: bool = False) -> str:
        ours = _med(data.get("shipper", []), key)
        peers = [v for v in (_med(data.get(p, []), key) for p in ("segment", "posthog"))
                 if v is not None]
        if ours is None or not peers:
            return ""
        best = max(peers) if invert else min(peers)
        return f"{ours / best:.2f}" if best else ""

    for key, label in (("up", "collector up, pinned"), ("up_shared", "collector up, shared cores")):
        if key not in res:
            continue
        up = {k: v for k, v in res[key].items() if isinstance(v, list)}
        for measure, field in (("p50", "median_us"), ("p99", "p99_us"), ("p99.9", "p999_us"),
                               ("max", "max_us")):
            row(label, f"µs per call, {measure}",
                {k: _range([r[field] for r in v if field in r]) for k, v in up.items()},
                ratio(field, up))
        row(label, "events lost (burst of 20k)",
            {k: _fmt(_med(v, "lost"), digits=0) for k, v in up.items()})
        paired = paired_ratios(up)
        row(label, "end-to-end events/s until the collector holds them",
            {k: _range([r["throughput"] for r in v if r.get("throughput")], 0)
             for k, v in up.items()},
            _range(paired, 2) + " paired by round" if paired else "")
        row(label, "time to close", {k: _close(v) for k, v in up.items()})
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
        runs = d.get("runs", {"shipper": [d]})
        row("backlog drain", f"`shipper sync` of {d['events']:,} events, events/s",
            {k: _range([r["events_per_s"] for r in v], 0) for k, v in runs.items()})
        if "after_outage" in d:
            o = d["after_outage"]
            row("backlog drain after an outage (paced)", f"`shipper sync` of {o['events']:,} "
                "events, events/s", {"shipper": f"{o['events_per_s']:,.0f} "
                                                f"({o['seconds']:.0f} s)"})
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
