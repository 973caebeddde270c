"""Send planned PutUsers calls, with the events' rules (sender.py).

Retries of throttling and transient errors are botocore's. A call refused as invalid is retried one
user at a time, so one bad user is isolated and dropped (rejected) while the others are sent; any other
final error fails the call's users, whose records go back to Lambda. Users are independent (each one is
in one call only), so a failed call does not hold back the others. Once the deadline margin is reached
no call starts: the remaining users are unsent, and go back to Lambda like failures.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .deadline import NO_DEADLINE, Deadline, DeadlineReached, deadline_hooks
from .logs import log
from .sender import _error_code, _is_invalid_input
from .user_updates import UserUpdate


@dataclass
class UsersResult:
    calls: int = 0
    sent: int = 0
    rejected: list[tuple[UserUpdate, str]] = field(default_factory=list)
    failed: list[tuple[UserUpdate, str]] = field(default_factory=list)
    unsent: list[UserUpdate] = field(default_factory=list)

    def add(self, other: UsersResult) -> None:
        self.calls += other.calls
        self.sent += other.sent
        self.rejected.extend(other.rejected)
        self.failed.extend(other.failed)
        self.unsent.extend(other.unsent)

    @property
    def held_back(self) -> list[UserUpdate]:
        """The users whose records go back to Lambda for a retry."""
        return [*(user for user, _ in self.failed), *self.unsent]


def send_call(
    client: Any, dataset_arn: str, users: tuple[UserUpdate, ...], deadline: Deadline = NO_DEADLINE
) -> UsersResult:
    result = UsersResult()

    def put(batch: tuple[UserUpdate, ...]) -> None:
        if not deadline.allows():
            raise DeadlineReached("the invocation's deadline margin was reached before this call")
        result.calls += 1
        client.put_users(datasetArn=dataset_arn, users=[user.payload for user in batch])

    try:
        put(users)
        result.sent += len(users)
        return result
    except DeadlineReached:
        result.unsent.extend(users)
        return result
    except (ClientError, BotoCoreError) as error:
        if not _is_invalid_input(error):
            result.failed.extend((user, _error_code(error)) for user in users)
            return result
    # One user of the call is invalid: send them one by one so only the bad ones are dropped.
    for index, user in enumerate(users):
        try:
            put((user,))
            result.sent += 1
        except DeadlineReached:
            result.unsent.extend(users[index:])
            return result
        except (ClientError, BotoCoreError) as error:
            target = result.rejected if _is_invalid_input(error) else result.failed
            target.append((user, _error_code(error)))
    return result


def send_users(
    client: Any,
    dataset_arn: str,
    calls: list[tuple[UserUpdate, ...]],
    max_concurrency: int,
    deadline: Deadline = NO_DEADLINE,
) -> UsersResult:
    total = UsersResult()
    if not calls:
        return total

    def send(users: tuple[UserUpdate, ...]) -> UsersResult:
        return send_call(client, dataset_arn, users, deadline)

    with deadline_hooks(client, deadline):
        if max_concurrency <= 1 or len(calls) <= 1:
            results = [send(users) for users in calls]
        else:
            with ThreadPoolExecutor(max_workers=min(max_concurrency, len(calls))) as pool:
                results = list(pool.map(send, calls))
    for result in results:
        total.add(result)
    return total


def log_user_outcomes(result: UsersResult) -> None:
    # Sequence numbers and error codes only: a user id is personal data.
    for level, message, users in (
        ("WARNING", "user rejected", result.rejected),
        ("ERROR", "user failed", result.failed),
    ):
        for user, code in users:
            log(level, message, sequenceNumbers=list(user.sequence_numbers), error=code)
