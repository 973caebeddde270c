"""Segment lines -> Personalize interactions, as Spark native expressions built from ``rules``.

``classify`` gives every input line its outcome (a drop reason, or the mapped fields);
``transform`` adds the run-wide messageId de-duplication and the products[] expansion. Neither runs an
action: the counts for the run report ride along as ``Observation``s, collected by whatever action
writes the output, so the input is read exactly once. The counts are exact for an action that runs the
plan once, as a write does; a global sort would not (its sampling job runs the plan a second time).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from operator import or_

from pyspark.sql import Column, DataFrame, Observation
from pyspark.sql import functions as F

from segment_personalize import rules
from segment_personalize.rules import CSV_HEADER, DropReason, MappingConfig, ProductSkip
from segment_personalize.spark.schema import (
    CORRUPT_RECORD,
    LINE_OPTIONS,
    PROPERTIES_FIELD,
    SCALAR_FIELDS,
    event_schema,
    product_schema,
    properties_schema,
    text_event_schema,
)

LINE_COLUMN = "value"  # what spark.read.text produces

# Columns of the classified frame.
REASON, MESSAGE_ID, ANONYMOUS_ID = "drop_reason", "message_id", "anonymous_id"
USER_ID, EVENT_TYPE, TIMESTAMP, ITEM_IDS = "user_id", "event_type", "timestamp", "item_ids"
PRODUCT_SKIP_COLUMNS = {skip: f"n_{skip.value}" for skip in ProductSkip}


def _matches(column: Column, body: str) -> Column:
    return column.rlike(rules.java_anchored(body))


def _is_blank(text: Column) -> Column:
    """rules.is_blank. Trimming copies the text, so it is left for text that starts with whitespace."""
    starts_blank = reduce(or_, (text.startswith(char) for char in rules.JSON_WHITESPACE))
    return (F.octet_length(text) == 0) | (starts_blank & (F.btrim(text, F.lit(rules.JSON_WHITESPACE)) == ""))


def _looks_non_scalar(text: Column) -> Column:
    """rules.looks_non_scalar, cheapest test first: Or stops at the first true one, so the regex runs
    only on text with a '.'; a regex per id was a tenth of the job's CPU time."""
    containers = (text.startswith(first) & text.endswith(last) for first, last in rules.CONTAINER_DELIMITERS)
    return (
        text.isin(*rules.NON_SCALAR_TEXTS)
        | reduce(or_, containers)
        | (text.contains(".") & _matches(text, rules.FLOAT_TEXT_BODY))
    )


def _too_long(text: Column) -> Column:
    # Counting characters means decoding UTF-8; no text of at most MAX_ID_LENGTH bytes needs it.
    return (F.octet_length(text) > rules.MAX_ID_LENGTH) & (F.char_length(text) > rules.MAX_ID_LENGTH)


def _id_missing(text: Column) -> Column:
    return text.isNull() | _is_blank(text)


def _id_problem(text: Column) -> Column:
    """'missing' / 'invalid' / null, as rules.classify_id decides it on Spark's text rendering."""
    return F.when(_id_missing(text), F.lit("missing")).when(
        _looks_non_scalar(text) | _too_long(text), F.lit("invalid")
    )


def _usable_id(text: Column) -> Column:
    return F.when(_id_problem(text).isNull(), text)


