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
from segment_personalize.rules import Dropped, MappedEvent, MappingConfig, decode_utf8, dedupe, map_line
from segment_personalize.spark.transform import classify, transform

from tests.strategies import segment_lines
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
CONFIGS = {"default": CONFIG, "renamed": RENAMED, "priced": PRICED, "priced_renamed": PRICED_RENAMED}


def as_text(line: str | bytes) -> str:
    return decode_utf8(line) if isinstance(line, bytes) else line


def python_outcomes(lines: list[str | bytes], config: MappingConfig = CONFIG):
    outcomes = []
    for line in lines:
        result = map_line(as_text(line), config)
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

    kept = [e for e in (map_line(as_text(line), config) for line in lines) if isinstance(e, MappedEvent)]
    unique, _ = dedupe(kept)
    python_rows = Counter(row for event in unique for row in event.interactions())
    spark_result = Counter(tuple(r) for r in transform(frame, config).interactions.collect())
    assert spark_result == python_rows
