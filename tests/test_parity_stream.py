"""Property: the Glue job's rows and the Lambda's PutEvents events agree exactly on the same Segment calls.

Same USER_ID, ITEM_ID, EVENT_TYPE and TIMESTAMP (sentAt), same drop counts per reason, same duplicates,
over generated calls including the nasty ones (numeric and float ids, missing fields, offset
timestamps, orders with products[], unsupported events).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from personalize_stream.handler import process
from personalize_stream.settings import StreamSettings
from pyspark.sql import SparkSession
from segment_personalize.rules import DropReason, MappingConfig
from segment_personalize.spark.transform import transform

from stream_local.sink import RecordingSink, client_for
from tests.lambda_support import TRACKING_ID, kinesis_event
from tests.strategies import segment_lines
from tests.test_transform import lines_df

CONFIG = MappingConfig()
LINE_REASONS = [r.value for r in DropReason if r is not DropReason.DUPLICATE_MESSAGE_ID]


@pytest.fixture(scope="module")
def sink() -> Iterator[RecordingSink]:
    with RecordingSink() as running:
        yield running


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(lines=st.lists(segment_lines(), min_size=1, max_size=40))
def test_batch_rows_equal_lambda_events(
    spark: SparkSession, sink: RecordingSink, lines: list[str | bytes]
) -> None:
    result = transform(lines_df(spark, lines), CONFIG)
    batch_rows = Counter(tuple(row) for row in result.interactions.collect())
    line_counts, dedupe_counts = result.line_counts.get, result.dedupe_counts.get

    sink.requests.clear()
    settings_ = StreamSettings(tracking_id=TRACKING_ID, mapping=CONFIG, max_concurrency=2)
    response, summary = process(kinesis_event(lines), settings_, client_for(sink.url, max_attempts=1))
    stream_rows = Counter(
        (body["userId"], event["itemId"], event["eventType"], event["sentAt"])
        for body in sink.accepted
        for event in body["eventList"]
    )

    assert response == {"batchItemFailures": []}
    assert stream_rows == batch_rows
    assert summary["skipped"] == {r: line_counts[r] for r in LINE_REASONS if line_counts[r]}
    assert summary["kept_records"] == dedupe_counts["kept_events"]
    assert summary["duplicate_message_id"] == line_counts["kept_before_dedupe"] - dedupe_counts["kept_events"]
    assert summary["sent_events"] == dedupe_counts["output_rows"]
