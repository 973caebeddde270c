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
    total = sum(len(body["eventList"]) for body in sent)
    assert f"{total} events sent, 0 rejected, 0 records reported for retry" in out


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


def test_stream_local_puts_users_with_user_traits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from segment_personalize.ids import classify_id
    from segment_personalize.json_lines import parse_line
    from segment_personalize.personalize_schema import parse_columns
    from segment_personalize.timestamps import parse_timestamp
    from segment_personalize.users import identify_traits, latest_user_traits

    for name in (
        "PERSONALIZE_TRACKING_ID",
        "AWS_ENDPOINT_URL_PERSONALIZE_EVENTS",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_DEFAULT_REGION",
        "PUT_USERS",
        "USER_TRAITS",
        "USERS_DATASET_ARN",
    ):
        monkeypatch.setenv(name, "overwritten-by-main")
    spec = "plan,country,lifetime_value:float"
    argv = ["--events", "400", "--shards", "2", "--batch-size", "50", "--out", str(tmp_path)]
    assert run.main([*argv, "--user-traits", spec]) == 0

    bodies = [json.loads(line) for line in (tmp_path / "put_users.jsonl").read_text().splitlines()]
    assert bodies and all(1 <= len(body["users"]) <= 10 for body in bodies)
    sent_users = {user["userId"] for body in bodies for user in body["users"]}
    # The same users the batch Users dataset has (each batch merges its own identify calls).
    records = []
    for line in generate_lines(400):
        try:
            event = parse_line(line)
        except ValueError:
            continue
        traits = identify_traits(event)
        user_id, _ = classify_id(event.get("userId")) if isinstance(event, dict) else (None, None)
        timestamp = parse_timestamp(event.get("timestamp")) if isinstance(event, dict) else None
        if traits is not None and user_id is not None and timestamp is not None:
            records.append((user_id, timestamp, traits))
    assert sent_users == set(latest_user_traits(records, parse_columns(spec)).rows)
    out = capsys.readouterr().out
    assert f"{sum(len(body['users']) for body in bodies)} users sent, 0 rejected" in out
