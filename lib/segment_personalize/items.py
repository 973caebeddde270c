"""The Items dataset: item properties from the events kept as interactions (pure Python: the reference
the Spark side is tested against).

Source, per item of a kept event (rules.map_event): for a single-product event, ``properties``; for an
order with ``products[]``, that item's product object at its *first appearance* in products[] (the
product whose id the interactions keep, as for EVENT_VALUE). Order-level properties are not an item's.
A product or properties sent as a string holding an object's JSON text are read as that object
(rules.as_object), as the interactions read them. Each configured property is fitted with
metadata.fit_value; the record's timestamp is the event's (rules' timestamp rule).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from segment_personalize import rules
from segment_personalize.metadata import MetadataTable, Record, latest_values
from segment_personalize.personalize_schema import Column
from segment_personalize.rules import MappedEvent, MappingConfig, Outcome

ITEMS_HEADER = "ITEM_ID"


def item_property_sources(
    event: Any, config: MappingConfig, outcome: Outcome | None = None
) -> tuple[tuple[str, dict[str, Any]], ...]:
    """(item id, property source object) for each item of the event's interactions; () if it is dropped.

    ``outcome``: the event's outcome once a run settled its identity (identity.resolve); by default
    the event's own, which under stitch leaves an anonymous event pending (no items yet)."""
    outcome = rules.map_event(event, config) if outcome is None else outcome
    if not isinstance(outcome, MappedEvent):
        return ()
    properties = rules.as_object(event.get("properties")) or {}
    products = rules.as_array(properties.get(rules.PRODUCTS_FIELD))
    if products is None:
        return ((outcome.item_ids[0], properties),)
    first: dict[str, dict[str, Any]] = {}
    for product in products:
        fields = rules.as_object(product) or {}
        item, _ = rules.first_usable_id(fields, config.item_id_fields)
        if item is not None and item not in first:
            first[item] = fields
    return tuple((item, first[item]) for item in outcome.item_ids)


def item_records(event: Any, config: MappingConfig, outcome: Outcome | None = None) -> list[Record]:
    """The event's (item id, timestamp, property source) records for latest_item_properties."""
    outcome = rules.map_event(event, config) if outcome is None else outcome
    if not isinstance(outcome, MappedEvent):
        return []
    sources = item_property_sources(event, config, outcome)
    return [(item, outcome.timestamp, fields) for item, fields in sources]


def latest_item_properties(records: Iterable[Record], columns: Sequence[Column]) -> MetadataTable:
    """(item id, timestamp, properties) records -> the latest fitting value per item and property."""
    return latest_values(records, columns)
