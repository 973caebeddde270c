"""The mapping rules from a raw Segment call to Personalize interactions, declared once.

Two engines apply these rules: plain Python (``map_line`` / ``map_event``, used by the Lambda) and
Spark native expressions (``segment_personalize.spark.transform``, used by the Glue job). Everything
that decides an outcome -- patterns, limits, field names, drop reasons, their order -- lives here, and
the Spark side builds its expressions from these declarations. ``docs/mapping-contract.md`` states the
contract in prose; ``tests/test_parity_engines.py`` and ``tests/test_parity_stream.py`` prove the
engines agree.

Why the rules are phrased on *text*: the Glue job reads every field as a Spark ``StringType``, and
Spark 3.5 renders a non-string JSON token into text before we see it (``1e3`` -> ``1000.0``,
``true`` -> ``true``, an object -> its compact JSON). The job cannot see token types, so an id is
judged by the text; Python, which does see types, must reach the same verdict. Hence: an integer id is
its digits (Spark and Python render integers identically), and any *text* that looks like Spark's
rendering of a float, a boolean, an object or an array is rejected whether it arrived as that token or
as a string.

This module must not import pyspark: the Lambda package ships it without Spark.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from segment_personalize.event_types import parse_supported_events
from segment_personalize.identity import (
    DEFAULT_ANONYMOUS_EVENTS,
    AnonymousEvents,
    Link,
    Targets,
    links,
    parse_anonymous_events,
    resolve,
)

# Re-exported: the rules' callers (the Spark side, the Lambda, tests) read these from here.
from segment_personalize.ids import (  # noqa: F401
    CONTAINER_DELIMITERS,
    CONTROL_CHARACTER_BODY,
    FLOAT_TEXT_BODY,
    MAX_ID_LENGTH,
    NON_SCALAR_TEXTS,
    REPLACEMENT_CHARACTER,
    classify_id,
    first_usable_id,
    has_unwritable_character,
    is_blank,
    java_anchored,
    looks_non_scalar,
    spark_text,
)
from segment_personalize.json_lines import (  # noqa: F401
    JSON_WHITESPACE,
    MAX_NESTING_DEPTH,
    MAX_NUMBER_DIGITS,
    decode_utf8,
    parse_line,
)
from segment_personalize.outcomes import (  # noqa: F401
    Anonymous,
    Dropped,
    DropReason,
    Identity,
    MappedEvent,
    Outcome,
    ProductSkip,
)
from segment_personalize.timestamps import TIMESTAMP_BODY, TIMESTAMP_FIELDS, parse_timestamp  # noqa: F401
from segment_personalize.values import EVENT_VALUE_COLUMN, event_value, validate_value_field

CSV_HEADER = ("USER_ID", "ITEM_ID", "EVENT_TYPE", "TIMESTAMP")
DEFAULT_SUPPORTED_EVENTS = ("Product Added", "Product Clicked", "Order Completed")
ITEM_ID_FIELDS = ("sku", "product_id")
DEFAULT_ITEM_ID_FIELD = "sku"
TRACK_TYPE = "track"
# PutEvents caps eventType at 256 characters. An interactions dataset holds at most 10 event types plus
# metadata fields; the CSV written here has no metadata fields.
MAX_EVENT_TYPE_LENGTH = 256
MAX_EVENT_TYPES = 10
PRODUCTS_FIELD = "products"

# A byte-order mark opening a line is skipped, as Hadoop's line reader already skips one at the start of a
# file: editors and Windows tools write it, and it is no part of the JSON.
BOM = "\ufeff"


# Spark's JSON reader options that make it accept exactly what Python's json module (as used in
# parse_line) accepts; Spark's defaults allow single quotes and NaN/Infinity literals.
SPARK_JSON_OPTIONS = {
    "mode": "PERMISSIVE",
    "allowSingleQuotes": "false",
    "allowNonNumericNumbers": "false",
}


# --- Configuration -------------------------------------------------------------------------------


@dataclass(frozen=True)
class MappingConfig:
    """What the mapping reads and writes; validated against Personalize's limits when built."""

    # Segment event names (exact, case-sensitive) that become interactions.
    supported_events: tuple[str, ...] = DEFAULT_SUPPORTED_EVENTS
    # One field of properties (and of each product), or a fallback list, "product_id,sku": first usable wins.
    item_id_field: str = DEFAULT_ITEM_ID_FIELD
    # (Segment event, EVENT_TYPE) for the supported events written under another name.
    renames: tuple[tuple[str, str], ...] = ()
    # The field of properties (and of each product) written as EVENT_VALUE (values.py); None: no column.
    event_value_field: str | None = None
    # What becomes of a supported call with no usable userId and a usable anonymousId (identity.py).
    anonymous_events: AnonymousEvents = DEFAULT_ANONYMOUS_EVENTS

    @classmethod
    def from_settings(
        cls,
        supported_events: str | None = None,
        item_id_field: str | None = None,
        event_value_field: str | None = None,
        anonymous_events: str | None = None,
    ) -> MappingConfig:
        """The SUPPORTED_EVENTS, ITEM_ID_FIELD, EVENT_VALUE_FIELD and ANONYMOUS_EVENTS settings as text
        (None: the default); ValueError if bad."""
        common = {
            "item_id_field": (item_id_field or DEFAULT_ITEM_ID_FIELD).strip(),
            "event_value_field": None
            if event_value_field is None
            else validate_value_field(event_value_field),
            "anonymous_events": parse_anonymous_events(anonymous_events),
        }
        if supported_events is None:
            return cls(**common)
        pairs = parse_supported_events(supported_events)
        return cls(
            supported_events=tuple(name for name, _ in pairs),
            renames=tuple((name, event_type) for name, event_type in pairs if name != event_type),
            **common,
        )

    @property
    def csv_header(self) -> tuple[str, ...]:
        """The interactions CSV's columns: CSV_HEADER, then EVENT_VALUE when a value field is configured."""
        return CSV_HEADER if self.event_value_field is None else (*CSV_HEADER, EVENT_VALUE_COLUMN)

    @property
    def read_fields(self) -> tuple[str, ...]:
        """The fields read from properties and from each product: the item fields, then the value field."""
        extra = () if self.event_value_field is None else (self.event_value_field,)
        return tuple(dict.fromkeys((*self.item_id_fields, *extra)))

    @property
    def item_id_fields(self) -> tuple[str, ...]:
        return tuple(part.strip() for part in self.item_id_field.split(","))

    def event_type(self, event: str) -> str:
        """The EVENT_TYPE written for a supported Segment event."""
        return dict(self.renames).get(event, event)

    @property
    def event_types(self) -> tuple[str, ...]:
        """The distinct EVENT_TYPE values this configuration can write, in order of first mention."""
        return tuple(dict.fromkeys(self.event_type(name) for name in self.supported_events))

    def __post_init__(self) -> None:
        # A plain string is accepted and read as the setting is (the enum is what the rules compare with).
        object.__setattr__(self, "anonymous_events", parse_anonymous_events(self.anonymous_events))
        if not self.supported_events:
            raise ValueError("supported_events must name at least one event")
        if any(not e for e in self.supported_events):
            raise ValueError("supported_events must not contain an empty name")
        if any(has_unwritable_character(e) for e in self.supported_events):
            raise ValueError("supported_events must not contain control characters")
        unknown = [name for name, _ in self.renames if name not in self.supported_events]
        if unknown:
            raise ValueError(f"supported_events renames events it does not list: {unknown}")
        for event_type in self.event_types:
            if not event_type:
                raise ValueError("supported_events gives an event an empty event type ('Name=')")
            if has_unwritable_character(event_type):
                raise ValueError("supported_events must not contain control characters")
            if len(event_type) > MAX_EVENT_TYPE_LENGTH:
                raise ValueError(
                    f"event type {event_type[:40]!r}... is longer than Personalize's"
                    f" {MAX_EVENT_TYPE_LENGTH} characters"
                )
        if len(self.event_types) > MAX_EVENT_TYPES:
            raise ValueError(
                f"supported_events yields {len(self.event_types)} event types; Personalize allows at most "
                f"{MAX_EVENT_TYPES} event types plus metadata fields in an interactions dataset "
                "(rename several events to one type, e.g. 'Product Viewed=View,Product Clicked=View')"
            )
        if self.event_value_field is not None and validate_value_field(self.event_value_field) != (
            self.event_value_field
        ):
            raise ValueError("event_value_field must not have surrounding spaces")
        fields = self.item_id_fields
        if any(f not in ITEM_ID_FIELDS for f in fields) or len(set(fields)) != len(fields):
            allowed = ", ".join(ITEM_ID_FIELDS)
            raise ValueError(
                f"item_id_field must be one of {allowed}, or a list of them without repeats"
                f" (e.g. product_id,sku), got {self.item_id_field!r}"
            )


