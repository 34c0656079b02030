"""``shipper doctor``: check configuration, the cache folder and the endpoint; say what to fix."""

from __future__ import annotations

import os
from typing import TextIO

from .._cache._spool import Spool
from .._config import Settings, config_file
from ._status import free_bytes, public_endpoint

LOW_SPACE = 100 * 1024 * 1024


class Report:
    """The doctor's findings, written as they are made."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.problems = 0

    def ok(self, msg: str) -> None:
        self.out.write(f"  ok    {msg}\n")

    def bad(self, msg: str, fix: str) -> None:
        self.problems += 1
        self.out.write(f"  FIX   {msg}\n        -> {fix}\n")

    def verdict(self) -> int:
        self.out.write("all good\n" if self.problems == 0
                       else f"{self.problems} thing(s) to fix\n")
        return 0 if self.problems == 0 else 1


def doctor(settings: Settings, out: TextIO) -> int:
    report = Report(out)
    out.write(f"shipper doctor\n  config file: {config_file(os.environ)}\n")
    if settings.disabled:
        report.bad("shipper is disabled: nothing is recorded",
                   "unset DO_NOT_TRACK / SHIPPER_DISABLED, or disabled=false in config.toml")
    _check_cache(settings, report)
    if _check_endpoint_setting(settings, report):
        _check_destination(settings, report)
    return report.verdict()


def _check_cache(settings: Settings, report: Report) -> None:
    spool = Spool(settings.cache_path)
    try:
        spool.ensure()
        probe = spool.write([b'{"id":"doctor-probe"}'])
        probe.unlink()
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


def _check_endpoint_setting(settings: Settings, report: Report) -> bool:
    """True when there is an http(s) endpoint worth talking to."""
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
    return True


def _check_destination(settings: Settings, report: Report) -> None:
    import time

    import httpx

    from .._destinations._base import Reply
    from .._destinations._select import destination_for
    from .._transport import client_headers

    destination = destination_for(settings)
    shown = public_endpoint(settings.endpoint)
    base = settings.base_url or ""
    try:
        with httpx.Client(timeout=2.0, headers=client_headers(destination),
                          verify=settings.verify_tls) as client:
            if destination.health_url is not None:
                health = client.get(destination.health_url)
                if 200 <= health.status_code < 300:
                    report.ok(f"endpoint {shown} is healthy ({settings.health_path} answered "
                              f"{health.status_code})")
                else:
                    report.bad(f"{settings.health_path} at {shown} answered HTTP "
                               f"{health.status_code}", "check the endpoint URL and health_path")
            empty = destination.batch_request([], time.time())
            answer = client.request(empty.method, empty.url, content=empty.content,
                                    headers=empty.headers)
    except httpx.HTTPError as exc:
        report.bad(f"cannot reach {shown}: {type(exc).__name__}",
                   "start the collector, or check the endpoint, proxy and network")
        return
    path = empty.url[len(base):] or "/"
    if answer.status_code in (401, 403):
        report.bad(f"the collector refused our credentials (HTTP {answer.status_code})",
                   "set api_key (SHIPPER_API_KEY) to a valid key")
    elif answer.status_code == 404:
        report.bad(f"the collector has no {path} (HTTP 404)", "check the endpoint URL")
    else:
        reading = destination.read_reply(Reply(answer.status_code, answer.headers,
                                               answer.content))
        report.ok(f"{path} answers (HTTP {answer.status_code}, {reading.kind})")
