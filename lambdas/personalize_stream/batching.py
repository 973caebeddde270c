"""Mapped events -> PutEvents calls: one session's events in order, at most 10 per call.

Pure data in, data out; the sender does the I/O. Grouping by (userId, sessionId) in chunks of 10 is the
minimum number of calls the API allows: every call carries one user and one session.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from segment_personalize.rules import MappedEvent, dedupe

from .records import Received

MAX_EVENTS_PER_CALL = 10  # PutEvents' eventList limit
MAX_EVENT_ID_LENGTH = 256


@dataclass(frozen=True)
class Outgoing:
    """One PutEvents event and the Kinesis record it came from."""

    sequence_number: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Call:
    user_id: str | None  # None: an anonymous session, sent under its sessionId alone
    session_id: str
    events: tuple[Outgoing, ...]


def unique_events(received: list[Received]) -> tuple[list[Received], int]:
    """Records whose event survives messageId de-duplication (as the batch job does), and how many did not."""
    mapped = [r.event for r in received if r.event is not None]
    kept, duplicates = dedupe(mapped)
    kept_ids = {id(event) for event in kept}
    return [r for r in received if r.event is not None and id(r.event) in kept_ids], duplicates


def event_ids(event: MappedEvent, sequence_number: str) -> list[str]:
    """Personalize de-duplicates on eventId, so an order's products each get their own (stable) one.

    A Segment call without a messageId gets one from its Kinesis sequence number, which is stable
    across Lambda's retries of the same record.
    """
    base = event.message_id or f"kinesis-{sequence_number}"
    count = len(event.item_ids)
    suffix_length = 0 if count == 1 else len(f"#{count}")
    if len(base) + suffix_length > MAX_EVENT_ID_LENGTH:
        base = hashlib.sha256(base.encode("utf-8")).hexdigest()
    if count == 1:
        return [base]
    return [f"{base}#{n}" for n in range(1, count + 1)]


def sent_at(timestamp: int) -> datetime | int:
    """An aware datetime: botocore takes it as is, where an int costs a local-time-zone conversion per event.

    Years outside 1..9999 stay an int, which botocore refuses (ParamValidationError): such an event is
    isolated and rejected like any other invalid one.
    """
    try:
        return datetime.fromtimestamp(timestamp, UTC)
    except (OverflowError, ValueError, OSError):
        return timestamp


def outgoing(received: Received) -> list[Outgoing]:
    event = received.event
    assert event is not None
    when = sent_at(event.timestamp)
    # PutEvents' eventValue is a Float: the EVENT_VALUE text (values.py) as a number, only when usable.
    values = event.event_values or (None,) * len(event.item_ids)
    ids = event_ids(event, received.sequence_number)
    return [
        Outgoing(
            received.sequence_number,
            {
                "eventId": event_id,
                "eventType": event.event_type,
                "itemId": item_id,
                "sentAt": when,
                **({} if value is None else {"eventValue": float(value)}),
            },
        )
        for event_id, item_id, value in zip(ids, event.item_ids, values, strict=True)
    ]


def session_of(event: MappedEvent) -> tuple[str | None, str]:
    """(userId, sessionId): the anonymousId is the session; an identified call without one is its own."""
    session = event.anonymous_id or event.user_id
    assert session is not None  # an event without a user always has an anonymousId (rules.map_event)
    return event.user_id, session


def plan_calls(kept: list[Received]) -> list[list[Call]]:
    """Per session (in order of first appearance), its calls in record order."""
    sessions: dict[tuple[str | None, str], list[Outgoing]] = {}
    for received in kept:
        assert received.event is not None
        sessions.setdefault(session_of(received.event), []).extend(outgoing(received))
    return [
        [
            Call(user_id, session_id, tuple(events[start : start + MAX_EVENTS_PER_CALL]))
            for start in range(0, len(events), MAX_EVENTS_PER_CALL)
        ]
        for (user_id, session_id), events in sessions.items()
    ]
