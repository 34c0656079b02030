"""One HTTP exchange with the collector: build the body, send it, classify the answer."""

from __future__ import annotations

import time
import zlib
from typing import NamedTuple

import httpx

from ._backoff import parse_retry_after
from ._config import Settings
from ._event import rfc3339_ms
from ._version import __version__

GZIP_OVER = 1024
GZIP_LEVEL = 1  # chosen by measurement: see docs/performance.md
PROBE_TIMEOUT_S = 1.0

ACCEPTED = "accepted"
TRANSIENT = "transient"
TOO_LARGE = "too_large"
REFUSED = "refused"
CONFIG = "config"


class Answer(NamedTuple):
    kind: str
    status: int | None = None
    retry_after: float | None = None
    detail: str = ""


def batch_body(events: list[bytes], sent_at: float | None = None) -> bytes:
    """The request body: the events' own JSON bytes joined, never re-encoded."""
    stamp = rfc3339_ms(time.time() if sent_at is None else sent_at)
    return b'{"batch":[' + b",".join(events) + b'],"sent_at":"' + stamp.encode() + b'"}'


def gzip(data: bytes, level: int = GZIP_LEVEL) -> bytes:
    compressor = zlib.compressobj(level, zlib.DEFLATED, 31)
    return compressor.compress(data) + compressor.flush()


def classify(status: int, headers: httpx.Headers | None = None, body: str = "") -> Answer:
    """Map an HTTP status to what delivery does next (contract, wire-protocol section)."""
    if 200 <= status < 300:
        return Answer(ACCEPTED, status)
    if status in (408, 429) or status >= 500:
        retry_after = parse_retry_after(headers.get("retry-after")) if headers else None
        return Answer(TRANSIENT, status, retry_after, f"HTTP {status}")
    if status == 413:
        return Answer(TOO_LARGE, status, None, "HTTP 413")
    if status in (401, 403, 404, 407):
        what = {401: "the API key was refused", 403: "the API key is not allowed to send",
                404: "the endpoint has no /v1/batch (check the endpoint URL)",
                407: "a proxy asks for credentials"}[status]
        return Answer(CONFIG, status, None, f"HTTP {status}: {what}")
    # 400, 422 and any other 4xx: the collector refuses these events
    return Answer(REFUSED, status, None, f"HTTP {status}: {body[:200]}")


def make_headers(settings: Settings) -> dict[str, str]:
    headers = {"User-Agent": f"shipper/{__version__}", "Content-Type": "application/json"}
    if settings.api_key:
        headers["Authorization"] = f"Bearer {settings.api_key}"
    return headers


def make_client(
    settings: Settings, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """An AsyncClient with keep-alive, the contract's timeouts and our headers."""
    return httpx.AsyncClient(
        transport=transport,
        headers=make_headers(settings),
        timeout=httpx.Timeout(settings.timeout, connect=min(1.0, settings.timeout)),
        verify=settings.verify_tls,
        follow_redirects=False,
        trust_env=True,
    )


async def post_batch(client: httpx.AsyncClient, url: str, events: list[bytes],
                     timeout: float | None = None) -> Answer:
    """POST one batch, within ``timeout`` seconds if given (else the client's); every
    failure becomes an Answer, nothing raises."""
    body = batch_body(events)
    headers = {}
    if len(body) > GZIP_OVER:
        body = gzip(body)
        headers["Content-Encoding"] = "gzip"
    limit = (httpx.Timeout(timeout, connect=min(1.0, timeout)) if timeout is not None
             else httpx.USE_CLIENT_DEFAULT)
    try:
        response = await client.post(url, content=body, headers=headers, timeout=limit)
    except httpx.TimeoutException as exc:
        return Answer(TRANSIENT, None, None, f"timeout ({type(exc).__name__})")
    except httpx.HTTPError as exc:
        return Answer(TRANSIENT, None, None, f"network error ({type(exc).__name__})")
    except Exception as exc:  # noqa: BLE001 - a broken transport must not reach the caller
        return Answer(TRANSIENT, None, None, f"unexpected error ({type(exc).__name__})")
    text = response.text if response.status_code >= 400 else ""
    return classify(response.status_code, response.headers, text)


async def probe(client: httpx.AsyncClient, url: str) -> tuple[bool, str]:
    """GET the health path: any 2xx within a second means healthy."""
    try:
        response = await client.get(url, timeout=PROBE_TIMEOUT_S)
    except httpx.HTTPError as exc:
        return False, f"health probe failed: {type(exc).__name__}"
    except Exception as exc:  # noqa: BLE001 - as above
        return False, f"health probe failed: {type(exc).__name__}"
    if 200 <= response.status_code < 300:
        return True, f"HTTP {response.status_code}"
    return False, f"health probe answered HTTP {response.status_code}"
