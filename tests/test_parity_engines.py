"""Property: the Spark job and the pure-Python rules (the Lambda's engine) agree on every line.

Per line: the same drop reason, or the same USER_ID, item ids, EVENT_TYPE, TIMESTAMP (and EVENT_VALUEs
under an EVENT_VALUE_FIELD setting). Per batch:
the same interactions after messageId de-duplication and products[] expansion.
"""

from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyspark.sql import SparkSession
from segment_personalize.rules import (
    Anonymous,
    Dropped,
    DropReason,
    MappedEvent,
    MappingConfig,
    decode_utf8,
    dedupe,
    map_line,
    map_lines,
)
from segment_personalize.spark.transform import IDENTITY, classify, transform

from tests.strategies import identity_lines, segment_lines
from tests.test_transform import lines_df

CONFIG = MappingConfig()
# Renamed event types (two events to one type) and an item fallback list.
RENAMED = MappingConfig.from_settings(
    "Product Clicked=View, Product Viewed=View, Order Completed=Purchase,"
    " Product Added, Cart Viewed=Checkout",
    "product_id,sku",
)


# EVENT_VALUE from properties.price / each product's price.
PRICED = MappingConfig.from_settings(event_value_field="price")
PRICED_RENAMED = MappingConfig.from_settings(
    "Product Clicked=View, Order Completed=Purchase, Cart Viewed=Checkout", "product_id,sku", "price"
)
CONFIGS = {
    "default": CONFIG,
    "renamed": RENAMED,
    "priced": PRICED,
    "priced_renamed": PRICED_RENAMED,
    "drop": MappingConfig(anonymous_events="drop"),
    "keep_priced": MappingConfig.from_settings(event_value_field="price", anonymous_events="keep"),
}


def as_text(line: str | bytes) -> str:
    return decode_utf8(line) if isinstance(line, bytes) else line


def python_outcomes(lines: list[str | bytes], config: MappingConfig = CONFIG):
    outcomes = []
    for line in lines:
        result = map_line(as_text(line), config)
        if isinstance(result, Anonymous):  # before identity is settled: no user yet
            result = result.outcome
        if isinstance(result, Dropped):
            outcomes.append(result.reason.value)
        else:
            outcomes.append(
                (
                    result.user_id,
                    result.item_ids,
                    result.event_type,
                    result.timestamp,
                    result.message_id,
                    result.event_values,
                )
            )
    return outcomes


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(lines=st.lists(segment_lines(), min_size=1, max_size=40), setting=st.sampled_from(sorted(CONFIGS)))
def test_engines_agree(spark: SparkSession, lines: list[str | bytes], setting: str) -> None:
    config = CONFIGS[setting]
    frame = lines_df(spark, lines)
    spark_rows = classify(frame, config).collect()
    spark_outcomes = [
        row.drop_reason
        or (
            row.user_id,
            tuple(row.item_ids),
            row.event_type,
            row.timestamp,
            row.message_id,
            None if config.event_value_field is None else tuple(row.event_values),
        )
        for row in spark_rows
    ]
    assert spark_outcomes == python_outcomes(lines, config)

    assert_settled_runs_agree(frame, lines, config)


def assert_settled_runs_agree(frame, lines: list[str | bytes], config: MappingConfig) -> None:
    """The whole run, identity settled and messageIds de-duplicated: the same rows and the same counts."""
    outcomes, targets = map_lines([as_text(line) for line in lines], config)
    unique, duplicates = dedupe([e for e in outcomes if isinstance(e, MappedEvent)])
    python_rows = Counter(row for event in unique for row in event.interactions())
    result = transform(frame, config)
    spark_rows = Counter(tuple(r) for r in result.interactions.collect())
    assert spark_rows == python_rows
    line_counts, dedupe_counts = result.counts()
    reasons = Counter(o.reason.value for o in outcomes if isinstance(o, Dropped))
    line_reasons = [r.value for r in DropReason if r is not DropReason.DUPLICATE_MESSAGE_ID]
    assert {r: line_counts[r] for r in line_reasons} == {r: reasons[r] for r in line_reasons}
    assert line_counts["kept_before_dedupe"] - dedupe_counts["kept_events"] == duplicates
    if config.anonymous_events.value != "drop":
        by_source = Counter(event.identity.value for event in unique)
        assert dedupe_counts["stitched_events"] == by_source["stitched"]
        assert dedupe_counts["anonymous_kept_events"] == by_source["anonymous"]
        assert line_counts["ambiguous_anonymous_ids"] == len(targets.ambiguous)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(
    lines=st.lists(identity_lines(), min_size=1, max_size=40),
    mode=st.sampled_from(["stitch", "keep", "drop"]),
    priced=st.booleans(),
)
def test_engines_agree_on_identity(
    spark: SparkSession, lines: list[str | bytes], mode: str, priced: bool
) -> None:
    """Anonymous, stitched, ambiguous and alias-linked calls: per line before settling, then per run."""
    config = MappingConfig.from_settings(event_value_field="price" if priced else None, anonymous_events=mode)
    frame = lines_df(spark, lines)
    rows = classify(frame, config).collect()
    assert [
        row.drop_reason or (row.user_id, tuple(row.item_ids), row.event_type, row.timestamp, row.message_id)
        for row in rows
    ] == [o if isinstance(o, str) else o[:5] for o in python_outcomes(lines, config)]
    assert_settled_runs_agree(frame, lines, config)
    assert IDENTITY not in transform(frame, config).interactions.columns
