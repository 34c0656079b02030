"""``shipper doctor``: check configuration, the cache folder and the endpoint; say what to fix."""

from __future__ import annotations

import os
from typing import TextIO

from .._cache._files import atomic_write
from .._cache._layout import TMP
from .._cache._spool import Spool
from .._config import Settings, config_file, origin, otlp_protocol_advice, unknown_names
from .._errors import ConfigError
from .._kinds import OTLP_PROTOCOLS, path_advice
from ._status import free_bytes, public_endpoint

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    import httpx

    from .._deliver import Answer
    from .._destinations._base import Destination

LOW_SPACE = 100 * 1024 * 1024


class Report:
    """The doctor's findings: as text, written as they are made (a slow endpoint check
    shows what was found before it), or as one JSON object at the end (``as_json``)."""

    def __init__(self, out: TextIO, *, as_json: bool = False) -> None:
        self.out = out
        self.as_json = as_json
        # what a finding quotes (an answer, a URL) is shown with the secrets hidden
        self.redact: Callable[[str], str] = lambda text: text
        self.problems = 0
        self.checks: list[dict[str, str | None]] = []
        self.config_file = config_file(os.environ)
        if not as_json:
            out.write(f"shipper doctor\n  config file: {self.config_file}\n")

    def ok(self, msg: str) -> None:
        msg = self.redact(msg)
        self.checks.append({"status": "ok", "message": msg, "fix": None})
        if not self.as_json:
            self.out.write(f"  ok    {msg}\n")

    def bad(self, msg: str, fix: str) -> None:
        msg, fix = self.redact(msg), self.redact(fix)
        self.problems += 1
        self.checks.append({"status": "fix", "message": msg, "fix": fix})
        if not self.as_json:
            self.out.write(f"  FIX   {msg}\n        -> {fix}\n")

    def verdict(self) -> int:
        """Write the conclusion; the exit status: 0 all good, 1 something to fix."""
        if self.as_json:
            import json

            self.out.write(json.dumps({"ok": self.problems == 0, "problems": self.problems,
                                       "config_file": self.config_file,
                                       "checks": self.checks}, indent=2) + "\n")
        else:
            self.out.write("all good\n" if self.problems == 0
                           else f"{self.problems} thing(s) to fix\n")
        return 0 if self.problems == 0 else 1


def doctor(load: Callable[[], Settings], out: TextIO, *, as_json: bool = False) -> int:
    """Check everything, ``load`` giving the settings (it raises `ConfigError` for a bad
    value, which is reported as a finding); the exit status."""
    report = Report(out, as_json=as_json)
    _check_names(report)
    try:
        settings = load()
    except ConfigError as exc:
        report.bad(f"configuration: {exc}",
                   "fix or remove that value (see docs/configuration.md)")
        return report.verdict()
    report.redact = settings.redact
    if settings.disabled:
        report.bad("shipper is disabled: nothing is recorded",
                   "unset DO_NOT_TRACK / SHIPPER_DISABLED, or disabled=false in config.toml")
    _check_cache(settings, report)
    _check_other_destinations(settings, report)
    if _check_endpoint_setting(settings, report):
        _check_destination(settings, report)
    return report.verdict()


def _check_names(report: Report) -> None:
    """Config file keys and SHIPPER_* variables that configure nothing (a misspelt key is
    otherwise silently ignored)."""
    try:
        unknown = unknown_names()
    except ConfigError:
        return  # an unreadable config file: reported when the settings are loaded
    for where, name, meant in unknown:
        if where == "config file":
            report.bad(f"config file key {name!r} is not a setting, so it is ignored"
                       + (f" (did you mean {meant!r}?)" if meant else ""),
                       f"rename it to {meant!r}" if meant else
                       "remove it (docs/configuration.md lists every key)")
        else:
            report.bad(f"environment variable {name} is not a setting, so it is ignored"
                       + (f" (did you mean {meant}?)" if meant else ""),
                       f"set {meant} instead" if meant else
                       "unset it (docs/configuration.md lists every variable)")


def _check_cache(settings: Settings, report: Report) -> None:
    spool = Spool.for_settings(settings)
    try:
        spool.ensure()
        # written and removed in tmp/, where no sync ever looks: nothing is ever sent
        probe = atomic_write(str(spool.root), TMP, "doctor-probe", b"{}")
        os.unlink(probe)
        report.ok(f"cache folder {spool.root} is private and writable")
    except OSError as exc:
        report.bad(f"cache folder {spool.root} is not usable: {exc.strerror or exc}",
                   "set cache_dir (SHIPPER_CACHE_DIR) to a folder you own, or fix this one")
    space = free_bytes(str(spool.root))
    if space is not None and space < LOW_SPACE:
        report.bad(f"only {space // (1024 * 1024)} MiB free under {spool.root}",
                   "free some space: events are dropped (and counted) when the disk is full")
    elif space is not None:
        report.ok(f"{space // (1024 * 1024):,} MiB free for the cache")


