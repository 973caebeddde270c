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

import calendar
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from segment_personalize.event_types import parse_supported_events

# Re-exported: the rules' callers (the Spark side, the Lambda, tests) read these from here.
from segment_personalize.json_lines import (  # noqa: F401
    JSON_WHITESPACE,
    MAX_NESTING_DEPTH,
    MAX_NUMBER_DIGITS,
    decode_utf8,
    parse_line,
)
from segment_personalize.values import EVENT_VALUE_COLUMN, event_value, validate_value_field

CSV_HEADER = ("USER_ID", "ITEM_ID", "EVENT_TYPE", "TIMESTAMP")
DEFAULT_SUPPORTED_EVENTS = ("Product Added", "Product Clicked", "Order Completed")
ITEM_ID_FIELDS = ("sku", "product_id")
DEFAULT_ITEM_ID_FIELD = "sku"
TRACK_TYPE = "track"
# Personalize's interactions schema caps USER_ID and ITEM_ID at 256 characters; PutEvents caps eventType
# at 256 too. An interactions dataset holds at most 10 event types plus metadata fields; the CSV written
# here has no metadata fields.
MAX_ID_LENGTH = 256
MAX_EVENT_TYPE_LENGTH = 256
MAX_EVENT_TYPES = 10
# The first present field wins; a present but unparseable value is not skipped over, because
# receivedAt is Segment's clock, not the user's, and silently substituting it would skew training data.
TIMESTAMP_FIELDS = ("timestamp", "originalTimestamp", "receivedAt")
PRODUCTS_FIELD = "products"

# A byte-order mark opening a line is skipped, as Hadoop's line reader already skips one at the start of a
# file: editors and Windows tools write it, and it is no part of the JSON.
BOM = "\ufeff"
# Invalid UTF-8 is read as this character (one per bad sequence), as Spark's JSON reader reads it. An id
# holding it is invalid, so a mangled id never reaches the output; see decode_utf8.
REPLACEMENT_CHARACTER = "\ufffd"


class DropReason(StrEnum):
    """Why an input record produced no interaction. Checked in this order; the first that applies wins."""

    BLANK_LINE = "blank_line"
    CORRUPT_RECORD = "corrupt_record"
    NOT_TRACK = "not_track"
    UNSUPPORTED_EVENT = "unsupported_event"
    MISSING_USER_ID = "missing_user_id"
    INVALID_USER_ID = "invalid_user_id"
    MISSING_ITEM_ID = "missing_item_id"
    INVALID_ITEM_ID = "invalid_item_id"
    MISSING_TIMESTAMP = "missing_timestamp"
    INVALID_TIMESTAMP = "invalid_timestamp"
    # Applied after all the above, across the whole run (batch) or invocation (Lambda).
    DUPLICATE_MESSAGE_ID = "duplicate_message_id"


class ProductSkip(StrEnum):
    """Why one entry of an order's products[] produced no row, while the order itself was kept."""

    MISSING_ITEM_ID = "product_missing_item_id"
    INVALID_ITEM_ID = "product_invalid_item_id"
    DUPLICATE_ITEM_ID = "product_duplicate_item_id"


# --- Patterns ------------------------------------------------------------------------------------
# Bodies only, in the subset of syntax where Java and Python regexes agree (no ., \s, \d, $). Each
# engine anchors them its own way: Python with re.fullmatch, Spark with ^(?:...)\z -- Java's and
# Python's $ both also match before a trailing newline, which would let "id\n" through.


# Text that Spark produces when it renders a non-string, non-integer JSON token as a string, in three
# parts so that both engines can test the cheap ones first and run a regex only on text with a '.':
# booleans and an overflowing float (exact texts), the compact JSON of an object or array (first and
# last character), and Java's Double.toString of a float (always has a '.').
NON_SCALAR_TEXTS = ("true", "false", '"Infinity"', '"-Infinity"')
CONTAINER_DELIMITERS = (("{", "}"), ("[", "]"))
FLOAT_TEXT_BODY = r"-?[0-9]+\.[0-9]+(?:E-?[0-9]+)?"
# Unicode's control characters (general category Cc): C0, DEL and C1. An id holding one is invalid: a CR
# or LF would split a CSV record over lines, which Personalize's bulk import does not accept. Searched, not
# anchored; the syntax is the same in Java's and Python's regexes.
CONTROL_CHARACTER_BODY = r"[\x00-\x1F\x7F-\x9F]"

