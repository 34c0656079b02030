"""The page ``shipper serve`` shows at ``GET /``: plain HTML, CSS and JavaScript shipped in
the package (``_assets/``), no build step, nothing fetched from elsewhere: it works offline.

The page holds no data: it reads ``/api/...`` (with the API key where the server asks for
one). It builds everything it shows with DOM calls that take text as text (``textContent``,
never ``innerHTML``), and the Content-Security-Policy below lets it run only its own script
and style: a value from an event can never become markup or code.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import NamedTuple

_ASSETS = Path(__file__).with_name("_assets")
_FILES = {"/": ("viewer.html", "text/html; charset=utf-8"),
          "/viewer.js": ("viewer.js", "text/javascript; charset=utf-8"),
          "/viewer.css": ("viewer.css", "text/css; charset=utf-8")}

HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; script-src 'self'; style-src 'self'; "
                                "img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
                                "form-action 'none'; frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


class Asset(NamedTuple):
    body: bytes
    content_type: str


@cache
def asset(path: str) -> Asset | None:
    """The file served at ``path`` (``/``, ``/viewer.js``, ``/viewer.css``), or None."""
    found = _FILES.get(path)
    if found is None:
        return None
    name, content_type = found
    return Asset((_ASSETS / name).read_bytes(), content_type)
