"""Security: the API key stays secret, the cache stays private, the collector stays bounded."""

from __future__ import annotations

import gzip
import logging
import os
import socket
import ssl
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

import shipper
from shipper import Shipper
from shipper._cache._files import UnsafeCacheDir
from shipper._cache._spool import Spool
from shipper._cli._main import main
from shipper._cli._serve import MAX_INFLATED, make_server

from .conftest import (
    Collector,
    Receiver,
    child_env,
    destination_home,
    pending_events,
    require_tool,
    serving,
    wait_for,
)

pytestmark = pytest.mark.security
KEY = "sk-live-0123456789abcdef"


def test_api_key_never_reaches_logs_disk_or_output(tmp_path: Path, cache_dir: Path,
                                                   caplog: pytest.LogCaptureFixture,
                                                   capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """With every logger at DEBUG, through success, refusal and an outage, the key appears
    in no log line, no file in the cache, no status or doctor output."""
    collector = Collector(tmp_path, api_key="another-key")
    collector.start()
    caplog.set_level(logging.DEBUG)
    try:
        with Shipper(endpoint=collector.url, api_key=KEY) as s:  # 401: refused
            for i in range(20):
                s.track("e", {"i": i})
        with Shipper(endpoint="http://127.0.0.1:9", api_key=KEY, shutdown_timeout=0.3) as s:
            s.track("down")
        monkeypatch.setenv("SHIPPER_ENDPOINT", collector.url)
        monkeypatch.setenv("SHIPPER_API_KEY", KEY)
        shipper.track("oneshot", {"x": 1})
        for argv in (["status"], ["status", "--json"], ["doctor"], ["sync"], ["sync", "--json"],
                     ["prune", "--dry-run"]):
            main(argv)
    finally:
        collector.stop()
    printed = capsys.readouterr()
    assert KEY not in printed.out and KEY not in printed.err
    assert KEY not in caplog.text
    for record in caplog.records:
        assert KEY not in str(record.args) and KEY not in str(record.exc_info)
    for path in cache_dir.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path


PASSWORD, TOKEN = "pw-s3cret-9", "tok-s3cret-7"


def secret_free(texts: list[str], cache: Path, *secrets: str) -> None:
    """None of ``secrets`` is in ``texts`` or in any file of the cache."""
    for secret in secrets:
        for text in texts:
            assert secret not in text, text
        for path in cache.rglob("*"):
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), path


