"""The streaming Lambda against a real boto3 personalize-events client (botocore validates every call).

Calls go over HTTP to a recording sink on loopback (real serialization, retries and error parsing), or
through botocore's Stubber where exact parameters are the point.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.stub import Stubber
from personalize_stream import handler as lambda_handler
from personalize_stream.handler import process
from personalize_stream.settings import ConfigError, StreamSettings
from segment_personalize.rules import MappingConfig

from stream_local.sink import RecordingSink, client_for
from tests.lambda_support import TRACKING_ID, kinesis_event, kinesis_record, track

T0 = 1795168800  # 2026-11-20T10:00:00Z
SETTINGS = StreamSettings(tracking_id=TRACKING_ID, max_concurrency=1)


def at(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def seq(n: int) -> str:
    return f"4959{n:020d}"


def run(payloads: list[Any], sink: RecordingSink, settings: StreamSettings = SETTINGS, attempts: int = 3):
    return process(kinesis_event(payloads), settings, client_for(sink.url, max_attempts=attempts))


# --- configuration ---------------------------------------------------------------------------------


def test_missing_tracking_id_fails_fast_with_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PERSONALIZE_TRACKING_ID", raising=False)
    with pytest.raises(ConfigError, match="PERSONALIZE_TRACKING_ID is not set"):
        lambda_handler.handler({"Records": kinesis_event([track("m1", "u1")])}, None)


def test_settings_from_env() -> None:
    settings = StreamSettings.from_env(
        {
            "PERSONALIZE_TRACKING_ID": TRACKING_ID,
            "SUPPORTED_EVENTS": "Product Added, Order Completed",
            "ITEM_ID_FIELD": "product_id",
            "RETRY_MODE": "adaptive",
            "MAX_ATTEMPTS": "4",
            "MAX_CONCURRENCY": "3",
        }
    )
    assert settings == StreamSettings(
        tracking_id=TRACKING_ID,
        mapping=MappingConfig(("Product Added", "Order Completed"), "product_id"),
        max_concurrency=3,
        retry_mode="adaptive",
        max_attempts=4,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"RETRY_MODE": "legacy"}, "RETRY_MODE must be one of standard, adaptive"),
        ({"MAX_ATTEMPTS": "zero"}, "invalid Lambda environment"),
        ({"MAX_CONCURRENCY": "0"}, "MAX_CONCURRENCY must be 1..64"),
        ({"ITEM_ID_FIELD": "id"}, "item_id_field must be one of sku, product_id"),
    ],
)
def test_bad_settings_are_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        StreamSettings.from_env({"PERSONALIZE_TRACKING_ID": TRACKING_ID, **env})


# --- mapping, payloads, skips ----------------------------------------------------------------------


def test_exact_payloads_and_named_skips() -> None:
    order = track(
        "order-1",
        2941404340,
        event="Order Completed",
        sku=None,
        timestamp="2026-11-20T12:00:00+02:00",
        properties={"products": [{"sku": "a"}, {"sku": "b"}, {"sku": "a"}, {"name": "no sku"}]},
    )
    payloads = [
        track("m1", "u1", sku="ocean-blue-shirt", timestamp="2026-11-20T10:00:00.123456Z"),
        b"\xff\xfe not utf-8",
        "{not json",
        {"type": "page", "userId": "u1", "messageId": "p1"},
        track("m2", "u1", event="Product Viewed"),
        track("m3", None),
        order,
        track("m4", "u2", anonymous_id=None, event="Product Added", sku=12, timestamp="2026-11-20T10:00:01"),
        track("m1", "u1", sku="ocean-blue-shirt", timestamp="2026-11-20T10:00:00.123456Z"),
    ]
    records = kinesis_event(payloads)
    records.insert(1, {"kinesis": {"sequenceNumber": "bad", "data": "%%% not base64"}})
    with RecordingSink() as sink:
        response, summary = process(records, SETTINGS, client_for(sink.url))
    assert response == {"batchItemFailures": []}
    assert sink.accepted == [
        {
            "trackingId": TRACKING_ID,
            "userId": "u1",
            "sessionId": "anon-1",
            "eventList": [
                {"eventId": "m1", "eventType": "Product Clicked", "itemId": "ocean-blue-shirt", "sentAt": T0}
            ],
        },
        {
            "trackingId": TRACKING_ID,
            "userId": "2941404340",
            "sessionId": "anon-1",
            "eventList": [
                {"eventId": "order-1#1", "eventType": "Order Completed", "itemId": "a", "sentAt": T0},
                {"eventId": "order-1#2", "eventType": "Order Completed", "itemId": "b", "sentAt": T0},
            ],
        },
        {
            "trackingId": TRACKING_ID,
            "userId": "u2",
            "sessionId": "u2",
            "eventList": [{"eventId": "m4", "eventType": "Product Added", "itemId": "12", "sentAt": T0 + 1}],
        },
    ]
    assert summary == {
        "records": 10,
        "kept_records": 3,
        "duplicate_message_id": 1,
        "skipped": {
            # Invalid UTF-8 is read as the batch job reads it: "\ufffd\ufffd not utf-8" is not JSON.
            "corrupt_record": 2,
            "missing_user_id": 1,
            "not_track": 1,
            "undecodable_record": 1,
            "unsupported_event": 1,
        },
        "sessions": 3,
        "events": 4,
        "calls": 3,
        "sent_events": 4,
        "rejected_events": 0,
        "failed_events": 0,
        "failed_records": 0,
    }


def test_event_without_message_id_gets_a_stable_id_from_its_sequence_number() -> None:
    with RecordingSink() as sink:
        run([track(None, "u1")], sink)  # type: ignore[arg-type]
    assert sink.accepted[0]["eventList"][0]["eventId"] == f"kinesis-{seq(1)}"


def test_exact_parameters_with_stubber() -> None:
    client = client_for("http://127.0.0.1:9")  # never reached: the Stubber answers
    expected = {
        "trackingId": TRACKING_ID,
        "userId": "u1",
        "sessionId": "anon-1",
        "eventList": [
            {"eventId": "m1", "eventType": "Product Clicked", "itemId": "sku-1", "sentAt": at(T0)},
            {"eventId": "m2", "eventType": "Product Added", "itemId": "sku-2", "sentAt": at(T0 + 60)},
        ],
    }
    with Stubber(client) as stubber:
        stubber.add_response("put_events", {}, expected)
        response, summary = process(
            kinesis_event(
                [
                    track("m1", "u1"),
                    track("m2", "u1", event="Product Added", sku="sku-2", timestamp="2026-11-20T10:01:00Z"),
                ]
            ),
            SETTINGS,
            client,
        )
        stubber.assert_no_pending_responses()
    assert response == {"batchItemFailures": []}
    assert summary["calls"] == 1


# --- batching --------------------------------------------------------------------------------------


def test_groups_by_user_and_session_in_order_at_most_ten_per_call() -> None:
    payloads = []
    for n in range(28):
        user, anon = ("u1", "s1") if n % 4 else ("u2", "s2")  # 21 events for u1/s1, 7 for u2/s2
        payloads.append(track(f"m{n}", user, anonymous_id=anon, sku=f"sku-{n}"))
    payloads.append(track("other", "u1", anonymous_id="s3"))  # same user, another session
    with RecordingSink() as sink:
        response, summary = run(payloads, sink, StreamSettings(tracking_id=TRACKING_ID, max_concurrency=4))
    calls: dict[tuple[str, str], list[list[str]]] = {}
    for body in sink.accepted:  # arrival order; sessions interleave, a session's calls must not
        calls.setdefault((body["userId"], body["sessionId"]), []).append(
            [e["eventId"] for e in body["eventList"]]
        )
    u1 = [f"m{n}" for n in range(28) if n % 4]
    assert calls == {
        ("u1", "s1"): [u1[:10], u1[10:20], u1[20:]],
        ("u2", "s2"): [[f"m{n}" for n in range(0, 28, 4)]],
        ("u1", "s3"): [["other"]],
    }
    assert summary["calls"] == 5 and summary["sessions"] == 3 and response == {"batchItemFailures": []}


# --- failures --------------------------------------------------------------------------------------


def test_throttling_is_retried_by_botocore() -> None:
    def throttle_first_two(body: dict[str, Any], seen: int):
        return (400, "ThrottlingException") if seen < 2 else None

    with RecordingSink(fault=throttle_first_two) as sink:
        response, summary = run([track("m1", "u1")], sink, attempts=3)
    assert [r.status for r in sink.requests] == [400, 400, 200]
    assert sink.accepted[0]["eventList"][0]["eventId"] == "m1"
    assert response == {"batchItemFailures": []}
    assert summary["calls"] == 1 and summary["sent_events"] == 1


def test_invalid_input_is_isolated_to_the_bad_event(capsys: pytest.CaptureFixture[str]) -> None:
    def reject_bad(body: dict[str, Any], seen: int):
        bad = any(e.get("itemId") == "bad" for e in body["eventList"])
        return (400, "InvalidInputException") if bad else None

    payloads = [track("m1", "u1", sku="a"), track("m2", "u1", sku="bad"), track("m3", "u1", sku="c")]
    with RecordingSink(fault=reject_bad) as sink:
        response, summary = run(payloads, sink)
    assert [[e["eventId"] for e in r.body["eventList"]] for r in sink.requests] == [
        ["m1", "m2", "m3"],
        ["m1"],
        ["m2"],
        ["m3"],
    ]
    assert [r.status for r in sink.requests] == [400, 200, 400, 200]
    assert response == {"batchItemFailures": []}
    assert summary["calls"] == 4
    assert (summary["sent_events"], summary["rejected_events"], summary["failed_events"]) == (2, 1, 0)
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert logged == [
        {
            "level": "WARNING",
            "message": "event rejected",
            "sequenceNumber": seq(2),
            "eventId": "m2",
            "error": "InvalidInputException",
        }
    ]


def test_persistent_failures_are_reported_for_retry_and_keep_session_order() -> None:
    # u1's first call (10 events) goes through, its second fails; u2 fails outright; u3 is fine.
    def fail(body: dict[str, Any], seen: int):
        first = body["eventList"][0]["eventId"]
        return (503, "ServiceUnavailableException") if first in {"u1-10", "u2-0"} else None

    payloads = [track(f"u1-{n}", "u1", anonymous_id="s1") for n in range(15)]
    payloads.insert(3, track("u2-0", "u2", anonymous_id="s2"))
    payloads.append(track("u3-0", "u3", anonymous_id="s3"))
    with RecordingSink(fault=fail) as sink:
        response, summary = run(payloads, sink, attempts=2)
    # Records are numbered from 1: u1-0..2 are 1..3, u2-0 is 4, u1-3..14 are 5..16, u3-0 is 17.
    assert response == {"batchItemFailures": [{"itemIdentifier": seq(n)} for n in [4, *range(12, 17)]]}
    assert (summary["sent_events"], summary["failed_events"], summary["failed_records"]) == (11, 6, 6)
    assert summary["calls"] == 4  # u1 x2, u2, u3 (each failed call retried once by botocore)
    assert sum(r.status == 503 for r in sink.requests) == 4


def test_a_failure_after_isolation_fails_the_rest_of_the_session() -> None:
    def fail(body: dict[str, Any], seen: int):
        items = [e["itemId"] for e in body["eventList"]]
        if "bad" in items:
            return (400, "InvalidInputException")
        return (500, "InternalFailure") if items == ["c"] else None

    payloads = [track("m1", "u1", sku="a"), track("m2", "u1", sku="bad"), track("m3", "u1", sku="c")]
    with RecordingSink(fault=fail) as sink:
        response, summary = run(payloads, sink, attempts=1)
    assert response == {"batchItemFailures": [{"itemIdentifier": seq(3)}]}
    assert (summary["sent_events"], summary["rejected_events"], summary["failed_events"]) == (1, 1, 1)


# --- logs --------------------------------------------------------------------------------------------


def test_logs_are_json_lines_with_counts_and_no_personal_data(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with RecordingSink() as sink:
        monkeypatch.setenv("PERSONALIZE_TRACKING_ID", TRACKING_ID)
        monkeypatch.setenv("AWS_ENDPOINT_URL_PERSONALIZE_EVENTS", sink.url)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        lambda_handler.personalize_client.cache_clear()
        event = {"Records": kinesis_event([track("m1", "secret-user"), "{oops", {"type": "identify"}])}
        assert lambda_handler.handler(event, None) == {"batchItemFailures": []}
        lambda_handler.personalize_client.cache_clear()
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines == [
        {
            "level": "WARNING",
            "message": "record skipped",
            "sequenceNumber": seq(2),
            "reason": "corrupt_record",
        },
        {"level": "INFO", "message": "record skipped", "sequenceNumber": seq(3), "reason": "not_track"},
        {
            "level": "INFO",
            "message": "invocation",
            "records": 3,
            "kept_records": 1,
            "duplicate_message_id": 0,
            "skipped": {"corrupt_record": 1, "not_track": 1},
            "sessions": 1,
            "events": 1,
            "calls": 1,
            "sent_events": 1,
            "rejected_events": 0,
            "failed_events": 0,
            "failed_records": 0,
        },
    ]
    text = json.dumps(lines)
    for personal in ("secret-user", "anon-1", "jane@example.com", "203.0.113.9"):
        assert personal not in text


def test_undecodable_record_shapes_are_skipped_not_raised() -> None:
    records = [{"kinesis": {"sequenceNumber": "1", "data": 5}}, {"nope": True}, kinesis_record(b"", "3")]
    with RecordingSink() as sink:
        response, summary = process(records, SETTINGS, client_for(sink.url))
    assert response == {"batchItemFailures": []}
    assert summary["skipped"] == {"blank_line": 1, "undecodable_record": 2}
    assert sink.requests == []
