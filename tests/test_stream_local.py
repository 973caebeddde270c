"""`make stream-local`: moto Kinesis -> the real handler -> a recording sink, checked against the rules."""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path

import pytest
from segment_personalize.identity import streamed
from segment_personalize.rules import MappedEvent, MappingConfig, dedupe, map_line
from segment_personalize.sample_data import generate_lines

from stream_local import run
from stream_local.run import Totals, invoke_until_done
from tests.lambda_support import kinesis_event


def test_stream_local_sends_what_the_rules_map(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # main() sets these for its run; registering them here restores the test process's environment.
    for name in (
        "PERSONALIZE_TRACKING_ID",
        "AWS_ENDPOINT_URL_PERSONALIZE_EVENTS",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_DEFAULT_REGION",
    ):
        monkeypatch.setenv(name, "overwritten-by-main")
    assert run.main(["--events", "400", "--shards", "2", "--batch-size", "50", "--out", str(tmp_path)]) == 0

    sent = [json.loads(line) for line in (tmp_path / "put_events.jsonl").read_text().splitlines()]
    lines = list(generate_lines(400))
    # As the Lambda maps them: an anonymous event goes under its session, without a userId.
    mapped = [
        e for e in (streamed(map_line(line, MappingConfig())) for line in lines) if isinstance(e, MappedEvent)
    ]
    # Each shard de-duplicates within its batches only; the sample's duplicates share a shard (same key)
    # but may straddle a batch boundary, so compare against the rules without relying on dedupe.
    expected_rows = Counter(row for event in mapped for row in event.interactions())
    unique_rows = Counter(row for event in dedupe(mapped)[0] for row in event.interactions())
    sent_rows = Counter(
        (body.get("userId"), e["itemId"], e["eventType"], e["sentAt"])
        for body in sent
        for e in body["eventList"]
    )
    assert set(sent_rows) == set(expected_rows)
    assert unique_rows <= sent_rows <= expected_rows
    assert all(len(body["eventList"]) <= 10 for body in sent)
    out = capsys.readouterr().out
    assert f"{sum(sent_rows.values())} events sent, 0 rejected, 0 records reported for retry" in out


def test_event_source_mapping_retries_from_the_lowest_failed_record() -> None:
    batch = kinesis_event(["a", "b", "c", "d"])
    numbers = [r["kinesis"]["sequenceNumber"] for r in batch]
    seen: list[list[str]] = []

    def handler(event, context):
        got = [r["kinesis"]["sequenceNumber"] for r in event["Records"]]
        seen.append(got)
        failed = [numbers[3], numbers[1]] if len(seen) == 1 else []
        return {"batchItemFailures": [{"itemIdentifier": n} for n in failed]}

    totals = Totals()
    invoke_until_done(handler, batch, retries=2, totals=totals, log=io.StringIO())
    assert seen == [numbers, numbers[1:]]
    assert (totals.invocations, totals.retried_batches) == (2, 1)