def _check_other_destinations(settings: Settings, report: Report) -> None:
    """Events recorded for a destination that is not the configured one: no sync sends
    them, so they would wait until pruned."""
    from .._cache._spool import elsewhere

    for spool, pending, dead in elsewhere(settings.cache_path,
                                          Spool.for_settings(settings).key):
        where = f"{spool.about.get('kind')} {spool.about.get('endpoint')}"
        report.bad(f"{pending + dead} event(s) wait for {where} (folder {spool.key}), which is "
                   "not the configured destination: a sync configured as this one does not "
                   "send them",
                   "if no program sends there any more, `shipper requeue --from "
                   f"{spool.key}` moves them to the configured one (ids unchanged)")


def _check_endpoint_setting(settings: Settings, report: Report) -> bool:
    """True when there is an http(s) endpoint worth talking to."""
    if settings.destination == "console":
        report.ok(f"destination: console: `shipper sync` and running clients print each batch "
                  f"on stderr, as {settings.console_as} would get it (nothing is sent)")
        return False
    if not settings.base_url:
        report.bad("no endpoint is set: events stay on disk",
                   "set SHIPPER_ENDPOINT or endpoint = \"https://...\" in config.toml "
                   "(try `shipper serve` for a local one)")
        return False
    if not settings.base_url.startswith(("http://", "https://")):
        report.bad(f"endpoint {public_endpoint(settings.endpoint)} is not an http(s) URL",
                   "use e.g. http://127.0.0.1:8053")
        return False
    if not settings.verify_tls:
        report.bad("TLS verification is off (verify_tls=false)",
                   "turn it back on unless you must")
    _check_endpoint_origin(settings, report)
    advice = path_advice(settings.destination, settings.endpoint)
    if advice:
        report.bad(f"endpoint {public_endpoint(settings.endpoint)}: {advice.split(':')[0]}",
                   advice.split(": ", 1)[1])
    return True