def _epoch_seconds(name: str) -> Column:
    """rules.parse_timestamp of the text in column ``name``: the rules' regex checks the shape, then
    the value is read without any time-zone lookup.

    Once the regex matched, the first 19 characters are yyyy-MM-ddTHH:mm:ss (no fraction: floor) and
    try_cast reads them as a zone-less timestamp (Feb 30 -> null, in ANSI mode too: PySpark 3.5 has
    try_cast only in SQL). The offset, if any, is the last six characters; only '+' or a '-' after
    the date can start one. Spark's string-to-timestamp cast of the whole text would resolve its zone
    text on every row (two regex compilations each), four times the cost of all of this, and a
    zone-less read never depends on the session time zone.
    """
    text = F.col(name)
    local = F.expr(f"try_cast(substring(`{name}`, 1, 19) AS TIMESTAMP_NTZ)")
    epoch = F.lit("1970-01-01 00:00:00").cast("timestamp_ntz")
    local_seconds = (local - epoch).cast("interval second").cast("long")
    sign = F.when(text.contains("+"), 1).when(F.locate("-", text, 12) > 0, -1)
    # A when, not just null propagation: the digits may only be cast where there is an offset (ANSI).
    hours_minutes = F.substring(text, -5, 2).cast("int") * 3600 + F.substring(text, -2, 2).cast("int") * 60
    utc = local_seconds - F.when(sign.isNotNull(), sign * hours_minutes).otherwise(0)
    return F.when(_matches(text, rules.TIMESTAMP_BODY), utc)


def _missing_or_invalid(problem: Column, missing: DropReason, invalid: DropReason) -> Column:
    return F.when(problem == "missing", F.lit(missing.value)).otherwise(F.lit(invalid.value))


def _then(frame: DataFrame, done: tuple[str, ...] = (), **columns: Column) -> DataFrame:
    """Add columns in a projection of their own, leaving out the ``done`` ones (read here for the last time).

    Each stage's expensive results (a JSON parse, a regex verdict) are read many times by the next
    stage, and Spark's CollapseProject refuses to inline a non-cheap expression that has more than one
    reader -- so a separate projection is what makes it evaluated once per row. Written as one select,
    the reason column alone carried hundreds of copies of the line's from_json. The stages with
    higher-order functions (transform, filter) run outside whole-stage codegen and copy every column
    they carry into a new row: carrying the raw line and the parsed struct to the end cost a third of
    the classification time, so each column is left out once nothing later reads it.
    """
    unknown = set(done) - set(frame.columns)
    assert not unknown, f"no such columns: {unknown}"
    kept = [name for name in frame.columns if name not in done]
    return frame.select(*kept, *(column.alias(name) for name, column in columns.items()))


def _field(name: str) -> Column:
    return F.col(f"_f_{name}")


def parse_event(line: Column, config: MappingConfig) -> Column:
    """A line parsed with the read schema (schema.py); the benchmark's scan floor parses with it too."""
    return F.from_json(line, event_schema(config), LINE_OPTIONS)


def _as_text(line: Column, config: MappingConfig) -> Column:
    """The fields the rules read, from a line that does not fit the read schema (schema.py).

    Such a line's properties or products are not shaped as objects and arrays (double-encoded JSON
    text, a product that is not an object), so it is parsed with properties as text and the text is
    read the way the rules say. These lines are rare, so the repeated parses below (one expression,
    no staging) cost nothing in practice and keep the common path to a single parse.
    """
    item = config.item_id_field
    event = F.from_json(line, text_event_schema(), LINE_OPTIONS)
    props = F.from_json(event[PROPERTIES_FIELD], properties_schema(config), rules.SPARK_JSON_OPTIONS)
    products = F.from_json(props[rules.PRODUCTS_FIELD], "array<string>", rules.SPARK_JSON_OPTIONS)
    product_fields = product_schema(config)
    return F.struct(
        (event.isNull() | event[CORRUPT_RECORD].isNotNull()).alias("corrupt"),
        *(event[name].alias(name) for name in SCALAR_FIELDS),
        props[item].alias("top_item"),
        F.transform(products, lambda p: F.from_json(p, product_fields, rules.SPARK_JSON_OPTIONS)[item]).alias(
            "product_items"
        ),
    )


