"""What every kind of destination is, as plain data and one small function: the
configuration and the hook path need it (health defaults, size limits, which cache folder an
event belongs to) without importing any destination's code."""

from __future__ import annotations

NATIVE = "shipper"
OTLP = "otlp"
SEGMENT = "segment"
POSTHOG = "posthog"
CLICKHOUSE = "clickhouse"
WEBHOOK = "webhook"
CONSOLE = "console"  # no receiver: each batch printed on stderr, as another kind would send it
KINDS = (NATIVE, OTLP, SEGMENT, POSTHOG, CLICKHOUSE, WEBHOOK, CONSOLE)
SENDING_KINDS = KINDS[:-1]  # what the console can show a batch as (console_as)

#: the health probe each kind has when ``health_path`` is not set (None: no probe)
DEFAULT_HEALTH_PATH = {NATIVE: "/health", CLICKHOUSE: "/ping"}

#: the receiver's own limit for one event (native JSON bytes), where it has one
MAX_EVENT_BYTES = {SEGMENT: 32 * 1024}

#: the receiver's own limit for one request body, before compression
MAX_REQUEST_BYTES = {SEGMENT: 500 * 1000, POSTHOG: 20 * 1024 * 1024,
                     OTLP: 20 * 1024 * 1024}

#: the most events one request may carry
MAX_BATCH_EVENTS = {SEGMENT: 2500}

OTLP_LOGS_PATH = "/v1/logs"

#: the path each kind adds to the endpoint for its batches (the rest post to it as given)
BATCH_PATHS = {NATIVE: "/v1/batch", SEGMENT: "/v1/batch", POSTHOG: "/batch/",
               OTLP: OTLP_LOGS_PATH}
WEBHOOK_FORMATS = ("json", "ndjson")
OTLP_PROTOCOLS = ("http/json", "http/protobuf")
CONSOLE_FORMATS = ("text", "json")


def identity(kind: str, base_url: str | None, otlp_logs_endpoint: str | None,
             database: str, table: str) -> str | None:
    """What tells one destination from another of its kind: where its batches go, and for
    ClickHouse the table. Events and health state are kept apart by it (not by the key, so a
    rotated key still delivers the events recorded before). None without an endpoint; the
    console needs none."""
    if kind == CONSOLE:
        return CONSOLE
    if not base_url:
        return None
    if kind == OTLP:
        return otlp_logs_url(base_url, otlp_logs_endpoint)
    if kind == CLICKHOUSE:
        return f"{base_url}/{database}.{table}"
    return base_url


def otlp_logs_url(base_url: str, logs_endpoint: str | None) -> str:
    """Where OTLP logs go: ``OTEL_EXPORTER_OTLP_LOGS_ENDPOINT`` as given (a bare host gets
    ``/``), else the endpoint with ``/v1/logs`` added to its path."""
    if logs_endpoint:
        rest = logs_endpoint.split("://", 1)[-1]
        return logs_endpoint if "/" in rest.split("?", 1)[0] else with_path(logs_endpoint, "/")
    return with_path(base_url, OTLP_LOGS_PATH)


def with_path(url: str, path: str, query: str = "") -> str:
    """``url`` with ``path`` added to the end of its path, before any query string it has
    (``https://host/in?token=T`` + ``/v1/logs`` is ``https://host/in/v1/logs?token=T``),
    and ``query`` (encoded already) added to that query string."""
    head, _, own = url.partition("?")
    queries = "&".join(part for part in (own, query) if part)
    return head.rstrip("/") + path + (f"?{queries}" if queries else "")


def public_url(url: str) -> str:
    """``url`` without its ``user:password@`` part, query string and fragment, safe to show
    (``http://host:9?token=T`` too, whose query follows the host without a path)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url.split("?", 1)[0].split("#", 1)[0]
    end = len(rest)
    for mark in "/?#":
        found = rest.find(mark)
        if 0 <= found < end:
            end = found
    host = rest[:end].rsplit("@", 1)[-1]
    path = rest[end:].split("?", 1)[0].split("#", 1)[0]
    return f"{scheme}://{host}{path}"


def path_advice(kind: str, endpoint: str | None) -> str | None:
    """What to tell a user whose endpoint already ends with the path this kind adds itself
    (``http://host:8053/v1/batch``, which would post to ``/v1/batch/v1/batch``), or None."""
    own = BATCH_PATHS.get(kind)
    if not own or not endpoint:
        return None
    path = "/" + endpoint.split("://", 1)[-1].split("?", 1)[0].partition("/")[2]
    if path.rstrip("/").endswith(own.rstrip("/")):
        return (f"the endpoint ends with {own.rstrip('/')}, which shipper adds itself: drop "
                f"{own.rstrip('/')} from the endpoint")
    return None
