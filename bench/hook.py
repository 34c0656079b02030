"""The hook path against the floor: a fresh Python doing nothing.

    python bench/hook.py                      # ~3 minutes on 2 cores
    python bench/hook.py --runs 40 --tree /tmp/older-checkout   # the same, for another tree
    python bench/hook.py --hook-only --case no-endpoint --runs 60 --out /tmp/pair.json
    python3.12 bench/hook.py --hook-only --out bench/results/hook-pair-py312.json  # another Python

A clean virtual environment gets the wheel built from TREE (``--install wheel``, the default;
bytecode cached, as on a user's machine) or ``pip install -e TREE`` (``--install editable``,
as the README has it). Each case runs the commands interleaved, one after another, ``--runs``
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
- ``sh -c HOOK_COMMAND``: the very command ``shipper hooks install`` writes (the guard that
  the installation is still there, then ``exec python -S shipper-hook ...``), run through
  ``sh -c`` as agents run it, against ``sh -c 'python -c pass'`` and ``sh -c 'python -S -c
  pass'`` (the floor of a ``-S`` hook) in the same rounds, paired;
- ``shipper-hook --source claude-code``: the same without the shell and the guard, ``python -S
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
import shlex
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


def make_venv(tree: Path, where: Path, install: str = "wheel") -> Path:
    """A fresh venv with ``tree`` installed: ``wheel`` (the wheel built, then installed, as
    from the index) or ``editable`` (``pip install -e``, as the README says)."""
    env = {k: v for k, v in os.environ.items() if k != "PIP_REQUIRE_VIRTUALENV"}
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True)
    pip = [str(where / "bin" / "python"), "-m", "pip", "install", "-q"]
    if install == "editable":
        subprocess.run([*pip, "-e", str(tree)], check=True, env=env)
    else:
        wheels = where.parent / f"wheel-{where.name}"
        subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(wheels),
                        str(tree)], check=True, env=env, capture_output=True)
        (wheel,) = wheels.glob("*.whl")
        subprocess.run([*pip, str(wheel)], check=True, env=env)
    return where / "bin"


BASELINE = "python -c pass"
BARE = "python -c pass, bare venv"
SH_BASELINE = "sh -c 'python -c pass'"
SH_FLOOR = "sh -c 'python -S -c pass'"
SH_HOOK = "sh -c HOOK_COMMAND"


def installed_hook_command(py: str) -> str:
    """The shell command `shipper hooks install` writes for this venv (a tree from before
    the guard gets its plain command)."""
    code = ("from shipper._tools import _install as i\n"
            "print(i.hook_command('claude-code'))")
    out = subprocess.run([py, "-c", code], capture_output=True, text=True, check=False)
    if out.returncode != 0:  # an older tree: where the command was made then
        code = "from shipper._cli import _hooks as h; print(h.hook_command('claude-code'))"
        out = subprocess.run([py, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def commands(bin_dir: Path, bare_dir: Path,
             with_client: bool) -> dict[str, tuple[list[str], bytes | None]]:
    py = str(bin_dir / "python")
    out: dict[str, tuple[list[str], bytes | None]] = {
        BASELINE: ([py, "-c", "pass"], None),
        BARE: ([str(bare_dir / "python"), "-c", "pass"], None),
        # as an agent runs a hook: a shell, then the command; the same for the baselines
        SH_BASELINE: (["sh", "-c", f"{shlex.quote(py)} -c pass"], None),
        SH_FLOOR: (["sh", "-c", f"{shlex.quote(py)} -S -c pass"], None),
        SH_HOOK: (["sh", "-c", installed_hook_command(py)], PAYLOAD),
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


def paired(v: list[float], base: list[float]) -> float:
    """The median over rounds of a command's time over a baseline's in the same round (a
    moment that slows one round slows both)."""
    return round(statistics.median(t / b for t, b in zip(v, base, strict=True)), 2)


def spread(v: list[float], base: list[float]) -> tuple[float, float]:
    """The quartiles of the paired ratios: how much the rounds disagree."""
    ratios = sorted(t / b for t, b in zip(v, base, strict=True))
    q = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
    return round(q[0], 2), round(q[2], 2)


def summary(samples: dict[str, list[float]]) -> dict[str, dict[str, Any]]:
    """Per command: min / median / max; ``ratio``, of its median to the baseline's;
    ``paired``, the median over rounds of its time over the baseline's in the same round;
    ``ratio_bare``, to the bare venv's; and for the shell-run commands, ``sh_paired`` and
    ``sh_floor_paired``: over ``sh -c 'python -c pass'`` and ``sh -c 'python -S -c pass'``
    of the same round, with their quartiles."""
    base = statistics.median(samples[BASELINE])
    bare = statistics.median(samples[BARE])
    out: dict[str, dict[str, Any]] = {}
    for name, v in samples.items():
        out[name] = {"min_ms": round(min(v), 1), "median_ms": round(statistics.median(v), 1),
                     "max_ms": round(max(v), 1),
                     "ratio": round(statistics.median(v) / base, 2),
                     "paired": paired(v, samples[BASELINE]),
                     "ratio_bare": round(statistics.median(v) / bare, 2)}
        if name.startswith("sh -c") and SH_BASELINE in samples:
            out[name]["sh_paired"] = paired(v, samples[SH_BASELINE])
            out[name]["sh_paired_quartiles"] = spread(v, samples[SH_BASELINE])
            out[name]["sh_floor_paired"] = paired(v, samples[SH_FLOOR])
    return out


def case_env(work: Path, case: str, url: str | None) -> dict[str, str]:
    """A home and a cache of the case's own, the endpoint in config.toml as a hook's user
    has it; no PYTHON* variable (this machine's PYTHONDONTWRITEBYTECODE and
    PYTHONUNBUFFERED are not on a user's)."""
    cache = work / case.replace(" ", "-")
    home = work / ("home-" + case.replace(" ", "-"))
    (home / ".config" / "shipper").mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHIPPER_", "PYTHON"))}
    env.update(HOME=str(home), SHIPPER_CACHE_DIR=str(cache),
               XDG_STATE_HOME=str(home / ".state"), XDG_CONFIG_HOME=str(home / ".config"))
    if url:
        config = home / ".config" / "shipper" / "config.toml"
        config.write_text(f'endpoint = "{url}"\n')
        old = time.time() - 3600  # an edit long ago, as configs usually are
        os.utime(config, (old, old))
        # utime set the change time to now, and a hook trusts no snapshot of a file changed
        # in the last 2 s: wait, as a user's config has not just changed
        time.sleep(2.5)
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--tree", type=Path, default=HERE.parent, help="checkout to install")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "hook.json")
    parser.add_argument("--case", action="append", metavar="CASE",
                        help="only this case (no-endpoint, up, down, blackholed); repeatable")
    parser.add_argument("--hook-only", action="store_true",
                        help="only python -c pass and the installed hook, interleaved pairs")
    parser.add_argument("--install", choices=("wheel", "editable"), default="wheel",
                        help="the wheel built and installed (default), or pip install -e")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="shipper-hookbench-"))
    up, black = Collector(), Collector(blackhole=True)
    try:
        bin_dir = make_venv(args.tree, work / "venv", args.install)
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
                                   "install": args.install, "load_at_start": os.getloadavg(),
                                   "python": sys.version.split()[0], "cases": {}}
        for case, url in cases.items():
            env = case_env(work, case, url)
            up.reset()
            cmds = commands(bin_dir, work / "bare" / "bin", with_client=url == up.url)
            if args.hook_only:
                cmds = {k: v for k, v in cmds.items()
                        if k in (BASELINE, BARE, SH_BASELINE, SH_FLOOR, SH_HOOK)}
            samples = run_case(cmds, env, args.runs)
            time.sleep(3)  # let the last background sync deliver what it can
            baselines = (BASELINE, BARE, SH_BASELINE, SH_FLOOR)
            recorded = sum(len(v) + 1 for k, v in samples.items()  # + the warm-up round
                           if k not in baselines)
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
    lines = [f"{results.get('install', 'wheel')} install, {results['runs']} rounds, load "
             f"{results.get('load_at_start', ['?'])[0]:.1f} at the start\n",
             "| case | command | min | median | max | ratio to `python -c pass` | "
             "paired by round | to a bare venv's | over `sh -c 'python -c pass'`, paired "
             "(quartiles) | over `sh -c 'python -S -c pass'`, paired |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for case, data in results["cases"].items():
        for name, s in data["commands"].items():
            sh = (f"{s['sh_paired']}x ({s['sh_paired_quartiles'][0]}-"
                  f"{s['sh_paired_quartiles'][1]})" if "sh_paired" in s else "")
            floor = f"{s['sh_floor_paired']}x" if "sh_floor_paired" in s else ""
            lines.append(f"| {case} | {name} | {s['min_ms']} | {s['median_ms']} | "
                         f"{s['max_ms']} | {s['ratio']}x | {s['paired']}x | "
                         f"{s['ratio_bare']}x | {sh} | {floor} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
