"""Segment lines -> Personalize interactions, as Spark native expressions built from ``rules``.

``classify`` gives every input line its outcome (a drop reason, or the mapped fields);
``transform`` adds the run-wide messageId de-duplication and the products[] expansion. Neither runs an
action: the counts for the run report ride along as ``Observation``s, collected by whatever action
writes the output, so the input is read exactly once. The counts are exact for an action that runs the
plan once, as a write does; a global sort would not (its sampling job runs the plan a second time).
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, Observation
from pyspark.sql import functions as F

from segment_personalize import rules
from segment_personalize.rules import CSV_HEADER, DropReason, MappingConfig, ProductSkip
from segment_personalize.spark.schema import (
    CORRUPT_RECORD,
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


def _id_problem(text: Column) -> Column:
    """'missing' / 'invalid' / null, as rules.classify_id decides it on Spark's text rendering."""
    return F.when(text.isNull() | _matches(text, rules.BLANK_BODY), F.lit("missing")).when(
        _matches(text, rules.NON_SCALAR_TEXT_BODY) | (F.char_length(text) > rules.MAX_ID_LENGTH),
        F.lit("invalid"),
    )


def _usable_id(text: Column) -> Column:
    return F.when(_id_problem(text).isNull(), text)


def _epoch_seconds(text: Column) -> Column:
    """rules.parse_timestamp: the rules' regex for the shape, then Spark's own ISO-8601 cast for the value.

    Once the shape is checked, the cast reads exactly what the rule means (fraction ignored beyond the
    microsecond, offset applied, Feb 30 -> null), and it costs a fraction of a second pattern-based
    parse plus the regex group extractions it needed. A zone-less time gets a 'Z', so the session time
    zone never matters.
    """
    zoned = (F.substring(text, -1, 1) == "Z") | F.substring(text, -6, 1).isin("+", "-")
    utc = F.when(zoned, text).otherwise(F.concat(text, F.lit("Z")))
    return F.when(text.rlike(rules.java_anchored(rules.TIMESTAMP_BODY)), F.try_to_timestamp(utc).cast("long"))


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


def classify(lines: DataFrame, config: MappingConfig) -> DataFrame:
    """One row per input line: drop_reason (null when kept) and the mapped fields of kept events."""
    item = config.item_id_field
    options = rules.SPARK_JSON_OPTIONS | {"columnNameOfCorruptRecord": CORRUPT_RECORD}
    line = F.col(LINE_COLUMN)
    frame = lines.select(line, F.from_json(line, event_schema(config), options).alias("_n"))
    parsed = F.col("_n")
    frame = _then(frame, _fits=parsed.isNotNull() & parsed[CORRUPT_RECORD].isNull())
    fits = F.col("_fits")
    # The few lines that do not fit the read schema (schema.py) are parsed again, with properties as text.
    frame = _then(frame, _t=F.when(~fits, F.from_json(line, text_event_schema(), options)))
    as_text = F.col("_t")
    frame = _then(
        frame,
        done=(LINE_COLUMN, "_n", "_t"),
        _blank=~fits & _matches(line, rules.BLANK_BODY),
        _corrupt=~fits & (as_text.isNull() | as_text[CORRUPT_RECORD].isNotNull()),
        _read_props=F.when(fits, parsed[PROPERTIES_FIELD]),
        _text_props=F.when(~fits, as_text[PROPERTIES_FIELD]),
        **{f"_f_{name}": F.when(fits, parsed[name]).otherwise(as_text[name]) for name in SCALAR_FIELDS},
    )
    frame = _then(
        frame,
        done=tuple(f"_f_{name}" for name in ("type", *rules.TIMESTAMP_FIELDS)),
        _track=_field("type").eqNullSafe(rules.TRACK_TYPE),
        _supported=F.coalesce(_field("event").isin(list(config.supported_events)), F.lit(False)),
        _user_problem=_id_problem(_field("userId")),
        _raw_time=F.coalesce(*(_field(name) for name in rules.TIMESTAMP_FIELDS)),
    )
    # Only calls that can still be kept pay for their items and their timestamp.
    candidate = ~F.col("_blank") & ~F.col("_corrupt") & F.col("_track") & F.col("_supported")
    candidate = candidate & F.col("_user_problem").isNull()
    frame = _then(
        frame,
        done=("_text_props",),
        _props=F.when(
            candidate & ~fits,
            F.from_json("_text_props", properties_schema(config), rules.SPARK_JSON_OPTIONS),
        ),
    )
    text_props, read_props = F.col("_props"), F.col("_read_props")
    frame = _then(
        frame,
        done=("_props",),
        _top_item=F.when(candidate, F.when(fits, read_props[item]).otherwise(text_props[item])),
        _text_products=F.from_json(
            text_props[rules.PRODUCTS_FIELD], "array<string>", rules.SPARK_JSON_OPTIONS
        ),
        _seconds=F.when(candidate, _epoch_seconds(F.col("_raw_time"))),
    )
    product_fields = product_schema(config)
    frame = _then(
        frame,
        done=("_read_props", "_text_products", "_fits"),
        _product_items=F.when(
            candidate,
            F.when(fits, F.transform(read_props[rules.PRODUCTS_FIELD], lambda p: p[item])).otherwise(
                F.transform(
                    "_text_products", lambda p: F.from_json(p, product_fields, rules.SPARK_JSON_OPTIONS)[item]
                )
            ),
        ),
    )
    frame = _then(
        frame,
        _top_problem=_id_problem(F.col("_top_item")),
        _product_problems=F.transform("_product_items", _id_problem),
    )
    problems = F.col("_product_problems")
    frame = _then(
        frame,
        done=("_product_problems",),
        _listed=F.filter(
            F.zip_with("_product_items", "_product_problems", lambda i, p: F.when(p.isNull(), i)),
            lambda i: i.isNotNull(),
        ),
        _n_missing=F.size(F.filter(problems, lambda p: p == "missing")),
        _n_invalid=F.size(F.filter(problems, lambda p: p == "invalid")),
    )
    frame = _then(frame, _order_items=F.array_distinct("_listed"))

    products, order_items = F.col("_product_items"), F.col("_order_items")
    user_problem, top_problem = F.col("_user_problem"), F.col("_top_problem")
    reason = (
        F.when(F.col("_blank"), F.lit(DropReason.BLANK_LINE.value))
        .when(F.col("_corrupt"), F.lit(DropReason.CORRUPT_RECORD.value))
        .when(~F.col("_track"), F.lit(DropReason.NOT_TRACK.value))
        .when(~F.col("_supported"), F.lit(DropReason.UNSUPPORTED_EVENT.value))
        .when(
            user_problem.isNotNull(),
            _missing_or_invalid(user_problem, DropReason.MISSING_USER_ID, DropReason.INVALID_USER_ID),
        )
        .when(
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
        .when(F.col("_seconds").isNull(), F.lit(DropReason.INVALID_TIMESTAMP.value))
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