def classify(lines: DataFrame, config: MappingConfig) -> DataFrame:
    """One row per input line: drop_reason (null when kept) and the mapped fields of kept events."""
    item = config.item_id_field
    line = F.col(LINE_COLUMN)
    frame = lines.select(line, parse_event(line, config).alias("_n"))
    parsed = F.col("_n")
    fits = parsed.isNotNull() & parsed[CORRUPT_RECORD].isNull()
    frame = _then(
        frame,
        done=(LINE_COLUMN,),
        _fits=fits,
        _blank=~fits & _is_blank(line),
        _t=F.when(~fits, _as_text(line, config)),
    )
    fits, as_text, read_props = F.col("_fits"), F.col("_t"), parsed[PROPERTIES_FIELD]
    frame = _then(
        frame,
        done=("_n", "_t"),
        _corrupt=~fits & as_text["corrupt"],
        _top_item=F.when(fits, read_props[item]).otherwise(as_text["top_item"]),
        # products[].<item> of an array of structs: a plain field extraction, no lambda needed.
        _items=F.when(fits, read_props[rules.PRODUCTS_FIELD][item]).otherwise(as_text["product_items"]),
        **{f"_f_{name}": F.when(fits, parsed[name]).otherwise(as_text[name]) for name in SCALAR_FIELDS},
    )
    frame = _then(
        frame,
        done=("_f_type", "_fits"),
        _user_problem=_id_problem(_field("userId")),
        _raw_time=F.coalesce(*(_field(name) for name in rules.TIMESTAMP_FIELDS)),
        _not_an_event=F.when(F.col("_blank"), F.lit(DropReason.BLANK_LINE.value))
        .when(F.col("_corrupt"), F.lit(DropReason.CORRUPT_RECORD.value))
        .when(~_field("type").eqNullSafe(rules.TRACK_TYPE), F.lit(DropReason.NOT_TRACK.value))
        .when(
            ~F.coalesce(_field("event").isin(list(config.supported_events)), F.lit(False)),
            F.lit(DropReason.UNSUPPORTED_EVENT.value),
        ),
    )
    user_problem = F.col("_user_problem")
    time_fields = tuple(f"_f_{name}" for name in rules.TIMESTAMP_FIELDS)
    # Drop reasons up to the user id: only the calls that pass them pay for items and timestamps.
    frame = _then(
        frame,
        done=("_blank", "_corrupt", "_not_an_event", "_user_problem", *time_fields),
        _early=F.coalesce(
            F.col("_not_an_event"),
            F.when(
                user_problem.isNotNull(),
                _missing_or_invalid(user_problem, DropReason.MISSING_USER_ID, DropReason.INVALID_USER_ID),
            ),
        ),
    )
    candidate = F.col("_early").isNull()
    frame = _then(
        frame,
        done=("_items",),
        _product_items=F.when(candidate, F.col("_items")),
        _seconds=F.when(candidate, _epoch_seconds("_raw_time")),
        _top_problem=F.when(candidate, _id_problem(F.col("_top_item"))),
    )
    # The one stage with lambdas (they run outside whole-stage codegen, so they share one projection).
    items = F.col("_product_items")
    frame = _then(
        frame,
        _listed=F.filter(items, lambda i: _id_problem(i).isNull()),
        _n_missing=F.size(F.filter(items, _id_missing)),
    )
    frame = _then(
        frame,
        _order_items=F.array_distinct("_listed"),
        _n_invalid=F.size(items) - F.size("_listed") - F.col("_n_missing"),
    )

    products, order_items = F.col("_product_items"), F.col("_order_items")
    top_problem = F.col("_top_problem")
    reason = F.coalesce(
        F.col("_early"),
        F.when(
            products.isNotNull() & (F.size(order_items) == 0),
            F.when(F.col("_n_invalid") > 0, F.lit(DropReason.INVALID_ITEM_ID.value)).otherwise(
                F.lit(DropReason.MISSING_ITEM_ID.value)
            ),
        )
        .when(
            products.isNull() & top_problem.isNotNull(),
            _missing_or_invalid(top_problem, DropReason.MISSING_ITEM_ID, DropReason.INVALID_ITEM_ID),
        )
        .when(F.col("_raw_time").isNull(), F.lit(DropReason.MISSING_TIMESTAMP.value))
        .when(F.col("_seconds").isNull(), F.lit(DropReason.INVALID_TIMESTAMP.value)),
    )
    frame = _then(frame, **{REASON: reason})
    skips = {
        ProductSkip.MISSING_ITEM_ID: F.col("_n_missing"),
        ProductSkip.INVALID_ITEM_ID: F.col("_n_invalid"),
        ProductSkip.DUPLICATE_ITEM_ID: F.size("_listed") - F.size(order_items),
    }
    kept = F.col(REASON).isNull()
    return frame.select(
        F.col(REASON),
        F.when(kept, _usable_id(_field("messageId"))).alias(MESSAGE_ID),
        F.when(kept, _usable_id(_field("anonymousId"))).alias(ANONYMOUS_ID),
        F.when(kept, _field("userId")).alias(USER_ID),
        F.when(kept, _field("event")).alias(EVENT_TYPE),
        F.when(kept, F.col("_seconds")).alias(TIMESTAMP),
        F.when(kept, F.coalesce(order_items, F.array("_top_item"))).alias(ITEM_IDS),
        *(
            F.when(kept & products.isNotNull(), count).otherwise(0).alias(PRODUCT_SKIP_COLUMNS[skip])
            for skip, count in skips.items()
        ),
    )


