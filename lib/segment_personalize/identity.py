"""Identity: which user an event belongs to, when the call carries only Segment's anonymousId.

The ANONYMOUS_EVENTS setting (``drop``, ``stitch`` -- the default --, ``keep``) decides what becomes of a
supported call with no usable userId and a usable anonymousId (rules.map_event returns it as
``Anonymous``). A *link* joins a usable anonymousId to a usable userId: every parsed call carrying both
makes one, whatever its type or fate, and an ``alias`` call links its usable previousId too. An
anonymousId linked to exactly one userId has that user as its *stitch target*; linked to several (a
shared device) it is ambiguous and has none.

Batch (a run sees all its input): ``stitch`` gives an anonymous event its target's USER_ID, or drops it as
anonymous_user; ``keep`` falls back to the anonymousId itself. Streaming (one Kinesis batch at a time)
has no run-wide view: in ``stitch`` and ``keep`` an anonymous event is sent with its anonymousId as the
sessionId and no userId, and Personalize credits it to the user once an event carries both ids.
docs/mapping-contract.md states how the two correspond; the Spark side is spark/identity.py.

This module must not import pyspark: the Lambda package ships it without Spark.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from segment_personalize.ids import classify_id, spark_text
from segment_personalize.outcomes import Anonymous, Dropped, DropReason, Identity, MappedEvent, Outcome

ALIAS_TYPE = "alias"
ANONYMOUS_ID, USER_ID, PREVIOUS_ID = "anonymousId", "userId", "previousId"

Link = tuple[str, str]  # (anonymousId, userId)


class AnonymousEvents(StrEnum):
    DROP = "drop"  # no usable userId: missing_user_id, whatever the anonymousId
    STITCH = "stitch"  # the anonymousId's stitch target, else anonymous_user
    KEEP = "keep"  # the stitch target, else the anonymousId as the user


DEFAULT_ANONYMOUS_EVENTS = AnonymousEvents.STITCH


def parse_anonymous_events(text: str | None) -> AnonymousEvents:
    """The ANONYMOUS_EVENTS setting (None or blank: the default); ValueError if it names no mode."""
    value = (text or "").strip().lower() or DEFAULT_ANONYMOUS_EVENTS.value
    try:
        return AnonymousEvents(value)
    except ValueError:
        modes = ", ".join(mode.value for mode in AnonymousEvents)
        raise ValueError(f"anonymous_events must be one of {modes}, got {text!r}") from None


def links(event: Any) -> tuple[Link, ...]:
    """The links one parsed call makes (none for a line that is not a JSON object)."""
    if not isinstance(event, dict):
        return ()
    user, _ = classify_id(event.get(USER_ID))
    if user is None:
        return ()
    found = []
    anonymous, _ = classify_id(event.get(ANONYMOUS_ID))
    if anonymous is not None:
        found.append((anonymous, user))
    if spark_text(event.get("type")) == ALIAS_TYPE:
        previous, _ = classify_id(event.get(PREVIOUS_ID))
        if previous is not None and previous != anonymous:
            found.append((previous, user))
    return tuple(found)


@dataclass(frozen=True)
class Targets:
    """The run's stitch targets: anonymousId -> its one linked userId; and the ambiguous anonymousIds."""

    targets: dict[str, str]
    ambiguous: frozenset[str]

    @classmethod
    def of(cls, run_links: Iterable[Link]) -> Targets:
        users: dict[str, set[str]] = {}
        for anonymous, user in run_links:
            users.setdefault(anonymous, set()).add(user)
        return cls(
            targets={a: next(iter(u)) for a, u in users.items() if len(u) == 1},
            ambiguous=frozenset(a for a, u in users.items() if len(u) > 1),
        )


NO_TARGETS = Targets({}, frozenset())


def resolve(outcome: Outcome, targets: Targets, mode: AnonymousEvents) -> MappedEvent | Dropped:
    """A batch outcome with its user settled: an Anonymous one gets its stitch target (or, under keep, its
    anonymousId) -- or, under stitch without a target, is dropped as anonymous_user. The user check comes
    before the item and timestamp checks, so that drop wins over theirs."""
    if not isinstance(outcome, Anonymous):
        return outcome
    target = targets.targets.get(outcome.anonymous_id)
    if target is None and mode is not AnonymousEvents.KEEP:
        return Dropped(DropReason.ANONYMOUS_USER)
    inner = outcome.outcome
    if isinstance(inner, Dropped):
        return inner
    if target is not None:
        return replace(inner, user_id=target, identity=Identity.STITCHED)
    return replace(inner, user_id=outcome.anonymous_id, identity=Identity.ANONYMOUS)


def streamed(outcome: Outcome) -> MappedEvent | Dropped:
    """A stream outcome: an Anonymous event goes without a userId (its anonymousId is the sessionId)."""
    if not isinstance(outcome, Anonymous):
        return outcome
    inner = outcome.outcome
    return inner if isinstance(inner, Dropped) else replace(inner, identity=Identity.ANONYMOUS)
