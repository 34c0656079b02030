"""``destination = "posthog"``: PostHog's capture API.

``POST {endpoint}/batch/`` with ``{"api_key": KEY, "batch": [...], "historical_migration":
false, "sent_at": ...}``, as PostHog's own Python SDK sends it. Each event's ``uuid`` is the
event id, which PostHog de-duplicates on. An event with no user id is sent with the cache's
anonymous id and ``$process_person_profile: false`` (what the SDK does for anonymous events).
"""

from __future__ import annotations

from .._event import rfc3339_ms
from .._kinds import BATCH_PATHS, POSTHOG, with_path
from ._base import Destination, Reply, Request, answer_for_status, parse_events, split_context

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .._deliver import Answer

BATCH_PATH = BATCH_PATHS[POSTHOG]


class PostHog(Destination):
    kind = "posthog"

    def batch_request(self, events: list[bytes], sent_at: float) -> Request:
        items = []
        for doc in parse_events(events):
            user, context = split_context(doc)
            properties = dict(doc.get("properties") or {})
            library = (doc.get("context") or {}).get("library") or {}
            properties["$lib"] = library.get("name", "shipper")
            properties["$lib_version"] = library.get("version", "")
            if not user:
                properties["$process_person_profile"] = False
            if context:
                properties.setdefault("context", context)
            items.append({
                "event": doc.get("event"),
                "distinct_id": user or self.anonymous_id,
                "properties": properties,
                "timestamp": doc.get("timestamp"),
                "uuid": doc.get("id"),
            })
        body = {"api_key": self.settings.api_key or "", "batch": items,
                "historical_migration": False, "sent_at": rfc3339_ms(sent_at)}
        return self.json_request(with_path(self.base_url, BATCH_PATH), body)

    def read_reply(self, reply: Reply) -> Answer:
        return answer_for_status(
            reply, not_found=self.not_found(f"the endpoint has no {BATCH_PATH} (check the "
                                            "endpoint URL)"))
