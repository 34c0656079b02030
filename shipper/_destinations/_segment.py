"""``destination = "segment"``: the Segment-compatible HTTP Tracking API, which Segment,
RudderStack, Jitsu, Customer.io and others accept.

``POST {endpoint}/v1/batch`` with HTTP Basic auth (the write key as user name, an empty
password) and ``{"batch": [...], "sentAt": ..., "writeKey": ...}``, as Segment's own Python
SDK sends it. Each event becomes a ``track`` item whose ``messageId`` is the event id, which
Segment de-duplicates on. Limits: 32 KB an event (enforced when recorded), 500 KB a request
and 2,500 events a batch (split before sending).
"""

from __future__ import annotations

import base64

from .._event import rfc3339_ms
from .._kinds import BATCH_PATHS, SEGMENT, with_path
from ._base import Destination, Reply, Request, answer_for_status, parse_events, split_context

TYPE_CHECKING = False
if TYPE_CHECKING:
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

    def batch_request(self, events: list[bytes], sent_at: float) -> Request:
        items = []
        for doc in parse_events(events):
            user, context = split_context(doc)
            library = (doc.get("context") or {}).get("library")
            if library is not None:
                context["library"] = library
            items.append({
                "type": "track",
                "event": doc.get("event"),
                "properties": doc.get("properties") or {},
                "timestamp": doc.get("timestamp"),
                "messageId": doc.get("id"),
                "userId": user,
                "anonymousId": None if user else self.anonymous_id,
                "context": context,
                "integrations": {},
            })
        body = {"batch": items, "sentAt": rfc3339_ms(sent_at)}
        if self.settings.api_key:
            body["writeKey"] = self.settings.api_key
        return self.json_request(with_path(self.base_url, BATCH_PATH), body)

    def read_reply(self, reply: Reply) -> Answer:
        return answer_for_status(
            reply, not_found=self.not_found(f"the endpoint has no {BATCH_PATH} (check the "
                                            "endpoint URL)"))
