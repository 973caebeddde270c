"""What the mapping makes of one Segment call: a kept event, a drop under a named reason, or an
anonymous event whose user the run's identity links settle (identity.py).

This module must not import pyspark: the Lambda package ships it without Spark.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class DropReason(StrEnum):
    """Why an input record produced no interaction. Checked in this order; the first that applies wins."""

    BLANK_LINE = "blank_line"
    CORRUPT_RECORD = "corrupt_record"
    NOT_TRACK = "not_track"
    UNSUPPORTED_EVENT = "unsupported_event"
    MISSING_USER_ID = "missing_user_id"
    INVALID_USER_ID = "invalid_user_id"
    # No usable userId, a usable anonymousId without a stitch target, under ANONYMOUS_EVENTS=stitch.
    ANONYMOUS_USER = "anonymous_user"
    MISSING_ITEM_ID = "missing_item_id"
    INVALID_ITEM_ID = "invalid_item_id"
    MISSING_TIMESTAMP = "missing_timestamp"
    INVALID_TIMESTAMP = "invalid_timestamp"
    # Applied after all the above, across the whole run (batch) or invocation (Lambda).
    DUPLICATE_MESSAGE_ID = "duplicate_message_id"


class ProductSkip(StrEnum):
    """Why one entry of an order's products[] produced no row, while the order itself was kept."""

    MISSING_ITEM_ID = "product_missing_item_id"
    INVALID_ITEM_ID = "product_invalid_item_id"
    DUPLICATE_ITEM_ID = "product_duplicate_item_id"


class Identity(StrEnum):
    """Where a kept event's USER_ID came from. The values' text order is the de-duplication tie-break."""

    USER = "user"  # the call's own userId
    STITCHED = "stitched"  # the stitch target of its anonymousId
    ANONYMOUS = "anonymous"  # its anonymousId itself (ANONYMOUS_EVENTS=keep), or, streaming, no userId


@dataclass(frozen=True)
class MappedEvent:
    """A kept Segment call: one interaction per item (one item unless it was an order with products[])."""

    message_id: str | None
    anonymous_id: str | None
    # None only for an anonymous event on its way to PutEvents: sent under its sessionId alone.
    user_id: str | None
    event_type: str
    timestamp: int
    item_ids: tuple[str, ...]
    product_skips: dict[ProductSkip, int] = field(default_factory=dict)
    # One EVENT_VALUE text (None: no usable value) per item, when a value field is configured; else None.
    event_values: tuple[str | None, ...] | None = None
    identity: Identity = Identity.USER

    def interactions(self) -> list[tuple[Any, ...]]:
        """Rows in MappingConfig.csv_header order."""
        if self.event_values is None:
            return [(self.user_id, item, self.event_type, self.timestamp) for item in self.item_ids]
        return [
            (self.user_id, item, self.event_type, self.timestamp, value)
            for item, value in zip(self.item_ids, self.event_values, strict=True)
        ]


@dataclass(frozen=True)
class Dropped:
    reason: DropReason


@dataclass(frozen=True)
class Anonymous:
    """A supported call with no usable userId but a usable anonymousId (ANONYMOUS_EVENTS stitch or keep).

    ``outcome`` is what the later checks (items, timestamp) made of it, with no user yet (a MappedEvent's
    user_id is None); identity.resolve gives it its user, or drops it as anonymous_user.
    """

    anonymous_id: str
    outcome: MappedEvent | Dropped


Outcome = MappedEvent | Dropped | Anonymous
