"""The Users and Items datasets of a whole batch run, in pure Python: the reference the Spark job's
(spark/transform.py, spark/users.py, spark/items.py) is tested against, line by line.

- **Users**: every parseable ``identify`` call with a traits object (users.identify_traits) and a valid
  timestamp (the interactions' timestamp rule) is a record of its user: its usable userId; with none,
  under ANONYMOUS_EVENTS stitch its anonymousId's stitch target, under keep the target or else the
  anonymousId itself (identity.py: the same run-wide links as the interactions). An invalid userId, or
  no user found, makes no record.
- **Items**: every event kept as an interaction (identity settled) is a record of each of its items
  (items.item_records), *before* messageId de-duplication: Segment's copies of one messageId are
  redeliveries of one call, so they add the same records, and taking them all keeps the Items
  independent of which copy de-duplication writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from segment_personalize import rules
from segment_personalize.identity import AnonymousEvents, Targets, links, resolve
from segment_personalize.ids import classify_id
from segment_personalize.items import item_records, latest_item_properties
from segment_personalize.metadata import MetadataTable, Record
from segment_personalize.personalize_schema import Column
from segment_personalize.rules import Dropped, MappingConfig
from segment_personalize.timestamps import TIMESTAMP_FIELDS, parse_timestamp
from segment_personalize.users import identify_traits, latest_user_traits


def _timestamp(event: dict[str, Any]) -> int | None:
    raw = rules.first_present(event, TIMESTAMP_FIELDS)
    return None if raw is None else parse_timestamp(raw)


def user_record(event: Any, targets: Targets, mode: AnonymousEvents) -> Record | None:
    """The (user id, timestamp, traits) record of one parsed call, or None (module docstring)."""
    traits = identify_traits(event)
    if traits is None:
        return None
    timestamp = _timestamp(event)
    if timestamp is None:
        return None
    user, problem = classify_id(event.get("userId"))
    if problem == "invalid":
        return None
    if user is None:
        anonymous, _ = classify_id(event.get("anonymousId"))
        if anonymous is None or mode is AnonymousEvents.DROP:
            return None
        user = targets.targets.get(anonymous)
        if user is None and mode is AnonymousEvents.KEEP:
            user = anonymous
        if user is None:
            return None
    return (user, timestamp, traits)


def run_records(texts: Iterable[str], config: MappingConfig) -> tuple[list[Record], list[Record]]:
    """(user records, item records) of a run's lines, identity settled across all of them."""
    events = [rules.parse_call(text) for text in texts]
    parsed = [event for event in events if not isinstance(event, Dropped)]
    targets = Targets.of(link for event in parsed for link in links(event))
    users, items = [], []
    for event in parsed:
        record = user_record(event, targets, config.anonymous_events)
        if record is not None:
            users.append(record)
        outcome = resolve(rules.map_event(event, config), targets, config.anonymous_events)
        items.extend(item_records(event, config, outcome))
    return users, items


def run_metadata(
    texts: Iterable[str],
    config: MappingConfig,
    user_traits: Sequence[Column] = (),
    item_properties: Sequence[Column] = (),
) -> tuple[MetadataTable | None, MetadataTable | None]:
    """(Users, Items) of a run: the latest fitting value per id and column; None where not configured."""
    users, items = run_records(texts, config)
    return (
        latest_user_traits(users, user_traits) if user_traits else None,
        latest_item_properties(items, item_properties) if item_properties else None,
    )
