"""The invocation's deadline: no PutEvents or PutUsers attempt starts, nor retry sleeps, in the margin.

Lambda ends an invocation that outlives its timeout with no response at all: the whole batch is then
retried and the partial ``batchItemFailures`` are lost. So the function stops *starting* work while
``DEADLINE_MARGIN_MS`` is still left, and reports what it did not send.

Three checks keep every started piece of work inside the deadline:

* the sender checks before each call (cheap, and also covers botocore's Stubber, which answers before
  any HTTP is sent);
* a ``before-send`` hook checks before every HTTP attempt, retries included, after botocore's backoff
  sleep and after adaptive mode's rate limiter wait (it is registered last);
* a ``needs-retry`` hook (registered first) stops botocore's retries when the longest backoff botocore
  may sleep would end inside the margin.

So an attempt starts only with at least the margin left, lasts at most connect + read timeout, and no
sleep ends inside the margin: the margin must cover one attempt (validated in StreamSettings), not
``max_attempts`` of them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

SERVICE_EVENTS = "personalize-events"
# The operations the Lambda calls; each gets the retry veto.
OPERATIONS = ("PutEvents", "PutUsers")
INVALID_INPUT = "InvalidInputException"
# botocore's standard and adaptive modes sleep rand(0, 1) * min(scale * 2 ** (attempt - 1), 20) s
# before the next attempt, scale <= 1 s (1 s for throttling); newer versions add up to 5 s when the
# response carries x-amz-retry-after.
MAX_BACKOFF_S = 20.0
RETRY_AFTER_EXTRA_S = 5.0
RETRY_AFTER_HEADER = "x-amz-retry-after"


class DeadlineReached(Exception):
    """A PutEvents attempt was not started (or not retried): the invocation's margin was reached."""


@dataclass(frozen=True)
class Deadline:
    """Milliseconds left in the invocation (Lambda's ``context.get_remaining_time_in_millis``)."""

    remaining_ms: Callable[[], float] | None = None  # None: no deadline
    margin_ms: int = 0

    @classmethod
    def of(cls, context: Any, margin_ms: int) -> Deadline:
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        # No context (stream_local, benchmarks, tests calling the handler directly): no deadline.
        return cls(remaining if callable(remaining) else None, margin_ms)

    def allows(self, sleep_s: float = 0.0) -> bool:
        """Whether an attempt may start after sleeping ``sleep_s`` seconds."""
        if self.remaining_ms is None:
            return True
        return self.remaining_ms() - sleep_s * 1000 >= self.margin_ms


NO_DEADLINE = Deadline()


def longest_backoff_s(attempts: int, response: Any) -> float:
    """The longest sleep botocore may choose after ``attempts`` attempts (see MAX_BACKOFF_S)."""
    longest = min(2.0 ** (attempts - 1), MAX_BACKOFF_S)
    http_response = response[0] if isinstance(response, tuple) and response else None
    headers = getattr(http_response, "headers", None) or {}
    if RETRY_AFTER_HEADER in headers:
        longest += RETRY_AFTER_EXTRA_S
    return longest


def _outcome_is_final(response: Any, caught_exception: Any) -> bool:
    """A success, or an invalid event: botocore will not retry it, so the deadline has nothing to stop."""
    if caught_exception is not None or not isinstance(response, tuple) or len(response) != 2:
        return False
    http_response, parsed = response
    if getattr(http_response, "status_code", 500) < 300:
        return True
    return isinstance(parsed, dict) and parsed.get("Error", {}).get("Code") == INVALID_INPUT


def total_attempts(client: Any) -> int | None:
    """The client's configured attempts per call (first one included), if it says."""
    retries = getattr(getattr(getattr(client, "meta", None), "config", None), "retries", None) or {}
    if "total_max_attempts" in retries:
        return int(retries["total_max_attempts"])
    if "max_attempts" in retries:  # retries after the first
        return int(retries["max_attempts"]) + 1
    return None


@contextlib.contextmanager
def deadline_hooks(client: Any, deadline: Deadline) -> Iterator[None]:
    """Register the per-attempt and per-retry checks on ``client`` for one invocation's sends."""
    if deadline.remaining_ms is None:
        yield
        return
    max_attempts = total_attempts(client)

    def before_send(**_: Any) -> None:
        if not deadline.allows():
            raise DeadlineReached("the invocation's deadline margin was reached before this attempt")

    def needs_retry(attempts: int, response: Any = None, caught_exception: Any = None, **_: Any) -> None:
        if isinstance(caught_exception, DeadlineReached):
            raise caught_exception
        last = max_attempts is not None and attempts >= max_attempts
        if last or _outcome_is_final(response, caught_exception):
            return  # no retry will follow: the call ends with botocore's own answer
        # A retry might follow: raising is the one veto every botocore version honours (returning
        # False only stops a retry in recent ones). The call's records go back to Lambda either way.
        if not deadline.allows(longest_backoff_s(attempts, response)):
            raise DeadlineReached("the invocation's deadline margin leaves no time for a retry")

    events = client.meta.events
    send_id, retry_id = f"deadline-before-send-{id(deadline)}", f"deadline-needs-retry-{id(deadline)}"
    events.register_last("before-send", before_send, unique_id=send_id)
    retry_events = [f"needs-retry.{SERVICE_EVENTS}.{operation}" for operation in OPERATIONS]
    for name in retry_events:
        events.register_first(name, needs_retry, unique_id=f"{retry_id}-{name}")
    try:
        yield
    finally:
        events.unregister("before-send", unique_id=send_id)
        for name in retry_events:
            events.unregister(name, unique_id=f"{retry_id}-{name}")
