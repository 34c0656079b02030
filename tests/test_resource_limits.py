"""Running short of descriptors is the machine's fault, not the files': delivery waits,
nothing is quarantined."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shipper._cache._spool import ResourceShortage, Spool

from .conftest import (
    Collector,
    child_env,
    run_py,
    write_backlog,
)

pytestmark = pytest.mark.chaos



def test_running_out_of_descriptors_never_quarantines(collector: Collector,
                                                      cache_dir: Path) -> None:
    """With a low descriptor limit, a sync of 1,500 single-event files delivers them all
    and quarantines none (claims are capped; a shortage stops, it never blames a file)."""
    spool = Spool(cache_dir)
    recorded = write_backlog(cache_dir, files=1500, per_file=1)
    out = run_py(f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_NOFILE, (200, 200))
        import shipper
        result = shipper.sync(120, endpoint={collector.url!r})
        print(result.delivered, result.pending_events, result.stopped_by)
    """, child_env(cache_dir), timeout=180)
    assert out.returncode == 0, out.stderr
    assert os.listdir(spool.quarantine) == []
    assert sorted(collector.ids()) == sorted(recorded)


def test_a_descriptor_shortage_is_not_the_files_fault(tmp_path: Path) -> None:
    """Claiming with no descriptor left raises ResourceShortage; the file stays pending."""
    spool = Spool(tmp_path)
    spool.write([b'{"id":"a"}'])
    (entry,) = spool.entries()
    out = run_py(f"""
        import os, resource
        from pathlib import Path
        from shipper._cache._spool import ResourceShortage, Spool, Entry
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
        held = []
        try:
            while True:
                held.append(os.open("/dev/null", os.O_RDONLY))
        except OSError:
            pass
        spool = Spool({str(tmp_path)!r})
        try:
            spool.claim(Entry(Path({str(entry.path)!r}), {entry.written_ms}, 1))
            print("claimed")
        except ResourceShortage:
            print("shortage")
    """, child_env())
    assert out.stdout.strip() == "shortage", out.stderr
    assert os.listdir(spool.quarantine) == [] and len(spool.entries()) == 1
    assert issubclass(ResourceShortage, OSError)