def dedupe(kept: DataFrame) -> DataFrame:
    """One event per messageId, the smallest by rules.dedupe_key; events without a messageId all stay."""
    # A null messageId must not group with other nulls: give each such row a key of its own.
    own_key = F.when(F.col(MESSAGE_ID).isNull(), F.monotonically_increasing_id())
    chosen = F.min(F.struct(TIMESTAMP, USER_ID, EVENT_TYPE, ITEM_IDS)).alias("chosen")
    return kept.groupBy(F.col(MESSAGE_ID), own_key.alias("_own_key")).agg(chosen).select("chosen.*")


def to_interactions(events: DataFrame) -> DataFrame:
    """Expand each event's items into rows with Personalize's column names, in CSV_HEADER order."""
    user, item, event_type, ts = CSV_HEADER
    return events.select(
        F.col(USER_ID).alias(user),
        F.explode(ITEM_IDS).alias(item),
        F.col(EVENT_TYPE).alias(event_type),
        F.col(TIMESTAMP).alias(ts),
    )


@dataclass(frozen=True)
class Transformed:
    interactions: DataFrame
    line_counts: Observation  # input_lines, kept_before_dedupe, each DropReason but duplicates, product skips
    dedupe_counts: Observation  # kept_events, output_rows


def _total(column: Column, name: str) -> Column:
    # sum() of no rows is null; the report wants 0.
    return F.coalesce(F.sum(column), F.lit(0)).alias(name)


def line_metrics() -> list[Column]:
    reason = F.col(REASON)
    per_reason = [
        _total(F.when(reason == r.value, 1).otherwise(0), r.value)
        for r in DropReason
        if r is not DropReason.DUPLICATE_MESSAGE_ID
    ]
    skips = [_total(F.col(column), skip.value) for skip, column in PRODUCT_SKIP_COLUMNS.items()]
    return [
        F.count(F.lit(1)).alias("input_lines"),
        _total(F.when(reason.isNull(), 1).otherwise(0), "kept_before_dedupe"),
        *per_reason,
        *skips,
    ]


def dedupe_metrics() -> list[Column]:
    return [F.count(F.lit(1)).alias("kept_events"), _total(F.size(ITEM_IDS), "output_rows")]


def transform(lines: DataFrame, config: MappingConfig) -> Transformed:
    """Lines (a ``value`` string column) -> interactions, with the report's counts attached."""
    line_counts = Observation("line_counts")
    dedupe_counts = Observation("dedupe_counts")
    classified = classify(lines, config).observe(line_counts, *line_metrics())
    events = dedupe(classified.where(F.col(REASON).isNull())).observe(dedupe_counts, *dedupe_metrics())
    return Transformed(to_interactions(events), line_counts, dedupe_counts)
