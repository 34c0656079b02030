"""Hiding the secrets of a configuration in any text before it is logged, printed or written.

A secret reaches a text in many forms: the API key as given, percent-encoded, inside a JSON
string (``/`` and ``"`` escaped), as HTTP Basic's base64 (Segment's write key, an endpoint's
``user:password``), the token of an ``Authorization: Bearer ...`` header on its own, an
endpoint's user name, password or query value as typed or as sent. `secret_forms` lists them
all; `Redactor` hides each of them, and, whatever their length, the user information of any
URL and the values of the endpoint's own query parameters.

Pure and standard library only; built once per configuration (`redactor_for`).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from functools import lru_cache
from urllib.parse import quote, unquote

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

HIDDEN = "<hidden>"
_SHORTEST = 4  # a shorter string is hidden only where it stands in a URL (see Redactor)
_TOKEN_WORD = 8  # a word of a header value this long is a secret on its own (a token)
_USERINFO = re.compile(r"(://)[^/\s@?#'\"<>]+@")


def _in_json(text: str) -> set[str]:
    """``text`` as a JSON string holds it, with ``/`` escaped or not (both are JSON)."""
    escaped = json.dumps(text)[1:-1]
    return {escaped, escaped.replace("/", "\\/")}


def variants(secret: str) -> list[str]:
    """A secret as given, percent-encoded, percent-decoded, and as a JSON string holds it
    (also a JSON string inside another, as a receiver quoting a request body writes it)."""
    found = {secret, quote(secret, safe=""), unquote(secret)}
    for form in list(found):
        for once in _in_json(form):
            found |= {once, *_in_json(once)}
    return [form for form in found if form]


def _basic(user: str, password: str | None) -> list[str]:
    """The base64 an HTTP Basic header carries for ``user`` (and ``password``)."""
    pairs = [f"{user}:{password}"] if password is not None else [f"{user}:", user]
    return [base64.b64encode(pair.encode()).decode() for pair in pairs]


def _header_parts(value: str) -> list[str]:
    """A header value, and the parts of it that are secrets alone: each long word (the token
    of ``Bearer <token>``), and what a Basic token decodes to."""
    parts = [value]
    for word in value.split():
        if len(word) < _TOKEN_WORD:
            continue
        parts.append(word)
        try:
            decoded = base64.b64decode(word, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            continue
        if decoded.isprintable() and ":" in decoded:
            parts += [piece for piece in decoded.split(":", 1) if len(piece) >= _SHORTEST]
    return parts


def url_secrets(url: str | None) -> list[str]:
    """The user name, password, query values and fragment of a URL, as typed and as sent,
    and the Basic token its user information becomes."""
    if not url:
        return []
    rest = url.partition("://")[2] if "://" in url else url
    authority_end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    userinfo, at, _ = rest[:authority_end].rpartition("@")
    found: list[str] = []
    if at:
        user, colon, password = userinfo.partition(":")
        found += [user, password]
        found += _basic(unquote(user), unquote(password) if colon else None)
    after = rest[authority_end:]
    query, _, fragment = after.partition("?")[2].partition("#") if "?" in after else (
        "", "", after.partition("#")[2])
    for part in query.split("&"):
        found.append(part.partition("=")[2])
    found.append(fragment)
    return [secret for secret in found if secret]


def query_names(url: str | None) -> list[str]:
    """The names of a URL's query parameters."""
    if not url or "?" not in url:
        return []
    query = url.partition("?")[2].split("#", 1)[0]
    return [part.partition("=")[0] for part in query.split("&") if "=" in part]


def secret_forms(api_key: str | None, headers: Iterable[str],
                 urls: Iterable[str | None]) -> list[str]:
    """Every form of every secret of a configuration, longest first."""
    found: list[str] = []
    if api_key:
        found += [api_key, *_basic(api_key, None)]
    for value in headers:
        found += _header_parts(value)
    for url in urls:
        found += url_secrets(url)
    forms = {form for secret in found for form in variants(secret)}
    return sorted((form for form in forms if len(form) >= _SHORTEST), key=len, reverse=True)


class Redactor:
    """``redactor(text)``: ``text`` with the secrets hidden (see the module doc)."""

    def __init__(self, forms: list[str], names: list[str]) -> None:
        self.forms = forms
        self.query = None
        if names:
            alternatives = "|".join(re.escape(name) for name in sorted(set(names)))
            self.query = re.compile(rf"([?&](?:{alternatives})=)[^&\s#'\"<>]+")

    def __call__(self, text: str) -> str:
        if not text:
            return text
        for form in self.forms:
            if form in text:
                text = text.replace(form, HIDDEN)
        text = _USERINFO.sub(rf"\1{HIDDEN}@", text)
        if self.query is not None:  # the endpoint's own query values, however short
            text = self.query.sub(rf"\1{HIDDEN}", text)
        return text


@lru_cache(maxsize=32)
def redactor_for(api_key: str | None, headers: tuple[str, ...],
                 urls: tuple[str | None, ...]) -> Redactor:
    """The redactor of a configuration's secrets (built once: it is asked for every
    answer)."""
    return Redactor(secret_forms(api_key, headers, urls),
                    [name for url in urls for name in query_names(url)])