# ISO-8601 date-time: 'T' separator, 0-9 fraction digits, 'Z' or +hh:mm/-hh:mm, no zone = UTC.
# Groups: 1 = date, 2 = time to the second, 3 = zone (absent, 'Z' or offset). Field ranges are
# checked here, so that only day-of-month overflow (Feb 30) is left for the calendar to reject;
# second 60 is refused because Spark's make_timestamp and Python's datetime disagree on it. Offsets
# stop at +-18:00, Java's ZoneOffset range (real zones span -12:00..+14:00): Spark cannot parse beyond.
TIMESTAMP_BODY = (
    r"((?!0000)[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01]))"
    r"T((?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9])"
    r"(?:\.[0-9]{1,9})?"
    r"(Z|[+-](?:(?:0[0-9]|1[0-7]):[0-5][0-9]|18:00))?"
)
TIMESTAMP_GROUP_DATE, TIMESTAMP_GROUP_TIME, TIMESTAMP_GROUP_ZONE = 1, 2, 3

# Spark's JSON reader options that make it accept exactly what Python's json module (as used in
# parse_line) accepts; Spark's defaults allow single quotes and NaN/Infinity literals.
SPARK_JSON_OPTIONS = {
    "mode": "PERMISSIVE",
    "allowSingleQuotes": "false",
    "allowNonNumericNumbers": "false",
}


def java_anchored(body: str) -> str:
    """The pattern as Spark's rlike/regexp_extract must see it to match the whole text, like fullmatch."""
    return rf"^(?:{body})\z"


