"""Lambda entry point (``personalize_stream.handler.handler``) for a Kinesis event source mapping.

Each record is one raw Segment call (Segment's Amazon Kinesis destination). Records are mapped with the
batch job's rules, de-duplicated by messageId, grouped by (userId, sessionId) into PutEvents calls of at
most 10 events and sent. The response lists the records to retry (ReportBatchItemFailures); everything
else is sent, or skipped and counted under a named reason.

With PUT_USERS=true, identify calls also give user records: merged per user (user_updates.py) and sent
to PutUsers after the events (user_sender.py), with the same retry, isolation and deadline rules.

No call starts once less than DEADLINE_MARGIN_MS of the invocation is left (deadline.py); the records not
sent by then are in the response like failures. A misconfigured function or a malformed event fails the whole
invocation with one JSON log line (settings.py, event_shape.py).
"""

from __future__ import annotations

from collections import Counter
from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from segment_personalize.rules import DropReason

from .batching import plan_calls, unique_events
from .deadline import NO_DEADLINE, Deadline
from .event_shape import MalformedEvent, check_records, records_of
from .logs import log
from .records import receive
from .sender import log_outcomes, send_all
from .settings import ConfigError, StreamSettings
from .user_sender import UsersResult, log_user_outcomes, send_users
from .user_updates import plan_users

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
    records: list[Any], settings: StreamSettings, client: Any, deadline: Deadline = NO_DEADLINE
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Records -> (the Lambda response, the invocation's counts)."""
    received = receive(check_records(records), settings.mapping)
    for item in received:
        if item.skip_reason is not None:
            level = "INFO" if item.skip_reason in FILTERED else "WARNING"
            log(level, "record skipped", sequenceNumber=item.sequence_number, reason=item.skip_reason)
    kept, duplicates = unique_events(received)
    sessions = plan_calls(kept)
    results = send_all(client, settings.tracking_id, sessions, settings.max_concurrency, deadline)
    log_outcomes(results)
    users, users_summary = put_users(received, settings, client, deadline)

    position = {item.sequence_number: item.index for item in received}
    held_back = [event for result in results for event in (*(e for e, _ in result.failed), *result.unsent)]
    held_numbers = {event.sequence_number for event in held_back}
    held_numbers.update(number for user in users.held_back for number in user.sequence_numbers)
    failed_records = sorted(held_numbers, key=position.__getitem__)
    unsent = [event for result in results for event in result.unsent]
    if unsent:
        log(
            "WARNING",
            "deadline reached",
            margin_ms=settings.deadline_margin_ms,
            unsent_events=len(unsent),
            unsent_records=len({event.sequence_number for event in unsent}),
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
        "unsent_events": len(unsent),
        **users_summary,
        "failed_records": len(failed_records),
    }
    response = {"batchItemFailures": [{"itemIdentifier": number} for number in failed_records]}
    return response, summary


def put_users(
    received: list[Any], settings: StreamSettings, client: Any, deadline: Deadline
) -> tuple[UsersResult, dict[str, Any]]:
    """PUT_USERS: the identify calls' merged user records to PutUsers, and the summary's users counts.

    An identify record stays counted as skipped (not_track) for events; these counts say what it gave
    as a user. Its record is in batchItemFailures when its user failed or was left unsent.
    """
    if not settings.put_users:
        return UsersResult(), {}
    plan = plan_users(received, settings.user_traits)
    for reason, count in plan.skipped.items():
        log("INFO", "identify skipped", reason=reason, records=count)
    result = send_users(client, settings.users_dataset_arn, plan.calls, settings.max_concurrency, deadline)
    log_user_outcomes(result)
    if result.unsent:
        log(
            "WARNING",
            "deadline reached",
            margin_ms=settings.deadline_margin_ms,
            unsent_users=len(result.unsent),
        )
    return result, {
        "identify_records": plan.identify_records,
        "users_skipped": plan.skipped,
        "trait_values_not_fitting": plan.values_not_fitting,
        "users": sum(len(call) for call in plan.calls),
        "put_users_calls": result.calls,
        "sent_users": result.sent,
        "rejected_users": len(result.rejected),
        "failed_users": len(result.failed),
        "unsent_users": len(result.unsent),
    }


def handler(event: Any, context: Any) -> dict[str, Any]:
    try:
        settings = StreamSettings.from_env()
        records = records_of(event)
        deadline = Deadline.of(context, settings.deadline_margin_ms)
        if not deadline.allows():
            raise ConfigError(
                f"the invocation starts with less than DEADLINE_MARGIN_MS ({settings.deadline_margin_ms} ms) "
                "left: raise the function's timeout or lower DEADLINE_MARGIN_MS"
            )
        response, summary = process(records, settings, personalize_client(settings), deadline)
    except ConfigError as error:
        log("ERROR", "configuration error", error=str(error))
        raise
    except MalformedEvent as error:
        log("ERROR", "malformed event", error=str(error))
        raise
    log("INFO", "invocation", **summary)
    return response
