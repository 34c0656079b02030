"""Why an event was lost on purpose: the reasons a client and ``drops.json`` count, spelled
once. Plain strings at run time (the hook path reads them), a closed vocabulary for mypy."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final, Literal

    DropReason = Literal["too_large", "before_send_error", "disk_unwritable", "internal_error",
                         "rejected_by_receiver", "refused_unwritable", "max_age", "max_cache",
                         "invalid"]

TOO_LARGE: Final = "too_large"  # over max_event_bytes (or the destination's own limit)
BEFORE_SEND_FAILED: Final = "before_send_error"  # the user's before_send raised
DISK_UNWRITABLE: Final = "disk_unwritable"  # the cache could not be written
INTERNAL_ERROR: Final = "internal_error"  # a bug of shipper's inside track()
REJECTED_BY_RECEIVER: Final = "rejected_by_receiver"  # accepted, but dropped (OTLP partial)
REFUSED_UNWRITABLE: Final = "refused_unwritable"  # refused, and the dead letter not written
MAX_AGE: Final = "max_age"  # pruned: older than max_age_days
MAX_CACHE: Final = "max_cache"  # pruned: past max_cache_mb
INVALID: Final = "invalid"  # a call whose user or group id is no id, or whose traits no dict
