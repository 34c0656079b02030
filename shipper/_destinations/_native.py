"""``destination = "shipper"``: shipper's own wire protocol (``POST /v1/batch``), the default.

The body embeds each event's own JSON bytes, never re-encoded:
``{"batch": [EVENT, ...], "sent_at": "<RFC 3339>"}``.
"""

from __future__ import annotations

from .._event import rfc3339_ms
from .._kinds import BATCH_PATHS, NATIVE, with_path
from ._base import Destination, Reply, Request, answer_for_status, compressed

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .._deliver import Answer

BATCH_PATH = BATCH_PATHS[NATIVE]


def batch_body(events: list[bytes], sent_at: float) -> bytes:
    """The request body: the events' own JSON bytes joined, never re-encoded."""
    return (b'{"batch":[' + b",".join(events) + b'],"sent_at":"'
            + rfc3339_ms(sent_at).encode() + b'"}')


class Native(Destination):
    kind = "shipper"

    def client_headers(self) -> dict[str, str]:
        headers = super().client_headers()
        if self.settings.api_key:
            headers["Authorization"] = f"Bearer {self.settings.api_key}"
        return headers

    def batch_request(self, events: list[bytes], sent_at: float) -> Request:
        headers = {"Content-Type": "application/json"}
        body = batch_body(events, sent_at)
        return Request("POST", with_path(self.base_url, BATCH_PATH), headers,
                       compressed(body, headers), len(body))

    def read_reply(self, reply: Reply) -> Answer:
        return answer_for_status(
            reply, not_found=self.not_found(f"the endpoint has no {BATCH_PATH} (check the "
                                            "endpoint URL)"))
