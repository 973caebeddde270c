"""Identify calls -> PutUsers calls: one merged record per user, at most 10 users per call.

Pure data in, data out; user_sender.py does the I/O. PutUsers *replaces* a user's whole record, so
several identify calls of one user in one invocation are merged into one record first: per trait, the
latest fitting value (metadata.latest_values, the batch job's Users rule), and the union of the traits
that have one. A trait no identify call of this invocation carries is not sent, and Personalize drops
it from the record (README, "Streaming users").

An identify call is read with the batch job's rules: its top-level ``traits`` (users.identify_traits),
its ``userId`` (ids.classify_id; anonymous users have no Users record), its time (timestamps). One that
cannot give a record is skipped under a named reason.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from segment_personalize.ids import classify_id, spark_text
from segment_personalize.json_lines import parse_line
from segment_personalize.metadata import Record, latest_values
from segment_personalize.personalize_schema import Column
from segment_personalize.rules import DropReason
from segment_personalize.timestamps import TIMESTAMP_FIELDS, parse_timestamp
from segment_personalize.users import IDENTIFY_TYPE, identify_traits

from .records import Received

MAX_USERS_PER_CALL = 10  # PutUsers' users limit


class UserSkip:
    """Why an identify call gave no user record (the summary's users_skipped keys)."""

    NO_TRAITS = "no_traits"  # traits absent or not an object
    MISSING_USER_ID = "missing_user_id"
    INVALID_USER_ID = "invalid_user_id"
    MISSING_TIMESTAMP = "missing_timestamp"
    INVALID_TIMESTAMP = "invalid_timestamp"
    NO_FITTING_TRAIT = "no_fitting_trait"  # none of the configured traits fits, for the user as a whole


@dataclass(frozen=True)
class UserUpdate:
    """One user's merged record and the Kinesis records (identify calls) it came from."""

    sequence_numbers: tuple[str, ...]
    payload: dict[str, str]  # PutUsers' User: userId and properties (a JSON object's text)


@dataclass(frozen=True)
class UserPlan:
    calls: list[tuple[UserUpdate, ...]]
    identify_records: int
    skipped: dict[str, int]  # identify records per UserSkip reason
    values_not_fitting: int


def property_key(column_name: str) -> str:
    """The properties key of a Users schema field: Personalize wants its camel case
    (``NUMBER_OF_VIDEOS_WATCHED`` -> ``numberOfVideosWatched``, ``plan`` -> ``plan``). A name already in
    camel case (no ``_``, not all capitals) keeps its inner capitals: ``lifetimeValue``."""
    if "_" not in column_name and not column_name.isupper():
        return column_name[:1].lower() + column_name[1:]
    first, *rest = column_name.lower().split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


def _first_present(event: dict[str, Any], names: tuple[str, ...]) -> Any:
    return next((event[name] for name in names if event.get(name) is not None), None)


def identify_record(text: str) -> tuple[Record | None, str | None]:
    """(record, None) for an identify call that may give a user record; (None, reason) for one that
    cannot; (None, None) for any other call."""
    try:
        event = parse_line(text)
    except (ValueError, RecursionError):
        return None, None  # corrupt: already counted for events
    if not isinstance(event, dict) or spark_text(event.get("type")) != IDENTIFY_TYPE:
        return None, None
    traits = identify_traits(event)
    if traits is None:
        return None, UserSkip.NO_TRAITS
    user_id, problem = classify_id(event.get("userId"))
    if user_id is None:
        return None, UserSkip.MISSING_USER_ID if problem == "missing" else UserSkip.INVALID_USER_ID
    raw_time = _first_present(event, TIMESTAMP_FIELDS)
    if raw_time is None:
        return None, UserSkip.MISSING_TIMESTAMP
    timestamp = parse_timestamp(raw_time)
    if timestamp is None:
        return None, UserSkip.INVALID_TIMESTAMP
    return (user_id, timestamp, traits), None


def plan_users(received: Sequence[Received], columns: Sequence[Column]) -> UserPlan:
    """The invocation's identify calls -> PutUsers calls (users in order of first appearance)."""
    records: list[Record] = []
    sources: dict[str, list[str]] = {}
    skipped: dict[str, int] = {}
    identify = 0
    for item in received:
        # An identify call is skipped for events as not_track; nothing else can be one.
        if item.skip_reason != DropReason.NOT_TRACK.value or item.text is None:
            continue
        record, reason = identify_record(item.text)
        if record is None and reason is None:
            continue
        identify += 1
        if record is None:
            assert reason is not None
            skipped[reason] = skipped.get(reason, 0) + 1
            continue
        records.append(record)
        sources.setdefault(record[0], []).append(item.sequence_number)
    table = latest_values(records, columns)
    updates = []
    for user_id, numbers in sources.items():
        row = table.rows.get(user_id)
        if row is None:
            skipped[UserSkip.NO_FITTING_TRAIT] = skipped.get(UserSkip.NO_FITTING_TRAIT, 0) + len(numbers)
            continue
        # Schema order, so that a payload does not depend on the order traits arrived in.
        properties = {property_key(c.name): row[c.name] for c in table.columns if c.name in row}
        payload = {"userId": user_id, "properties": json.dumps(properties, ensure_ascii=False)}
        updates.append(UserUpdate(tuple(numbers), payload))
    calls = [tuple(updates[i : i + MAX_USERS_PER_CALL]) for i in range(0, len(updates), MAX_USERS_PER_CALL)]
    return UserPlan(calls, identify, dict(sorted(skipped.items())), table.values_not_fitting)
