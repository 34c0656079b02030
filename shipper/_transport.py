"""The HTTP I/O behind every destination: the client, one exchange, one health probe.

Nothing here knows a destination's format: it sends the `Request` a destination describes
and hands the `Reply` back to it. Every failure becomes an `Answer`; nothing raises.
"""

from __future__ import annotations

import functools
import os
import ssl
from collections.abc import Callable

import httpx

from . import _log
from ._deliver import TRANSIENT, Answer
from ._destinations._base import Destination, Reply, Request, answer_for_status, secret_header
from ._version import __version__

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Awaitable

    from ._config import Settings

PROBE_TIMEOUT_S = 1.0
CONNECT_TIMEOUT_S = 1.0
ABSENT = "absent"  # the probe found no health endpoint (404/405), not a sick service


# What the first request imports, beyond what ``import httpx`` did: httpcore's connection
# and its asyncio backend (anyio), h11; and ours. `preload` imports them where a client is
# made, so that its delivery thread never imports while the caller records: an import holds
# the interpreter lock for milliseconds at a time (their code runs, or is compiled), and a
# track() waiting for the lock waits that long (bench/gil.py found 77 modules, 30-80 ms).
_FIRST_REQUEST_MODULES = (
    "h11", "httpcore._async.connection_pool", "httpcore._async.http11",
    "httpcore._backends.auto", "httpcore._backends.anyio", "anyio._backends._asyncio",
    "anyio.streams.tls", "anyio.to_thread", "certifi", "resource", "shipper._redact",
)


def preload(settings: Settings) -> None:
    """Import now what delivering to ``settings``' destination will import (best effort:
    a module that is not there is one the installed httpx does not use)."""
    import importlib

    from ._destinations._select import destination_for

    for name in _FIRST_REQUEST_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    destination_for(settings)


def client_headers(destination: Destination) -> dict[str, str]:
    """The headers every request carries: our User-Agent and the destination's own."""
    return {"User-Agent": f"shipper/{__version__}", **destination.client_headers()}


def _giving_way_hooks(give_way: Callable[[], None]
                      ) -> dict[str, list[Callable[..., Awaitable[None]]]]:
    """httpx event hooks that call ``give_way`` before each request is sent and once its
    answer's headers are read: the Python httpx runs for an exchange is cut in two more
    slices, between which a delivery thread stands aside for a recording caller (see
    `shipper._engine.Engine.give_way`). Hooks, not a transport wrapped around httpx's
    own: a client given a transport no longer takes its proxies from the environment."""

    async def stand_aside(_message: object) -> None:
        give_way()

    return {"request": [stand_aside], "response": [stand_aside]}


def make_client(
    settings: Settings,
    destination: Destination,
    transport: httpx.AsyncBaseTransport | None = None,
    *,
    give_way: Callable[[], None] | None = None,
) -> httpx.AsyncClient:
    """An AsyncClient with keep-alive, the contract's timeouts and the destination's
    headers; with the ``debug`` setting, each request and answer is logged. ``give_way``:
    called around each exchange (`_giving_way_hooks`)."""
    hooks = _debug_hooks(settings) if settings.debug else {}
    if give_way is not None:
        for name, calls in _giving_way_hooks(give_way).items():
            hooks[name] = [*calls, *hooks.get(name, [])]
    return httpx.AsyncClient(
        transport=transport,
        headers=client_headers(destination),
        timeout=_timeout(settings.timeout),
        verify=tls_verification(settings),
        follow_redirects=False,
        trust_env=True,
        event_hooks=hooks,
    )


_SHOWN_BODY = 500  # characters of an answer's body a debug line shows


def _debug_hooks(settings: Settings) -> dict[str, list[Callable[..., Awaitable[None]]]]:
    """httpx event hooks that log each request (method, URL, headers, body size) and each
    answer (status, the start of its body) at debug level, with the API key and the
    configured header values hidden."""
    _log.show_debug_on_stderr()

    def headers_of(message: httpx.Request | httpx.Response) -> str:
        # credentials may be encoded (HTTP Basic): hide such headers whole
        return ", ".join(f"{k}: {'<hidden>' if secret_header(k) else v}"
                         for k, v in message.headers.items())

    async def on_request(request: httpx.Request) -> None:
        _log.debug("%s", settings.redact(
            f"request {request.method} {request.url} [{headers_of(request)}] "
            f"{len(request.content)} bytes"))

    async def on_response(response: httpx.Response) -> None:
        # hidden first, then cut: a secret cut in two would no longer be found
        body = (await response.aread())[:_SHOWN_BODY * 16].decode("utf-8", "replace")
        _log.debug("%s", settings.redact(
            f"answer {response.status_code} to {response.request.method} "
            f"{response.request.url}: ")
            + settings.redact(body)[:_SHOWN_BODY])

    return {"request": [on_request], "response": [on_response]}


