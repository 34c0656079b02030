"""The hook path against the floor: a fresh Python doing nothing.

    python bench/hook.py                      # ~3 minutes on 2 cores
    python bench/hook.py --runs 40 --tree /tmp/older-checkout   # the same, for another tree
    python bench/hook.py --hook-only --case no-endpoint --runs 60 --out /tmp/pair.json
    python3.12 bench/hook.py --hook-only --out bench/results/hook-pair-py312.json  # another Python

A clean virtual environment gets ``pip install TREE`` (not editable; bytecode cached, as on
a user's machine). Each case runs the commands interleaved, one after another, ``--runs``
times: ``python -c pass`` from that venv (the baseline, measured in the same rounds), then
each shipper command. Reported per command: min / median / max in ms and the ratio of its
median to the baseline's. Medians, not means: a 2-core machine has its moments.

A second baseline, ``python -c pass`` from a bare venv (``--without-pip``), runs in the same
rounds: on Python 3.11 ``pip install`` leaves setuptools' ``distutils-precedence.pth`` in the
venv, which every start with ``site`` executes (about 1 ms), and a venv made by Python 3.12+,
uv or pipx has none. The ratio to that floor is reported beside the first.

Cases: no endpoint; a collector that is up (bench/collector.py); one that is down (a closed
port); one that is blackholed (accepts, never answers). After each case every recorded
event is counted (on disk or delivered): a fast hook that loses events would be no figure.

Commands:
- ``shipper-hook --source claude-code``: what ``shipper hooks install`` writes, ``python -S
  shipper-hook ...`` (a tree from before ``-S`` gets it run as it was then, without);
- ``shipper hook --source claude-code``: the console script, as hand-copied templates run it;
- ``track()``: ``python -c "import shipper; shipper.track(...)"``, a short-lived script;
- ``Shipper``: ``with Shipper() as s: s.track(...)``, the long-running client used briefly.

Results go to bench/results/hook.json and a Markdown table on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from run import Collector, free_port  # noqa: E402 - the shared collector harness

PAYLOAD = (b'{"session_id":"s1","transcript_path":"/home/u/.claude/projects/x.jsonl",'
           b'"cwd":"/home/u/work/app","hook_event_name":"PostToolUse","tool_name":"Read",'
           b'"tool_input":{"file_path":"/home/u/work/app/main.py"},'
           b'"tool_response":{"success":true}}')
TRACK = "import shipper; shipper.track('cli.run', {'command': 'deploy'})"
CLIENT = ("from shipper import Shipper\n"
          "with Shipper() as s:\n"
          "    s.track('cli.run', {'command': 'deploy'})")


def make_venv(tree: Path, where: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True)
    subprocess.run([str(where / "bin" / "pip"), "install", "-q", str(tree)], check=True,
                   env={k: v for k, v in os.environ.items() if k != "PIP_REQUIRE_VIRTUALENV"})
    return where / "bin"


BASELINE = "python -c pass"
BARE = "python -c pass, bare venv"


def commands(bin_dir: Path, bare_dir: Path,
             with_client: bool) -> dict[str, tuple[list[str], bytes | None]]:
    py = str(bin_dir / "python")
    out: dict[str, tuple[list[str], bytes | None]] = {
        BASELINE: ([py, "-c", "pass"], None),
        BARE: ([str(bare_dir / "python"), "-c", "pass"], None),
    }
    script = bin_dir / "shipper-hook"
    if script.exists():  # as `shipper hooks install` writes it
        no_site = ["-S"] if b"no_site" in script.read_bytes() else []
        out["shipper-hook"] = ([py, *no_site, str(script), "--source", "claude-code"],
                               PAYLOAD)
    out["shipper hook"] = ([str(bin_dir / "shipper"), "hook", "--source", "claude-code"],
                           PAYLOAD)
    out["track()"] = ([py, "-c", TRACK], None)
    if with_client:
        out["Shipper"] = ([py, "-c", CLIENT], None)
    return out


def run_once(cmd: list[str], stdin: bytes | None, env: dict[str, str]) -> float:
    """Milliseconds from start to exit. No ``timeout=`` for subprocess: with one, it polls
    the child with growing sleeps and rounds every figure up to its polling steps; a timer
    that kills the child is the hang guard instead."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env)
    guard = threading.Timer(120, proc.kill)
    guard.start()
    try:
        proc.communicate(stdin or b"")
    finally:
        guard.cancel()
    return (time.perf_counter() - started) * 1000


def run_case(cmds: dict[str, tuple[list[str], bytes | None]], env: dict[str, str],
             runs: int) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {name: [] for name in cmds}
    for cmd, stdin in cmds.values():  # warm-up: bytecode and page cache
        run_once(cmd, stdin, env)
    for _ in range(runs):
        for name, (cmd, stdin) in cmds.items():
            samples[name].append(run_once(cmd, stdin, env))
    return samples


