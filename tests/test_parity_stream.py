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
from segment_personalize.rules import DropReason, MappingConfig, map_lines
from segment_personalize.spark.transform import transform

from stream_local.sink import RecordingSink, client_for
from tests.lambda_support import TRACKING_ID, kinesis_event
from tests.strategies import identity_lines, segment_lines
from tests.test_parity_engines import as_text
from tests.test_transform import lines_df

CONFIG = MappingConfig(anonymous_events="drop")
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
        (body.get("userId"), event["itemId"], event["eventType"], event["sentAt"])
        for body in sink.accepted
        for event in body["eventList"]
    )

    assert response == {"batchItemFailures": []}
    assert stream_rows == batch_rows
    assert summary["skipped"] == {r: line_counts[r] for r in LINE_REASONS if line_counts[r]}
    assert summary["kept_records"] == dedupe_counts["kept_events"]
    assert summary["duplicate_message_id"] == line_counts["kept_before_dedupe"] - dedupe_counts["kept_events"]
    assert summary["sent_events"] == dedupe_counts["output_rows"]


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(
    lines=st.lists(identity_lines(unique_message_ids=True), min_size=1, max_size=40),
    mode=st.sampled_from(["stitch", "keep"]),
)
def test_stream_sessions_correspond_to_batch_identity(
    spark: SparkSession, sink: RecordingSink, lines: list[str | bytes], mode: str
) -> None:
    """docs/mapping-contract.md, *How batch and stream correspond*: the Lambda sends what the batch job
    keeps under ``keep`` with no links, an anonymous event under its session without a userId; crediting
    each session to its stitch target then gives the batch job's rows under ``keep`` and ``stitch``."""
    sink.requests.clear()
    stream_config = MappingConfig(anonymous_events=mode)
    settings_ = StreamSettings(tracking_id=TRACKING_ID, mapping=stream_config, max_concurrency=2)
    response, summary = process(kinesis_event(lines), settings_, client_for(sink.url, max_attempts=1))
    assert response == {"batchItemFailures": []}
    sent = [
        (body.get("userId"), body["sessionId"], event["itemId"], event["eventType"], event["sentAt"])
        for body in sink.accepted
        for event in body["eventList"]
    ]
    # An anonymous event never carries a userId, and its session is its anonymousId.
    _, targets = map_lines([as_text(line) for line in lines], stream_config)

    def credited(user, session, keep_anonymous: bool):
        if user is not None:
            return user
        return targets.targets.get(session, session if keep_anonymous else None)

    frame = lines_df(spark, lines)
    for batch_mode, keep_anonymous in (("keep", True), ("stitch", False)):
        result = transform(frame, MappingConfig(anonymous_events=batch_mode))
        batch_rows = Counter(tuple(row) for row in result.interactions.collect())
        stream_rows = Counter(
            (who, item, event_type, at)
            for user, session, item, event_type, at in sent
            if (who := credited(user, session, keep_anonymous)) is not None
        )
        assert stream_rows == batch_rows, batch_mode
        if batch_mode == "keep":
            # The same verdict on every line: keep's reasons do not depend on links.
            line_counts, _ = result.counts()
            assert summary["skipped"] == {r: line_counts[r] for r in LINE_REASONS if line_counts[r]}