_FLOAT_TEXT = re.compile(FLOAT_TEXT_BODY)
_CONTROL_CHARACTER = re.compile(CONTROL_CHARACTER_BODY)
_TIMESTAMP = re.compile(TIMESTAMP_BODY)


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

    @classmethod
    def from_settings(
        cls,
        supported_events: str | None = None,
        item_id_field: str | None = None,
        event_value_field: str | None = None,
    ) -> MappingConfig:
        """The SUPPORTED_EVENTS, ITEM_ID_FIELD and EVENT_VALUE_FIELD settings as text (None: the default);
        ValueError if bad."""
        value_field = None if event_value_field is None else validate_value_field(event_value_field)
        if supported_events is None:
            return cls(
                item_id_field=(item_id_field or DEFAULT_ITEM_ID_FIELD).strip(), event_value_field=value_field
            )
        pairs = parse_supported_events(supported_events)
        return cls(
            supported_events=tuple(name for name, _ in pairs),
            item_id_field=(item_id_field or DEFAULT_ITEM_ID_FIELD).strip(),
            renames=tuple((name, event_type) for name, event_type in pairs if name != event_type),
            event_value_field=value_field,
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


# --- Results -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MappedEvent:
    """A kept Segment call: one interaction per item (one item unless it was an order with products[])."""

    message_id: str | None
    anonymous_id: str | None
    user_id: str
    event_type: str
    timestamp: int
    item_ids: tuple[str, ...]
    product_skips: dict[ProductSkip, int] = field(default_factory=dict)
    # One EVENT_VALUE text (None: no usable value) per item, when a value field is configured; else None.
    event_values: tuple[str | None, ...] | None = None

    def interactions(self) -> list[tuple[Any, ...]]:
        """Rows in MappingConfig.csv_header order."""
        if self.event_values is None:
            return [(self.user_id, item, self.event_type, self.timestamp) for item in self.item_ids]
        return [
            (self.user_id, item, self.event_type, self.timestamp, value)
            for item, value in zip(self.item_ids, self.event_values, strict=True)
        ]


@dataclass(frozen=True)
class Dropped:
    reason: DropReason


Outcome = MappedEvent | Dropped


# --- Field rules ---------------------------------------------------------------------------------


def spark_text(value: Any) -> str | None:
    """The text Spark's StringType reader yields for a JSON value, where that is reproducible.

    Strings, integers, booleans and null render identically in both engines. Floats, objects and arrays
    only need to be recognisable as such (classify_id rejects them by type), so their exact Java
    rendering is not reproduced.
    """
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def is_blank(text: str) -> bool:
    """Empty or only JSON whitespace."""
    return not text.strip(JSON_WHITESPACE)


def looks_non_scalar(text: str) -> bool:
    """Text that Spark could have rendered from a float, boolean, object or array token."""
    return (
        text in NON_SCALAR_TEXTS
        or any(text.startswith(first) and text.endswith(last) for first, last in CONTAINER_DELIMITERS)
        or ("." in text and _FLOAT_TEXT.fullmatch(text) is not None)
    )


def has_unwritable_character(text: str) -> bool:
    """A control character, or the mark of invalid UTF-8 (REPLACEMENT_CHARACTER)."""
    return REPLACEMENT_CHARACTER in text or _CONTROL_CHARACTER.search(text) is not None


def classify_id(value: Any) -> tuple[str | None, str | None]:
    """(id, None) for a usable id; (None, 'missing' | 'invalid') otherwise.

    Missing: absent, null, or only JSON whitespace. Invalid: a float, boolean, object or array token, text
    that Spark could have rendered from one (looks_non_scalar), longer than MAX_ID_LENGTH, or holding a
    control character or U+FFFD (has_unwritable_character).
    Usable ids are kept verbatim, surrounding spaces included: ids are opaque.
    """
    if value is None:
        return None, "missing"
    if isinstance(value, bool | float | dict | list):
        return None, "invalid"
    text = spark_text(value)
    assert text is not None
    if is_blank(text):
        return None, "missing"
    if looks_non_scalar(text) or len(text) > MAX_ID_LENGTH or has_unwritable_character(text):
        return None, "invalid"
    return text, None


def parse_timestamp(value: Any) -> int | None:
    """ISO-8601 text -> integer epoch seconds (floor); None when it does not parse."""
    text = spark_text(value) if not isinstance(value, float | dict | list) else None
    match = _TIMESTAMP.fullmatch(text) if text is not None else None
    if match is None:
        return None
    try:
        local = datetime.fromisoformat(f"{match[TIMESTAMP_GROUP_DATE]}T{match[TIMESTAMP_GROUP_TIME]}")
    except ValueError:  # day-of-month overflow, e.g. 2019-02-29
        return None
    seconds = calendar.timegm(local.timetuple())
    zone = match[TIMESTAMP_GROUP_ZONE]
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        seconds -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    # Fractions are dropped: epoch seconds of whole-second wall time plus a non-negative fraction
    # floors to the whole second, before 1970 too.
    return seconds


def _first_present(event: dict[str, Any], names: tuple[str, ...]) -> Any:
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


def first_usable_id(fields: dict[str, Any], names: tuple[str, ...]) -> tuple[str | None, str | None]:
    """classify_id of the first of ``names`` that holds a usable id; else 'invalid' if any was invalid."""
    problems = []
    for name in names:
        item, problem = classify_id(fields.get(name))
        if item is not None:
            return item, None
        problems.append(problem)
    return None, "invalid" if "invalid" in problems else "missing"


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
    event_type = config.event_type(event_name)

    user_id, problem = classify_id(event.get("userId"))
    if user_id is None:
        return Dropped(DropReason.MISSING_USER_ID if problem == "missing" else DropReason.INVALID_USER_ID)

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

    raw_time = _first_present(event, TIMESTAMP_FIELDS)
    if raw_time is None:
        return Dropped(DropReason.MISSING_TIMESTAMP)
    timestamp = parse_timestamp(raw_time)
    if timestamp is None:
        return Dropped(DropReason.INVALID_TIMESTAMP)

    message_id, _ = classify_id(event.get("messageId"))
    anonymous_id, _ = classify_id(event.get("anonymousId"))
    return MappedEvent(
        message_id=message_id,
        anonymous_id=anonymous_id,
        user_id=user_id,
        event_type=event_type,
        timestamp=timestamp,
        item_ids=item_ids,
        product_skips=skips,
        event_values=None if value_field is None else values,
    )


def map_line(text: str, config: MappingConfig) -> Outcome:
    """Map one line of Segment's newline-delimited JSON (or one Kinesis record's payload)."""
    if text.startswith(BOM):
        text = text[1:]
    if is_blank(text):
        return Dropped(DropReason.BLANK_LINE)
    try:
        event = parse_line(text)
    except (ValueError, RecursionError):
        return Dropped(DropReason.CORRUPT_RECORD)
    return map_event(event, config)


def dedupe_key(event: MappedEvent) -> tuple[Any, ...]:
    """Among kept events sharing a messageId, the one with the smallest key is written.

    Segment's at-least-once delivery repeats a call verbatim, so any copy would do; choosing the
    smallest makes the output independent of file order. The Spark job orders the same fields the same
    way (Spark compares strings by UTF-8 bytes, which is code point order, as Python does).
    """
    key = (event.timestamp, event.user_id, event.event_type, event.item_ids)
    if event.event_values is not None:
        # Spark orders an array's null elements first.
        key = (*key, tuple((v is not None, v or "") for v in event.event_values))
    return (*key, event.anonymous_id or "")


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
