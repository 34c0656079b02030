"""``destination = "webhook"``: any URL. ``POST {endpoint}`` exactly as given, the native
events as a JSON array (``webhook_format = "json"``) or JSON Lines (``"ndjson"``), with the
``headers`` setting. Vector's ``http_server``, Fluent Bit's ``http`` input, n8n and a user's
own service all take this.

The body is not compressed: not every receiver of a plain webhook inflates gzip.
"""

from __future__ import annotations

from ._base import Destination, Reply, Request, answer_for_status

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .._deliver import Answer


class Webhook(Destination):
    kind = "webhook"

    def batch_request(self, events: list[bytes], sent_at: float) -> Request:
        if self.settings.webhook_format == "ndjson":
            body = b"".join(event + b"\n" for event in events)
            content_type = "application/x-ndjson"
        else:
            body = b"[" + b",".join(events) + b"]"
            content_type = "application/json"
        return Request("POST", self.settings.endpoint or "", {"Content-Type": content_type},
                       body, len(body))

    def read_reply(self, reply: Reply) -> Answer:
        return answer_for_status(reply, not_found="the webhook URL does not exist")