def _check_endpoint_origin(settings: Settings, report: Report) -> None:
    """Where the endpoint comes from, and (OTLP) whether the standard OpenTelemetry
    variables a user set are used: shipper's own settings come first, silently otherwise."""
    try:
        source = origin("endpoint")
    except ConfigError:
        return
    report.ok(f"endpoint {public_endpoint(settings.endpoint)} (from {source})")
    if settings.destination != "otlp":
        return
    for name in ("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        value = os.environ.get(name, "").strip()
        if value and source != name:
            report.bad(f"{name}={public_endpoint(value)} is not used: the endpoint comes from "
                       f"{source}, which comes before the OpenTelemetry variables",
                       f"to use {name}, take endpoint out of {source}; else unset {name}")
            break
    for name in ("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
        protocol = os.environ.get(name, "").strip()
        if protocol:
            if protocol.lower() not in OTLP_PROTOCOLS:
                report.bad(otlp_protocol_advice(protocol),
                           "export OTEL_EXPORTER_OTLP_PROTOCOL=http/json, with the endpoint on "
                           "the collector's OTLP/HTTP port (4318)")
            break


def _check_destination(settings: Settings, report: Report) -> None:
    """Check the destination the way it can be checked: its health probe, then what a
    delivery would do (an empty batch; for ClickHouse, the server, credentials and table)."""
    import httpx

    from .._cache._identity import anonymous_id
    from .._destinations._select import destination_for
    from .._transport import client_headers

    destination = destination_for(settings, anonymous_id(settings.cache_root))
    shown = public_endpoint(settings.endpoint)
    report.ok(f"destination: {destination.kind} at {shown}")
    from .._transport import make_client

    try:  # what a client builds first: its TLS context and its proxy
        make_client(settings, destination)
    except Exception as exc:  # noqa: BLE001 - any failure here is the user's to fix
        report.bad("cannot set up HTTP delivery: "
                   + settings.redact(f"{type(exc).__name__}: {exc}"),
                   "fix the variable it names (SSL_CERT_FILE, HTTPS_PROXY, ...); events "
                   "wait on disk meanwhile")
        return
    try:
        with httpx.Client(timeout=2.0, headers=client_headers(destination),
                          verify=settings.verify_tls, follow_redirects=False) as client:
            _check_health(client, destination, report)
            if destination.kind == "clickhouse":
                _check_clickhouse(client, destination, report)
            elif destination.kind == "webhook":
                report.ok("a webhook has no check that would not send something; `shipper "
                          "emit doctor.test` then `shipper sync` sends one real event")
            else:
                _check_empty_batch(client, destination, report)
    except httpx.HTTPError as exc:
        report.bad(f"cannot reach {shown}: {type(exc).__name__}",
                   "start the receiver, or check the endpoint, proxy and network")


def _check_health(client: httpx.Client, destination: Destination, report: Report) -> None:
    url = destination.health_url
    if url is None:
        report.ok("no health probe (health_path is off, or this destination has none): "
                  "the circuit breaker alone pauses delivery when the receiver fails")
        return
    from .._transport import without_credentials

    path = _path_of(url)
    target, auth = without_credentials(url)
    status = client.get(target, auth=auth).status_code
    if 200 <= status < 300:
        report.ok(f"health probe {path} answered {status}")
    elif status in (404, 405):
        report.bad(f"the health probe {path} does not exist there (HTTP {status}); delivery "
                   "goes on without it, but every probe is a wasted request",
                   'set health_path = "" (SHIPPER_HEALTH_PATH=) to turn the probe off, or '
                   "health_path to the receiver's real health path")
    else:
        report.bad(f"health probe {path} answered HTTP {status}: delivery waits until it "
                   "answers 2xx", "check the receiver, the endpoint URL and health_path")


def _path_of(url: str) -> str:
    """The path of a URL, for a finding (the endpoint's host, credentials and query are
    said elsewhere, or not at all)."""
    from urllib.parse import urlsplit

    return urlsplit(url).path or "/"


def _answer_of(destination: Destination, response: httpx.Response) -> Answer:
    from .._destinations._base import Reply

    return destination.read_reply(Reply(response.status_code, response.headers,
                                        response.content))


def _check_empty_batch(client: httpx.Client, destination: Destination,
                       report: Report) -> None:
    import time

    from .._transport import without_credentials

    empty = destination.batch_request([], time.time())
    url, auth = without_credentials(empty.url)
    response = client.request(empty.method, url, content=empty.content,
                              headers=empty.headers, auth=auth)
    path = _path_of(empty.url)
    status = response.status_code
    answer = _answer_of(destination, response)
    if status in (401, 403):
        report.bad(f"the receiver refused our credentials (HTTP {status})",
                   "set api_key (SHIPPER_API_KEY) to a valid key")
    elif answer.kind == "config":
        report.bad(f"{path}: {answer.detail}", "check the endpoint URL and destination")
    elif answer.kind == "transient":
        report.bad(f"{path} answered HTTP {status}: the receiver is failing",
                   "check the receiver; events wait on disk meanwhile")
    else:
        report.ok(f"{path} answers (HTTP {status} to an empty batch)")


def _check_clickhouse(client: httpx.Client, destination: Destination, report: Report) -> None:
    from .._destinations._clickhouse import COLUMNS, ClickHouse

    assert isinstance(destination, ClickHouse)  # noqa: S101 - chosen by kind above
    settings = destination.settings

    from .._transport import without_credentials

    def run(sql: str, body: bytes = b"") -> httpx.Response:
        request = destination.query(sql, body)
        url, auth = without_credentials(request.url)
        return client.request(request.method, url, content=request.content, auth=auth)

    version = run("SELECT version()")
    if version.status_code != 200:
        answer = _answer_of(destination, version)
        report.bad(f"ClickHouse refused `SELECT version()` as user {settings.clickhouse_user!r}"
                   f": {answer.detail}", "check clickhouse_user and api_key (the password)")
        return
    report.ok(f"ClickHouse {version.text.strip()} accepts user {settings.clickhouse_user!r}")
    exists = run(f"EXISTS TABLE {destination.table}")
    if exists.text.strip() != "1":
        report.ok(f"table {destination.table} does not exist yet: it is created (CREATE TABLE "
                  "IF NOT EXISTS) before the first delivery")
        return
    described = run(f"DESCRIBE TABLE {destination.table} FORMAT JSONEachRow")
    from .._json import loads

    types = {}
    for line in described.text.splitlines():
        try:
            column = loads(line)
        except ValueError:
            continue
        types[column.get("name")] = str(column.get("type"))
    wanted = {"id": "String", "event": "String", "timestamp": "DateTime",
              "timestamp_ms": "UInt", "properties": "String", "context": "String"}
    wrong = [f"{name} is {types.get(name, 'missing')} (wants {kind})"
             for name, kind in wanted.items() if not str(types.get(name, "")).startswith(kind)]
    if wrong:
        report.bad(f"table {destination.table} does not fit: " + "; ".join(wrong),
                   "fix the columns (see docs/destinations.md for the schema) or point "
                   "clickhouse_table at a new table")
        return
    insert = run(destination.insert_sql)  # an insert of nothing: proves the right to insert
    if insert.status_code == 200:
        report.ok(f"table {destination.table} has the columns {', '.join(COLUMNS)} and "
                  "accepts inserts")
    else:
        answer = _answer_of(destination, insert)
        report.bad(f"an empty insert into {destination.table} failed: {answer.detail}",
                   "grant this user INSERT on the table")