_PROXY_VARIABLES = ("https_proxy", "http_proxy", "all_proxy")


def tls_verification(settings: Settings) -> bool | ssl.SSLContext:
    """What the client verifies TLS with. An ``http://`` endpoint reached without a proxy
    makes no TLS connection: it gets a context with no certificates loaded (building the
    default one costs a short-lived program 50-100 ms), which would refuse any TLS peer."""
    if not settings.verify_tls:
        return False
    endpoint = (settings.endpoint or "").lower()
    proxied = any(os.environ.get(name) or os.environ.get(name.upper())
                  for name in _PROXY_VARIABLES)
    if endpoint.startswith("http://") and not proxied:
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    return True


def _timeout(seconds: float) -> httpx.Timeout:
    return httpx.Timeout(seconds, connect=min(CONNECT_TIMEOUT_S, seconds))


@functools.lru_cache(maxsize=32)
def without_credentials(url: str) -> tuple[httpx.URL, httpx.BasicAuth | None]:
    """A URL's ``user:password@`` part as the Basic authentication it stands for, and the
    URL without it: what is sent is the same, but the password stays out of every line that
    names the URL (httpx's own request log among them). The destinations' own
    authentication is in their headers, so no other authentication is lost.

    Remembered for the few URLs a process sends to (both results are immutable): parsing
    a URL is a tenth of what httpx spends on a request."""
    target = httpx.URL(url)
    if not target.userinfo:
        return target, None
    auth = httpx.BasicAuth(target.username, target.password)
    return target.copy_with(username=None, password=None), auth


async def exchange(client: httpx.AsyncClient, request: Request,
                   timeout: float | None = None) -> Reply | Answer:
    """Send ``request`` within ``timeout`` seconds if given (else the client's). A network
    failure or timeout comes back as a transient `Answer`, never an exception."""
    limit = _timeout(timeout) if timeout is not None else httpx.USE_CLIENT_DEFAULT
    try:
        url, auth = without_credentials(request.url)
        response = await client.request(request.method, url, content=request.content or None,
                                        headers=request.headers, timeout=limit, auth=auth)
    except httpx.TimeoutException as exc:
        return Answer(TRANSIENT, None, None, f"timeout ({type(exc).__name__})")
    except httpx.HTTPError as exc:
        return Answer(TRANSIENT, None, None, f"network error ({type(exc).__name__})")
    except Exception as exc:  # noqa: BLE001 - a broken transport must not reach the caller
        return Answer(TRANSIENT, None, None, f"unexpected error ({type(exc).__name__})")
    return Reply(response.status_code, response.headers, response.content)


async def send(client: httpx.AsyncClient, destination: Destination, request: Request,
               timeout: float | None = None) -> Answer:
    """One exchange, read by the destination that made the request (or answered by it,
    where it is its own receiver). What the answer says (a receiver may quote the request
    back, credentials included) is redacted here, before anything logs, prints or keeps
    it."""
    reply: Reply | Answer | None = destination.answer_here(request)
    if reply is None:
        reply = await exchange(client, request, timeout)
    redact = destination.settings.redact
    if isinstance(reply, Answer):
        answer = reply
    else:
        try:
            answer = destination.read_reply(reply._replace(redact=redact))
        except Exception:  # noqa: BLE001 - a reader's bug must not turn an answer into one
            _log.exception("reading a %s answer (HTTP %d) failed", destination.kind,
                           reply.status)
            answer = _by_status(reply._replace(redact=redact))
    return answer._replace(detail=redact(answer.detail))


def _by_status(reply: Reply) -> Answer:
    """What an answer means by its status alone (its reader failed on the rest)."""
    try:
        return answer_for_status(reply, not_found="the endpoint has no such path")
    except Exception:  # noqa: BLE001 - a header no reader takes: retried, never believed
        return Answer(TRANSIENT, reply.status, None, f"HTTP {reply.status}: an answer that "
                                                     "could not be read")


async def probe(client: httpx.AsyncClient, destination: Destination) -> tuple[bool | str, str]:
    """GET the destination's health URL: any 2xx within a second means healthy (True); 404
    or 405 means there is no health endpoint there (`ABSENT`); anything else, unhealthy
    (False). The detail is redacted like an answer's."""
    url = destination.health_url or destination.base_url
    reply = await exchange(client, Request("GET", url, {}), PROBE_TIMEOUT_S)
    if isinstance(reply, Answer):
        verdict: bool | str = False
        detail = f"health probe failed: {reply.detail}"
    elif 200 <= reply.status < 300:
        verdict, detail = True, f"HTTP {reply.status}"
    elif reply.status in (404, 405):
        verdict, detail = ABSENT, f"the health probe {url} answered HTTP {reply.status}"
    else:
        verdict, detail = False, f"health probe answered HTTP {reply.status}"
    return verdict, destination.settings.redact(detail)