@pytest.mark.parametrize("kind", ["otlp", "clickhouse"])
def test_endpoint_credentials_are_never_shown_or_stored(
        kind: str, cache_dir: Path, caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """An endpoint with a password and a query token, answered 404 or 400 (whose readers
    quote the URL): neither appears in a warning, in sync, status or doctor, or in any file
    of the cache (state.json, dead letters); and the destination's path goes before the
    query string (`/v1/logs?token=...`, not `/?token=.../v1/logs`)."""
    r = Receiver(cache_dir.parent, kind)
    r.start()
    try:
        r.plan(status=404)
        endpoint = f"http://bob:{PASSWORD}@127.0.0.1:{r.port}/?token={TOKEN}"
        caplog.set_level(logging.DEBUG)
        monkeypatch.setenv("SHIPPER_ENDPOINT", endpoint)
        monkeypatch.setenv("SHIPPER_DESTINATION", kind)
        with Shipper(shutdown_timeout=2) as s:
            s.track("e")
        for argv in (["sync"], ["sync", "--json"], ["status"], ["status", "--json"],
                     ["doctor"], ["doctor", "--json"], ["--debug", "sync"]):
            main(argv)
        paths = [request["path"] for request in r.requests()]
    finally:
        r.stop()
    printed = capsys.readouterr()
    ours = "\n".join(record.getMessage() for record in caplog.records
                     if record.name.startswith("shipper"))
    # httpx's own INFO line names each request's URL, query string included (that is the
    # request); the password is never in it: it goes as the Authorization header
    theirs = "\n".join(record.getMessage() for record in caplog.records
                       if not record.name.startswith("shipper"))
    secret_free([printed.out, printed.err, ours], cache_dir, PASSWORD, TOKEN)
    secret_free([theirs], cache_dir, PASSWORD)
    wanted = "/v1/logs?token=" if kind == "otlp" else "/?token="
    assert paths and all(path.startswith(wanted) for path in paths), paths


@pytest.mark.parametrize("kind", ["segment", "posthog"])
def test_a_refusal_quoting_the_request_keeps_no_key(
        kind: str, tmp_path: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture) -> None:
    """A receiver whose 400 quotes the request back (the Authorization header, PostHog's
    api_key in the body): the dead letter's reason and what sync prints hold no key, in no
    form (Segment's Basic token is the key in base64)."""
    r = Receiver(tmp_path, kind)
    r.start()
    try:
        r.plan(status=400, echo=True)
        with Shipper(destination=kind, endpoint=r.url, api_key=KEY, shutdown_timeout=2) as s:
            s.track("e")
    finally:
        r.stop()
    import base64

    reasons = [line for path in (destination_home(cache_dir, r.url, kind) / "dead").iterdir()
               for line in path.read_text().splitlines()[:1]]
    assert reasons and "bad request" in reasons[0]
    secret_free([capsys.readouterr().err, caplog.text], cache_dir, KEY,
                base64.b64encode(f"{KEY}:".encode()).decode())


REDACTED_FORMS = {
    "the endpoint's user:password as Basic": (
        {"endpoint": "http://bob:s3cretPW@h:9/"}, "Basic Ym9iOnMzY3JldFBX", "Ym9iOnMzY3JldFBX"),
    "a token as the endpoint's user name": (
        {"endpoint": "http://TOKEN12345@h:9/"}, "probe http://TOKEN12345@h:9/health: 404",
        "TOKEN12345"),
    "the password as sent (percent-decoded)": (
        {"endpoint": "http://bob:s3cret%2FPW@h:9/"}, "password s3cret/PW refused", "s3cret/PW"),
    "the token of a Bearer header, alone": (
        {"endpoint": "http://h:9/", "headers": {"Authorization": "Bearer glc_SECRET123456"}},
        "invalid token glc_SECRET123456", "glc_SECRET123456"),
    "a user and password inside a Basic header value": (
        {"endpoint": "http://h:9/",
         "headers": {"Authorization": "Basic dXNlcjpwYXNzLXdvcmQtOTk="}},
        "wrong password pass-word-99", "pass-word-99"),
    "an API key inside a JSON string": (
        {"endpoint": "http://h:9/", "api_key": "phc_abc/defGH123"},
        '{"got": "{\\"api_key\\":\\"phc_abc\\/defGH123\\"}"}', "phc_abc\\/defGH123"),
    "a query value of an endpoint without a path": (
        {"endpoint": "http://h:9?token=QQQQSECRET"}, "GET http://h:9/health?token=QQQQSECRET",
        "QQQQSECRET"),
    "a short query value": (
        {"endpoint": "http://h:9/?k=Q7"}, "POST http://h:9/v1/batch?k=Q7 refused", "k=Q7"),
}


@pytest.mark.parametrize("case", list(REDACTED_FORMS))
def test_every_form_of_a_secret_is_hidden(case: str) -> None:
    """A secret of the configuration is hidden in whatever form a text quotes it."""
    from shipper._config import load_settings

    values, text, secret = REDACTED_FORMS[case]
    redacted = load_settings(values).redact(text)
    assert secret not in redacted and "<hidden>" in redacted


def test_shown_urls_hold_no_credentials_query_or_fragment() -> None:
    """The URL status, destination.json and every message show has no user information,
    query string or fragment, however the endpoint is written."""
    from shipper._kinds import public_url

    for url in ("http://h:9?token=T1", "http://u:p@h:9#frag", "https://T@h/in?x=1#y",
                "http://h:9/path/?a=b"):
        shown = public_url(url)
        assert "?" not in shown and "#" not in shown and "@" not in shown, shown


def test_a_key_cut_by_the_length_of_a_quoted_answer_is_still_hidden(
        tmp_path: Path, cache_dir: Path) -> None:
    """A refusal quoting the key just where the quoted text is cut: no part of the key is
    kept (secrets are hidden before the text is cut)."""
    r = Receiver(tmp_path, "shipper")
    r.start()
    try:
        r.plan(status=400, echo=True, pad=150)
        with Shipper(endpoint=r.url, api_key=KEY, shutdown_timeout=2) as s:
            s.track("e")
    finally:
        r.stop()
    secret_free([], cache_dir, KEY[:10])


def test_background_sync_command_line_has_no_key(collector: Collector,
                                                 cache_dir: Path) -> None:
    """The detached sync a hook starts carries the key only in its environment, never in
    its command line (what `ps` shows)."""
    collector.faults(blackhole=True)  # the sync waits on its probe: there to be seen
    code = (f"import shipper\nshipper.track('e', endpoint={collector.url!r}, api_key={KEY!r})\n")
    subprocess.run([sys.executable, "-c", code], env=child_env(cache_dir), timeout=60,
                   check=True)
    seen: list[bytes] = []

    def look() -> bool:
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
                except OSError:
                    continue
                if b"--background" in cmd:
                    seen.append(cmd)
        return bool(seen)

    assert wait_for(look, timeout=30, interval=0.01), "no background sync was started"
    assert all(KEY.encode() not in cmd for cmd in seen)


def test_every_cache_file_is_private_under_a_loose_umask(collector: Collector,
                                                         tmp_path: Path) -> None:
    """Folder 0700, every file 0600 (events, state, locks, drops, dead letter), umask 0."""
    cache = tmp_path / "loose"
    old = os.umask(0)
    try:
        collector.faults(refuse_marked=True)
        with Shipper(endpoint=collector.url, cache_dir=str(cache)) as s:
            s.track("ok")
            s.track("bad", {"refuse": True})
        shipper.track("x", cache_dir=str(cache), max_event_bytes=10)  # a counted drop
        Spool(cache).write([b'{"id":"p"}'])
    finally:
        os.umask(old)
    for path in [cache, *cache.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        if path.is_dir():
            assert mode == 0o700, path
        else:
            assert mode == 0o600, path
    assert any(destination_home(cache, collector.url).joinpath("dead").iterdir())
    assert any(cache.rglob("state.json")) and any(cache.rglob("anonymous_id"))


def test_cache_symlink_planted_by_another_user_is_refused(tmp_path: Path) -> None:
    """A cache path that is a link to a folder owned by someone else is never written to."""
    victim = tmp_path / "victim"
    victim.mkdir()
    os.chown(victim, 54321, 54321)
    link = tmp_path / "cache"
    link.symlink_to(victim)
    with pytest.raises(UnsafeCacheDir):
        Spool(link).ensure()
    assert shipper.track("e", cache_dir=str(link)) is None
    s = Shipper(endpoint="http://127.0.0.1:9", cache_dir=str(link), shutdown_timeout=0.2)
    s.track("e")
    s.close()
    assert s.stats()["dropped"] == {"disk_unwritable": 1}
    assert list(victim.iterdir()) == []


def test_collector_refuses_oversized_bodies(tmp_path: Path) -> None:
    """serve answers 413 to a body over its limit without reading it all."""
    with serving(make_server("127.0.0.1", 0, out=tmp_path / "o.jsonl", max_body=1000)) as base:
        r = httpx.post(base + "/v1/batch", content=b"{" + b" " * 5000 + b"}",
                       headers={"Content-Type": "application/json"})
        assert r.status_code == 413
        assert httpx.get(base + "/health").status_code == 200


def test_collector_survives_a_gzip_bomb(tmp_path: Path) -> None:
    """A small gzip body that inflates past the cap gets 413, not all of memory."""
    with serving(make_server("127.0.0.1", 0, out=tmp_path / "o.jsonl")) as base:
        bomb = gzip.compress(b"\0" * (MAX_INFLATED * 4), compresslevel=9)
        assert len(bomb) < 200_000
        url = base + "/v1/batch"
        r = httpx.post(url, content=bomb, timeout=30,
                       headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})
        assert r.status_code == 413
        ok = httpx.post(url, json={"batch": [{"id": "a"}]})
        assert ok.status_code == 200


def test_tls_is_verified_unless_turned_off(tmp_path: Path, cache_dir: Path) -> None:
    """A self-signed collector is refused by default (events kept) and accepted only with
    verify_tls=false."""
    require_tool("openssl")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   capture_output=True, check=True, timeout=60)
    server = make_server("127.0.0.1", 0, out=tmp_path / "o.jsonl")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    with serving(server) as url:
        assert url.startswith("https://")
        with Shipper(endpoint=url, shutdown_timeout=1) as s:
            s.track("e")
        assert server.collector.tally.events_accepted == 0
        assert pending_events(cache_dir) == 1
        result = shipper.sync(10, endpoint=url, verify_tls=False)
        assert result.delivered == 1
        assert server.collector.tally.events_accepted == 1


def test_serve_binds_loopback_by_default() -> None:
    """The collector listens on 127.0.0.1 unless told otherwise."""
    server = make_server(port=0)
    try:
        assert server.server_address[0] == "127.0.0.1"
        with socket.create_connection(("127.0.0.1", server.server_address[1]), timeout=5):
            pass
    finally:
        server.server_close()
