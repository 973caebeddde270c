"""The invocation event's shape, checked before any record is read.

A Kinesis event source mapping always sends ``{"Records": [...]}`` with ``kinesis.sequenceNumber`` on
every record. Anything else (a console test event, a wrong trigger, a hand-made retry) cannot be
answered record by record: ``batchItemFailures`` names records by sequence number, and Lambda treats an
empty or unknown ``itemIdentifier`` as a failure of the whole batch anyway. So a malformed event fails the
whole invocation with one line; Lambda then retries it, bisects it (BisectBatchOnFunctionError) and
finally hands it to the on-failure destination. Messages name positions and types, never values.
"""

from __future__ import annotations

from typing import Any


class MalformedEvent(Exception):
    """The event is not a Kinesis event source mapping event; the whole invocation fails."""


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def records_of(event: Any) -> list[dict[str, Any]]:
    """The event's Kinesis records, checked (see check_records)."""
    if not isinstance(event, dict):
        raise MalformedEvent(f"malformed event: the event is {_kind(event)}, not an object with Records")
    if "Records" not in event:
        raise MalformedEvent("malformed event: no Records (not a Kinesis event source mapping event)")
    return check_records(event["Records"])


def check_records(records: Any) -> list[dict[str, Any]]:
    """``records`` as a list of objects that each carry a non-empty ``kinesis.sequenceNumber`` string."""
    if not isinstance(records, list):
        raise MalformedEvent(f"malformed event: Records is {_kind(records)}, not a list")
    total = len(records)
    for number, record in enumerate(records, start=1):
        where = f"malformed event: record {number} of {total}"
        if not isinstance(record, dict):
            raise MalformedEvent(f"{where} is {_kind(record)}, not an object")
        kinesis = record.get("kinesis")
        if not isinstance(kinesis, dict):
            raise MalformedEvent(f"{where} has no kinesis object (got {_kind(kinesis)})")
        sequence_number = kinesis.get("sequenceNumber")
        if not isinstance(sequence_number, str) or not sequence_number.strip():
            got = "a blank string" if isinstance(sequence_number, str) else _kind(sequence_number)
            raise MalformedEvent(f"{where} has no kinesis.sequenceNumber string (got {got})")
    return records
