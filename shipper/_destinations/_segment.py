"""``destination = "segment"``: the Segment-compatible HTTP Tracking API, which Segment,
RudderStack, Jitsu, Customer.io and others accept.

``POST {endpoint}/v1/batch`` with HTTP Basic auth (the write key as user name, an empty
password) and ``{"batch": [...], "sentAt": ..., "writeKey": ...}``, as Segment's own Python
SDK sends it. Each event becomes a ``track`` item whose ``messageId`` is the event id, which
Segment de-duplicates on; the events of `identify`, `group` and `alias` (``$identify``,
``$group``, ``$alias``) become items of those types, as the SDK's calls of those names send
them. Limits: 32 KB an event (enforced when recorded), 500 KB a request
and 2,500 events a batch (split before sending).
"""

from __future__ import annotations

import base64

from .._event import rfc3339_ms
from .._kinds import BATCH_PATHS, SEGMENT, with_path
from ._base import (
    Destination,
    Reply,
    Request,
    Unsendable,
    answer_for_status,
    call_fields,
    parse_events,
    split_context,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .._deliver import Answer

BATCH_PATH = BATCH_PATHS[SEGMENT]


class Segment(Destination):
    kind = "segment"

    def client_headers(self) -> dict[str, str]:
        headers = super().client_headers()
        key = self.settings.api_key
        if key:
            token = base64.b64encode(f"{key}:".encode()).decode("ascii")
            headers["Authorization"] = f"Basic {token}"
        return headers

    def translate(self, events: list[bytes], sent_at: float) -> list[Any]:
        return [self.item(i, doc) for i, doc in enumerate(parse_events(events))]

    def item(self, index: int, doc: dict[str, Any]) -> dict[str, Any]:
        """One event as the item of a batch that Segment's own SDK sends for that call:
        ``track``, or ``identify``, ``group`` and ``alias`` for the events of those
        calls (whose other properties Segment has no place for)."""
        user, context = split_context(doc)
        library = (doc.get("context") or {}).get("library")
        if library is not None:
            context["library"] = library
        call, fields, properties = call_fields(doc)
        item: dict[str, Any] = {"type": call}
        if call == "track":
            item["event"] = doc.get("event")
            item["properties"] = properties
        elif call == "group":
            if fields["group_id"] is None:
                raise Unsendable(index, "a $group event without its $group_id")
            item["groupId"] = fields["group_id"]
        elif call == "alias":
            if fields["previous_id"] is None or not user:
                raise Unsendable(index, "an $alias event without its user or $previous_id")
            item["previousId"] = fields["previous_id"]
        if call in ("identify", "group"):
            item["traits"] = fields["traits"]
        if call == "identify" and not user:
            raise Unsendable(index, "an $identify event without its user")
        item.update({
            "timestamp": doc.get("timestamp"),
            "messageId": doc.get("id"),
            "userId": user,
            "anonymousId": None if user or call == "alias" else self.anonymous_id,
            "context": context,
            "integrations": {},
        })
        return item

    def batch_request(self, events: list[bytes], sent_at: float) -> Request:
        body: dict[str, Any] = {"batch": self.translate(events, sent_at),
                                "sentAt": rfc3339_ms(sent_at)}
        if self.settings.api_key:
            body["writeKey"] = self.settings.api_key
        return self.json_request(with_path(self.base_url, BATCH_PATH), body)

    def read_reply(self, reply: Reply) -> Answer:
        return answer_for_status(
            reply, not_found=self.not_found(f"the endpoint has no {BATCH_PATH} (check the "
                                            "endpoint URL)"))