def parse_event_list(text: str) -> tuple[str, ...]:
    """'Product Added, Order Completed' -> ('Product Added', 'Order Completed'), repeats removed."""
    names = (part.strip() for part in text.split(","))
    return tuple(dict.fromkeys(n for n in names if n))


# --- Field rules ---------------------------------------------------------------------------------


def first_present(event: dict[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        value = event.get(name)
        if value is not None:
            return value
    return None


def as_object(value: Any) -> dict[str, Any] | None:
    """An object-valued field as Spark sees it: an object, or a string holding an object's JSON text.

    Spark reads these fields as text and parses the text, so it cannot tell ``{"sku": "a"}`` from
    ``"{\\"sku\\": \\"a\\"}"``; double-encoded properties exist in the wild, so Python reads both too.
    """
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            parsed = parse_line(value)
        except (ValueError, RecursionError):
            return None
        return parsed if isinstance(parsed, dict) else None
    return None


def as_array(value: Any) -> list[Any] | None:
    """An array-valued field as Spark sees it: an array, or a string holding an array's JSON text."""
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        try:
            parsed = parse_line(value)
        except (ValueError, RecursionError):
            return None
        return parsed if isinstance(parsed, list) else None
    return None


def _products_items(
    products: list[Any], item_fields: tuple[str, ...], value_field: str | None = None
) -> tuple[tuple[str, ...], dict[ProductSkip, int], tuple[str | None, ...]]:
    """(item ids, skips, values): each kept item's value is its product's first appearance's."""
    items: dict[str, str | None] = {}
    skips: dict[ProductSkip, int] = {}
    for product in products:
        fields = as_object(product) or {}
        item, problem = first_usable_id(fields, item_fields)
        if item is None:
            skip = ProductSkip.MISSING_ITEM_ID if problem == "missing" else ProductSkip.INVALID_ITEM_ID
        elif item in items:
            skip = ProductSkip.DUPLICATE_ITEM_ID
        else:
            items[item] = None if value_field is None else event_value(fields.get(value_field))
            continue
        skips[skip] = skips.get(skip, 0) + 1
    return tuple(items), skips, tuple(items.values())


def map_event(event: Any, config: MappingConfig) -> Outcome:
    """Map one parsed Segment call. ``event`` is whatever the JSON line held."""
    if not isinstance(event, dict):
        return Dropped(DropReason.CORRUPT_RECORD)
    if spark_text(event.get("type")) != TRACK_TYPE:
        return Dropped(DropReason.NOT_TRACK)
    event_name = spark_text(event.get("event"))
    if event_name not in config.supported_events:
        return Dropped(DropReason.UNSUPPORTED_EVENT)
    assert event_name is not None

    user_id, problem = classify_id(event.get("userId"))
    anonymous_id, _ = classify_id(event.get("anonymousId"))
    if problem == "invalid":
        return Dropped(DropReason.INVALID_USER_ID)
    if user_id is None:
        if anonymous_id is None or config.anonymous_events is AnonymousEvents.DROP:
            return Dropped(DropReason.MISSING_USER_ID)
        return Anonymous(anonymous_id, _items_and_time(event, config, event_name, None, anonymous_id))
    return _items_and_time(event, config, event_name, user_id, anonymous_id)


def _items_and_time(
    event: dict[str, Any],
    config: MappingConfig,
    event_name: str,
    user_id: str | None,
    anonymous_id: str | None,
) -> MappedEvent | Dropped:
    """The checks after the user's: items (and their values), then the timestamp."""
    properties = as_object(event.get("properties")) or {}
    products = as_array(properties.get(PRODUCTS_FIELD))
    skips: dict[ProductSkip, int] = {}
    value_field = config.event_value_field
    if products is not None:
        item_ids, skips, values = _products_items(products, config.item_id_fields, value_field)
        if not item_ids:
            invalid = skips.get(ProductSkip.INVALID_ITEM_ID, 0) > 0
            return Dropped(DropReason.INVALID_ITEM_ID if invalid else DropReason.MISSING_ITEM_ID)
    else:
        item_id, problem = first_usable_id(properties, config.item_id_fields)
        if item_id is None:
            return Dropped(DropReason.MISSING_ITEM_ID if problem == "missing" else DropReason.INVALID_ITEM_ID)
        item_ids = (item_id,)
        values = (None if value_field is None else event_value(properties.get(value_field)),)

    raw_time = first_present(event, TIMESTAMP_FIELDS)
    if raw_time is None:
        return Dropped(DropReason.MISSING_TIMESTAMP)
    timestamp = parse_timestamp(raw_time)
    if timestamp is None:
        return Dropped(DropReason.INVALID_TIMESTAMP)

    message_id, _ = classify_id(event.get("messageId"))
    return MappedEvent(
        message_id=message_id,
        anonymous_id=anonymous_id,
        user_id=user_id,
        event_type=config.event_type(event_name),
        timestamp=timestamp,
        item_ids=item_ids,
        product_skips=skips,
        event_values=None if value_field is None else values,
    )


def parse_call(text: str) -> Any:
    """One line's JSON value as the job reads it (an opening BOM dropped), or Dropped (blank_line,
    corrupt_record) for a line that holds none."""
    if text.startswith(BOM):
        text = text[1:]
    if is_blank(text):
        return Dropped(DropReason.BLANK_LINE)
    try:
        return parse_line(text)
    except (ValueError, RecursionError):
        return Dropped(DropReason.CORRUPT_RECORD)


def read_line(text: str, config: MappingConfig) -> tuple[Outcome, tuple[Link, ...]]:
    """One line of Segment's newline-delimited JSON (or one Kinesis record's payload): its outcome, and
    the identity links it makes (identity.links), from the one parse."""
    event = parse_call(text)
    if isinstance(event, Dropped):
        return event, ()
    return map_event(event, config), links(event)


def map_line(text: str, config: MappingConfig) -> Outcome:
    """The outcome of one line, before identity is settled (an Anonymous outcome waits on the run)."""
    return read_line(text, config)[0]


def map_lines(texts: Iterable[str], config: MappingConfig) -> tuple[list[MappedEvent | Dropped], Targets]:
    """A batch run's lines, identity settled across all of them: the outcome of each line, in order (before
    messageId de-duplication), and the run's stitch targets."""
    read = [read_line(text, config) for text in texts]
    targets = Targets.of(link for _, line_links in read for link in line_links)
    return [resolve(outcome, targets, config.anonymous_events) for outcome, _ in read], targets


def dedupe_key(event: MappedEvent) -> tuple[Any, ...]:
    """Among kept events sharing a messageId, the one with the smallest key is written.

    Segment's at-least-once delivery repeats a call verbatim, so any copy would do; choosing the
    smallest makes the output independent of file order. The Spark job orders the same fields the same
    way (Spark compares strings by UTF-8 bytes, which is code point order, as Python does).
    """
    key = (event.timestamp, event.user_id or "", event.event_type, event.item_ids)
    if event.event_values is not None:
        # Spark orders an array's null elements first.
        key = (*key, tuple((v is not None, v or "") for v in event.event_values))
    return (*key, event.identity.value, event.anonymous_id or "")


def dedupe(events: list[MappedEvent]) -> tuple[list[MappedEvent], int]:
    """Keep one event per messageId (events without one are all kept); returns (kept, duplicates dropped).

    Kept events stay in input order, which the Lambda relies on to keep a session's order.
    """
    chosen: dict[str, MappedEvent] = {}
    for event in events:
        if event.message_id is None:
            continue
        current = chosen.get(event.message_id)
        if current is None or dedupe_key(event) < dedupe_key(current):
            chosen[event.message_id] = event
    kept: list[MappedEvent] = []
    emitted: set[str] = set()
    for event in events:
        if event.message_id is None:
            kept.append(event)
        elif event.message_id not in emitted and chosen[event.message_id] is event:
            emitted.add(event.message_id)
            kept.append(event)
    return kept, len(events) - len(kept)
