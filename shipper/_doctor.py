"""``shipper doctor``: check configuration, the cache folder and the endpoint; say what to fix."""

from __future__ import annotations

import os
from typing import TextIO

from ._config import Settings, config_file
from ._spool import Spool
from ._status import free_bytes, public_endpoint

LOW_SPACE = 100 * 1024 * 1024


def doctor(settings: Settings, out: TextIO) -> int:
    problems = 0

    def ok(msg: str) -> None:
        out.write(f"  ok    {msg}\n")

    def bad(msg: str, fix: str) -> None:
        nonlocal problems
        problems += 1
        out.write(f"  FIX   {msg}\n        -> {fix}\n")

    out.write(f"shipper doctor\n  config file: {config_file(os.environ)}\n")
    if settings.disabled:
        bad("shipper is disabled: nothing is recorded",
            "unset DO_NOT_TRACK / SHIPPER_DISABLED, or disabled=false in config.toml")
    spool = Spool(settings.cache_path)
    try:
        spool.ensure()
        probe = spool.write([b'{"id":"doctor-probe"}'])
        probe.unlink()
        ok(f"cache folder {spool.root} is private and writable")
    except OSError as exc:
        bad(f"cache folder {spool.root} is not usable: {exc.strerror or exc}",
            "set cache_dir (SHIPPER_CACHE_DIR) to a folder you own, or fix this one")
    space = free_bytes(str(spool.root))
    if space is not None and space < LOW_SPACE:
        bad(f"only {space // (1024 * 1024)} MiB free under {spool.root}",
            "free some space: events are dropped (and counted) when the disk is full")
    elif space is not None:
        ok(f"{space // (1024 * 1024):,} MiB free for the cache")
    if not settings.base_url:
        bad("no endpoint is set: events stay on disk",
            "set SHIPPER_ENDPOINT or endpoint = \"https://...\" in config.toml "
            "(try `shipper serve` for a local one)")
        return 1
    shown = public_endpoint(settings.endpoint)
    if not settings.base_url.startswith(("http://", "https://")):
        bad(f"endpoint {shown} is not an http(s) URL", "use e.g. http://127.0.0.1:8053")
        return 1
    if not settings.verify_tls:
        bad("TLS verification is off (verify_tls=false)", "turn it back on unless you must")
    import httpx

    from ._transport import make_headers

    try:
        with httpx.Client(timeout=2.0, headers=make_headers(settings),
                          verify=settings.verify_tls) as client:
            health = client.get(settings.base_url + settings.health_path)
            if 200 <= health.status_code < 300:
                ok(f"endpoint {shown} is healthy ({settings.health_path} answered "
                   f"{health.status_code})")
            else:
                bad(f"{settings.health_path} at {shown} answered HTTP {health.status_code}",
                    "check the endpoint URL and health_path")
            answer = client.post(settings.base_url + "/v1/batch",
                                 content=b'{"batch":[],"sent_at":"1970-01-01T00:00:00.000Z"}')
            if answer.status_code in (401, 403):
                bad(f"the collector refused our credentials (HTTP {answer.status_code})",
                    "set api_key (SHIPPER_API_KEY) to a valid key")
            elif answer.status_code == 404:
                bad("the collector has no /v1/batch (HTTP 404)", "check the endpoint URL")
            else:
                ok(f"/v1/batch answers (HTTP {answer.status_code})")
    except httpx.HTTPError as exc:
        bad(f"cannot reach {shown}: {type(exc).__name__}",
            "start the collector, or check the endpoint, proxy and network")
    out.write("all good\n" if problems == 0 else f"{problems} thing(s) to fix\n")
    return 0 if problems == 0 else 1
