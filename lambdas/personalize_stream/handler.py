"""Lambda entry point (``personalize_stream.handler.handler``) for a Kinesis event source mapping.

Each record is one raw Segment call (Segment's Amazon Kinesis destination). Records are mapped with the
batch job's rules, de-duplicated by messageId, grouped by (userId, sessionId) into PutEvents calls of at
most 10 events and sent. The response lists the records to retry (ReportBatchItemFailures); everything
else is sent, or skipped and counted under a named reason.
"""

from __future__ import annotations

from collections import Counter
from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from segment_personalize.rules import DropReason

from .batching import plan_calls, unique_events
from .logs import log
from .records import receive
from .sender import log_outcomes, send_all
from .settings import StreamSettings

# Reasons that are ordinary filtering rather than bad data; logged at a lower level.
FILTERED = frozenset({DropReason.NOT_TRACK, DropReason.UNSUPPORTED_EVENT})


@cache
def personalize_client(settings: StreamSettings) -> Any:
    """One client per container: botocore's retry mode handles throttling and transient errors."""
    config = Config(
        retries={"mode": settings.retry_mode, "total_max_attempts": settings.max_attempts},
        max_pool_connections=settings.max_concurrency,
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
    )
    # The endpoint comes from the environment too (AWS_ENDPOINT_URL_PERSONALIZE_EVENTS), for local runs.
    return boto3.client("personalize-events", config=config)


def process(
    records: list[Any], settings: StreamSettings, client: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Records -> (the Lambda response, the invocation's counts)."""
    received = receive(records, settings.mapping)
    for item in received:
        if item.skip_reason is not None:
            level = "INFO" if item.skip_reason in FILTERED else "WARNING"
            log(level, "record skipped", sequenceNumber=item.sequence_number, reason=item.skip_reason)
    kept, duplicates = unique_events(received)
    sessions = plan_calls(kept)
    results = send_all(client, settings.tracking_id, sessions, settings.max_concurrency)
    log_outcomes(results)

    position = {item.sequence_number: item.index for item in received}
    failed_records = sorted(
        {event.sequence_number for result in results for event, _ in result.failed}, key=position.__getitem__
    )
    skipped = Counter(item.skip_reason for item in received if item.skip_reason is not None)
    summary = {
        "records": len(records),
        "kept_records": len(kept),
        "duplicate_message_id": duplicates,
        "skipped": dict(sorted(skipped.items())),
        "sessions": len(sessions),
        "events": sum(len(call.events) for calls in sessions for call in calls),
        "calls": sum(result.calls for result in results),
        "sent_events": sum(result.sent for result in results),
        "rejected_events": sum(len(result.rejected) for result in results),
        "failed_events": sum(len(result.failed) for result in results),
        "failed_records": len(failed_records),
    }
    response = {"batchItemFailures": [{"itemIdentifier": number} for number in failed_records]}
    return response, summary


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings = StreamSettings.from_env()
    response, summary = process(event.get("Records", []), settings, personalize_client(settings))
    log("INFO", "invocation", **summary)
    return response
