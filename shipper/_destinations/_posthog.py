"""``destination = "posthog"``: PostHog's capture API.

``POST {endpoint}/batch/`` with ``{"api_key": KEY, "batch": [...], "historical_migration":
false, "sent_at": ...}``, as PostHog's own Python SDK sends it. Each event's ``uuid`` is the
event id, which PostHog de-duplicates on. An event with no user id is sent with the cache's
anonymous id and ``$process_person_profile: false`` (what the SDK does for anonymous events).
The events of `identify`, `group` and `alias` become PostHog's ``$identify``,
``$groupidentify`` and ``$create_alias``, shaped as posthog-python sends its person, group
and alias calls.
"""

from __future__ import annotations

from .._event import rfc3339_ms
from .._kinds import BATCH_PATHS, POSTHOG, with_path
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

BATCH_PATH = BATCH_PATHS[POSTHOG]
DEFAULT_GROUP_TYPE = "company"  # a group() without group_type: PostHog groups are typed


class PostHog(Destination):
    kind = "posthog"

    def translate(self, events: list[bytes], sent_at: float) -> list[Any]:
        return [self.item(i, doc) for i, doc in enumerate(parse_events(events))]

    def item(self, index: int, doc: dict[str, Any]) -> dict[str, Any]:
        """One event as posthog-python sends it: a captured event, or for the events of
        `identify`, `group` and `alias` PostHog's ``$identify`` (the traits in a top-level
        ``$set``, as the SDK's person calls send them), ``$groupidentify`` and
        ``$create_alias``."""
        user, context = split_context(doc)
        call, fields, properties = call_fields(doc)
        properties = dict(properties)
        library = (doc.get("context") or {}).get("library") or {}
        properties["$lib"] = library.get("name", "shipper")
        properties["$lib_version"] = library.get("version", "")
        if context:
            properties.setdefault("context", context)
        event = doc.get("event")
        distinct_id = user or self.anonymous_id
        extra: dict[str, Any] = {}
        if call == "track":
            if not user:
                properties["$process_person_profile"] = False
        elif call == "identify":
            if not user:
                raise Unsendable(index, "an $identify event without its user")
            event = "$identify"
            extra["$set"] = fields["traits"]
        elif call == "group":
            if fields["group_id"] is None:
                raise Unsendable(index, "a $group event without its $group_id")
            event = "$groupidentify"
            properties.update({"$group_type": fields["group_type"] or DEFAULT_GROUP_TYPE,
                               "$group_key": fields["group_id"],
                               "$group_set": fields["traits"]})
        else:  # alias: the previous id is the one sent, as posthog-python does
            previous = fields["previous_id"]
            if previous is None or not user:
                raise Unsendable(index, "an $alias event without its user or $previous_id")
            event = "$create_alias"
            distinct_id = previous
            properties.update({"distinct_id": previous, "alias": user})
        return {"event": event, "distinct_id": distinct_id, "properties": properties,
                "timestamp": doc.get("timestamp"), "uuid": doc.get("id"), **extra}

    def batch_request(self, events: list[bytes], sent_at: float) -> Request:
        body = {"api_key": self.settings.api_key or "", "batch": self.translate(events, sent_at),
                "historical_migration": False, "sent_at": rfc3339_ms(sent_at)}
        return self.json_request(with_path(self.base_url, BATCH_PATH), body)

    def read_reply(self, reply: Reply) -> Answer:
        return answer_for_status(
            reply, not_found=self.not_found(f"the endpoint has no {BATCH_PATH} (check the "
                                            "endpoint URL)"))
