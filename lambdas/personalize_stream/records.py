"""Kinesis records -> mapped Segment calls, with every skipped record named and counted."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from segment_personalize.identity import streamed
from segment_personalize.rules import Dropped, MappedEvent, MappingConfig, decode_utf8, map_line

# Not a batch-job drop reason: the batch job reads text files and never sees Kinesis framing. Invalid
# UTF-8 is not undecodable: it is read as the batch job reads it (rules.decode_utf8).
UNDECODABLE_RECORD = "undecodable_record"


@dataclass(frozen=True)
class Received:
    """One Kinesis record's outcome: a mapped event, or the reason it was skipped."""

    index: int
    sequence_number: str
    event: MappedEvent | None
    skip_reason: str | None
    # The Segment call's text, kept for PutUsers (an identify call is skipped for events).
    text: str | None = None


def decode(record: Any) -> tuple[str, str | None]:
    """A Lambda Kinesis record -> (sequence number, the Segment call's JSON text, or None if undecodable).

    Undecodable: no base64 ``data``. Its bytes are read as text the way the batch job reads a line.
    """
    kinesis = record.get("kinesis") if isinstance(record, dict) else None
    if not isinstance(kinesis, dict):
        return "", None
    sequence_number = str(kinesis.get("sequenceNumber", ""))
    data = kinesis.get("data")
    if not isinstance(data, str):
        return sequence_number, None
    try:
        return sequence_number, decode_utf8(base64.b64decode(data, validate=True))
    except (binascii.Error, ValueError):
        return sequence_number, None


def receive(records: list[Any], config: MappingConfig) -> list[Received]:
    received = []
    for index, record in enumerate(records):
        sequence_number, text = decode(record)
        if text is None:
            received.append(Received(index, sequence_number, None, UNDECODABLE_RECORD))
            continue
        # No run-wide view here: an anonymous event is sent under its session (identity.streamed).
        outcome = streamed(map_line(text, config))
        if isinstance(outcome, Dropped):
            received.append(Received(index, sequence_number, None, outcome.reason.value, text))
        else:
            received.append(Received(index, sequence_number, outcome, None, text))
    return received