def count_recorded(py: str, env: dict[str, str]) -> int:
    """Events waiting in the cache (pending, any destination)."""
    code = ("import os, sys\n"
            "root = os.environ['SHIPPER_CACHE_DIR']\n"
            "n = 0\n"
            "for folder, _, files in os.walk(root):\n"
            "    if os.path.basename(folder) == 'pending':\n"
            "        for name in files:\n"
            "            if name.endswith('.json'):\n"
            "                with open(os.path.join(folder, name), 'rb') as f:\n"
            "                    n += len(f.read().splitlines()) - 1\n"
            "print(n)")
    return int(subprocess.run([py, "-c", code], env=env, capture_output=True, text=True,
                              check=True).stdout)


def summary(samples: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    """Per command: min / median / max; ``ratio``, of its median to the baseline's;
    ``paired``, the median over rounds of its time over the baseline's in the same round
    (a moment that slows one round slows both); ``ratio_bare``, to the bare venv's."""
    base = statistics.median(samples[BASELINE])
    bare = statistics.median(samples[BARE])
    return {name: {"min_ms": round(min(v), 1), "median_ms": round(statistics.median(v), 1),
                   "max_ms": round(max(v), 1),
                   "ratio": round(statistics.median(v) / base, 2),
                   "paired": round(statistics.median(
                       t / b for t, b in zip(v, samples[BASELINE], strict=True)), 2),
                   "ratio_bare": round(statistics.median(v) / bare, 2)}
            for name, v in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--tree", type=Path, default=HERE.parent, help="checkout to install")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "hook.json")
    parser.add_argument("--case", action="append", metavar="CASE",
                        help="only this case (no-endpoint, up, down, blackholed); repeatable")
    parser.add_argument("--hook-only", action="store_true",
                        help="only python -c pass and the installed hook, interleaved pairs")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="shipper-hookbench-"))
    up, black = Collector(), Collector(blackhole=True)
    try:
        bin_dir = make_venv(args.tree, work / "venv")
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(work / "bare")],
                       check=True)
        py = str(bin_dir / "python")
        cases = {"no endpoint": None, "collector up": up.url,
                 "collector down": f"http://127.0.0.1:{free_port()}",
                 "collector blackholed": black.url}
        if args.case:
            wanted = {c.replace("-", " ") for c in args.case}
            cases = {k: v for k, v in cases.items()
                     if k in wanted or k.removeprefix("collector ") in wanted}
        results: dict[str, Any] = {"tree": str(args.tree), "runs": args.runs,
                                   "python": sys.version.split()[0], "cases": {}}
        for case, url in cases.items():
            cache = work / case.replace(" ", "-")
            home = work / ("home-" + case.replace(" ", "-"))
            (home / ".config" / "shipper").mkdir(parents=True)
            env = {k: v for k, v in os.environ.items()
                   if not k.startswith(("SHIPPER_", "PYTHON"))}
            env.update(HOME=str(home), SHIPPER_CACHE_DIR=str(cache),
                       XDG_STATE_HOME=str(home / ".state"), XDG_CONFIG_HOME=str(home / ".config"))
            if url:  # in the config file, as a hook's user would have it
                config = home / ".config" / "shipper" / "config.toml"
                config.write_text(f'endpoint = "{url}"\n')
                old = time.time() - 3600  # an edit long ago, as configs usually are
                os.utime(config, (old, old))
                # utime set the change time to now, and a hook trusts no snapshot of a file
                # changed in the last 2 s: wait, as a user's config has not just changed
                time.sleep(2.5)
            up.reset()
            cmds = commands(bin_dir, work / "bare" / "bin", with_client=url == up.url)
            if args.hook_only:
                cmds = {k: v for k, v in cmds.items() if k in (BASELINE, BARE, "shipper-hook")}
            samples = run_case(cmds, env, args.runs)
            time.sleep(3)  # let the last background sync deliver what it can
            recorded = sum(len(v) for k, v in samples.items() if k not in (BASELINE, BARE)) + \
                len(samples) - 2  # the warm-up round
            delivered = up.stats()["unique"] if url == up.url else 0
            waiting = count_recorded(py, env)
            lost = recorded - delivered - waiting
            results["cases"][case] = {"commands": summary(samples), "events_recorded": recorded,
                                      "delivered": delivered, "on_disk": waiting, "lost": lost}
            print(f"{case}: {recorded} recorded, {delivered} delivered, {waiting} on disk, "
                  f"{lost} lost", file=sys.stderr)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n")
        print(table(results))
    finally:
        up.stop()
        black.stop()
        shutil.rmtree(work, ignore_errors=True)


def table(results: dict[str, Any]) -> str:
    lines = ["| case | command | min | median | max | ratio to `python -c pass` | "
             "paired by round | to a bare venv's |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for case, data in results["cases"].items():
        for name, s in data["commands"].items():
            lines.append(f"| {case} | {name} | {s['min_ms']} | {s['median_ms']} | "
                         f"{s['max_ms']} | {s['ratio']}x | {s['paired']}x | "
                         f"{s['ratio_bare']}x |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
