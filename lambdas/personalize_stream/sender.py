"""Send planned PutEvents calls: sessions in parallel, each session's calls in order.

Retries of throttling and transient errors are botocore's (the client's retry mode); this module only
decides what a *final* error means: an invalid event is isolated and dropped, anything else fails its
records so Lambda retries them. Once the invocation's deadline margin is reached no call starts: the
rest of every session is left unsent, and goes back to Lambda like a failure.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from .batching import Call, Outgoing
from .deadline import NO_DEADLINE, Deadline, DeadlineReached, deadline_hooks
from .logs import log

INVALID_INPUT = "InvalidInputException"


@dataclass
class SessionResult:
    calls: int = 0
    sent: int = 0
    rejected: list[tuple[Outgoing, str]] = field(default_factory=list)
    failed: list[tuple[Outgoing, str]] = field(default_factory=list)
    # Not sent because the deadline margin was reached (before a call, an attempt or a retry).
    unsent: list[Outgoing] = field(default_factory=list)


def _error_code(error: Exception) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", "ClientError"))
    return type(error).__name__


def _is_invalid_input(error: Exception) -> bool:
    # A client-side validation failure is as deterministic as the service's: retrying cannot help.
    return isinstance(error, ParamValidationError) or _error_code(error) == INVALID_INPUT


def _put(client: Any, tracking_id: str, call: Call, events: tuple[Outgoing, ...]) -> None:
    # An anonymous session goes without a userId: Personalize credits its events to the user once an
    # event of the session carries both ids (identity.py).
    user = {} if call.user_id is None else {"userId": call.user_id}
    client.put_events(
        trackingId=tracking_id,
        **user,
        sessionId=call.session_id,
        eventList=[event.payload for event in events],
    )


def send_session(
    client: Any, tracking_id: str, calls: list[Call], deadline: Deadline = NO_DEADLINE
) -> SessionResult:
    result = SessionResult()

    def hold_back(code: str | None, events: tuple[Outgoing, ...], position: int) -> SessionResult:
        # Keep the session's order: these events and every later call go back to Lambda for a retry.
        held = [*events, *(event for later in calls[position + 1 :] for event in later.events)]
        if code is None:
            result.unsent.extend(held)
        else:
            result.failed.extend((event, code) for event in held)
        return result

    def put(call: Call, events: tuple[Outgoing, ...]) -> None:
        if not deadline.allows():
            raise DeadlineReached("the invocation's deadline margin was reached before this call")
        result.calls += 1
        _put(client, tracking_id, call, events)

    for position, call in enumerate(calls):
        try:
            put(call, call.events)
            result.sent += len(call.events)
            continue
        except DeadlineReached:
            return hold_back(None, call.events, position)
        except (ClientError, BotoCoreError) as error:
            if not _is_invalid_input(error):
                return hold_back(_error_code(error), call.events, position)
            if len(call.events) == 1:
                result.rejected.append((call.events[0], _error_code(error)))
                continue
        # One bad event fails the whole call: send them one by one to drop only that one.
        for index, event in enumerate(call.events):
            try:
                put(call, (event,))
                result.sent += 1
            except DeadlineReached:
                return hold_back(None, call.events[index:], position)
            except (ClientError, BotoCoreError) as error:
                if not _is_invalid_input(error):
                    return hold_back(_error_code(error), call.events[index:], position)
                result.rejected.append((event, _error_code(error)))
    return result


def send_all(
    client: Any,
    tracking_id: str,
    sessions: list[list[Call]],
    max_concurrency: int,
    deadline: Deadline = NO_DEADLINE,
) -> list[SessionResult]:
    send = partial(send_session, client, tracking_id, deadline=deadline)
    with deadline_hooks(client, deadline):
        if max_concurrency <= 1 or len(sessions) <= 1:
            return [send(calls) for calls in sessions]
        with ThreadPoolExecutor(max_workers=min(max_concurrency, len(sessions))) as pool:
            return list(pool.map(send, sessions))


def log_outcomes(results: list[SessionResult]) -> None:
    for result in results:
        for level, message, events in (
            ("WARNING", "event rejected", result.rejected),
            ("ERROR", "event failed", result.failed),
        ):
            for event, code in events:
                log(
                    level,
                    message,
                    sequenceNumber=event.sequence_number,
                    eventId=event.payload["eventId"],
                    error=code,
                )
