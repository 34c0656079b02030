"""What every agent's offline run must show, as a base class: a tool's test file subclasses
`AgentChecks` with its `Client`, and gets these tests for it.

One run per class: SESSIONS headless sessions of the client, PARALLEL at a time, with
homes set up by ``shipper hooks install``, a real collector process, and the client's own
account of its hooks (see `tests/agents/clients.py`) as the ground truth.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import ClassVar

import pytest

from ..conftest import required_or_skip
from .clients import Client
from .npm import Unavailable, ensure
from .run import Run, found_in, run_sessions, written_out

SESSIONS = 24  # per client
PARALLEL = 2  # sessions at a time


class AgentChecks:
    """The checks of one client's offline run; ``client`` says which."""

    pytestmark: ClassVar = pytest.mark.agents
    client: ClassVar[Client]

    @pytest.fixture(scope="class")
    @classmethod
    def run(cls, tmp_path_factory: pytest.TempPathFactory) -> Run:
        """SESSIONS headless sessions of the client, PARALLEL at a time, then (within a
        bound) everything they recorded delivered."""
        client = cls.client
        try:
            executable, _ = ensure(client.package)
        except Unavailable as exc:
            required_or_skip(f"agents: {client.package.spec}", str(exc))
        folder: Path = tmp_path_factory.mktemp(client.name)
        return run_sessions(client, executable, folder, SESSIONS, PARALLEL)

    def test_every_session_completes_and_runs_the_installed_hooks(self, run: Run) -> None:
        """Each session exits 0 with the answer, its client running the installed hooks."""
        for session in run.sessions:
            assert session.returncode == 0, session.describe()
            assert session.case.answer_secret in session.stdout, session.describe()
            assert session.session_id, session.describe()
            expected = run.client.expected(session)
            assert set(run.client.bounds) <= set(expected), expected
            ran = Counter(r.event for r in session.runs)
            assert ran == expected, (ran, expected, session.describe())
            assert not session.problems, (session.problems, session.describe())

    def test_no_hook_event_is_lost(self, run: Run) -> None:
        """Each hook run a client reports is one event, at the collector or in the cache."""
        fired = run.fired()
        kept = run.recorded(run.delivered) + run.recorded(
            {k: v for k, v in run.on_disk.items() if k not in run.delivered})
        assert len({session_id for session_id, _ in fired}) == SESSIONS
        assert not fired - kept, f"lost: {fired - kept}"
        assert not kept - fired, f"recorded but never fired: {kept - fired}"

    def test_the_hooks_deliver_everything_to_the_collector(self, run: Run) -> None:
        """With the collector up, the hooks' own syncs deliver every event; none is left."""
        fired = run.fired()
        delivered = run.recorded(run.delivered)
        assert not fired - delivered, (f"not delivered: {fired - delivered}; "
                                       f"{len(run.on_disk)} events still in the cache")
        assert not run.on_disk

    def test_hooks_print_nothing_and_exit_zero(self, run: Run) -> None:
        """Each hook exits 0, stdout empty: as its client reports, else as replayed like
        it."""
        bad = [(s.index, r) for s in run.sessions for r in s.runs
               if r.status not in run.client.ok_statuses or r.exit_code not in (0, None)
               or r.stdout not in ("", None)]
        assert not bad
        unshown = {r.event for s in run.sessions for r in s.runs
                   if r.exit_code is None or r.stdout is None}
        replayed = Counter(r.replay.event for r in run.replays)
        assert unshown <= set(replayed), f"shown by the client nowhere: {unshown - set(replayed)}"
        for event in unshown:
            assert replayed[event] >= SESSIONS, event
        for result in run.replays:
            assert (result.returncode, result.stdout) == (0, b""), (
                result.replay.event, result.returncode, result.stdout, result.stderr)

    def test_no_content_or_transcript_path_leaves_the_machine(self, run: Run) -> None:
        """No prompt, command, file content, message or transcript path is cached or sent."""
        texts = written_out(run)
        assert texts
        leaks = []
        for session in run.sessions:
            client_records = session.stdout + session.stderr + "".join(
                p.read_text(encoding="utf-8", errors="replace")
                for p in run.client.transcripts(session))
            assert run.client.transcripts(session), session.describe()
            for kind, secret in session.case.secrets().items():
                if kind not in run.client.secret_kinds:
                    continue
                assert secret in client_records, f"{kind} never reached {run.client.name}"
                leaks += [f"{kind}: {hit}" for hit in found_in(secret, texts)]
            for transcript in run.client.transcripts(session):
                leaks += [f"transcript path: {hit}" for hit in found_in(transcript.name, texts)]
        assert not leaks, "\n".join(leaks[:20])

    def test_the_home_folder_is_never_written_out(self, run: Run) -> None:
        """The home folder's absolute path is neither cached nor sent (it is written as ~)."""
        texts = written_out(run)
        leaks = []
        for session in run.sessions:
            for home in {str(session.home), str(session.home.resolve())}:
                leaks += found_in(home, texts)
        assert not leaks, "\n".join(leaks[:20])
