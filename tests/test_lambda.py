"""The streaming Lambda against a real boto3 personalize-events client (botocore validates every call).

Calls go over HTTP to a recording sink on loopback (real serialization, retries and error parsing), or
through botocore's Stubber where exact parameters are the point.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.stub import Stubber
from personalize_stream import handler as lambda_handler
from personalize_stream.deadline import Deadline, longest_backoff_s
from personalize_stream.event_shape import MalformedEvent
from personalize_stream.handler import process
from personalize_stream.settings import ConfigError, StreamSettings
from segment_personalize.rules import MappingConfig

from stream_local.sink import RecordingSink, client_for
from tests.lambda_support import (
    TRACKING_ID,
    FakeContext,
    SteppedClock,
    kinesis_event,
    kinesis_record,
    track,
    use_sink_endpoint,
)

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
            "DEADLINE_MARGIN_MS": "12000",
        }
    )
    assert settings == StreamSettings(
        tracking_id=TRACKING_ID,
        mapping=MappingConfig(("Product Added", "Order Completed"), "product_id"),
        max_concurrency=3,
        retry_mode="adaptive",
        max_attempts=4,
        deadline_margin_ms=12000,
    )


def test_the_default_deadline_margin_is_one_attempt_and_a_second() -> None:
    settings = StreamSettings.from_env({"PERSONALIZE_TRACKING_ID": TRACKING_ID})
    assert (settings.connect_timeout, settings.read_timeout, settings.deadline_margin_ms) == (2.0, 5.0, 8000)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"RETRY_MODE": "legacy"}, "RETRY_MODE must be one of standard, adaptive"),
        ({"MAX_ATTEMPTS": "zero"}, "MAX_ATTEMPTS must be an integer, got 'zero'"),
        ({"DEADLINE_MARGIN_MS": "8s"}, "DEADLINE_MARGIN_MS must be an integer, got '8s'"),
        (
            {"DEADLINE_MARGIN_MS": "6999"},
            r"DEADLINE_MARGIN_MS must be 7000\.\.900000 \(at least one PutEvents",
        ),
        ({"DEADLINE_MARGIN_MS": "900001"}, r"DEADLINE_MARGIN_MS must be 7000\.\.900000"),
        ({"MAX_CONCURRENCY": "0"}, "MAX_CONCURRENCY must be 1..64"),
        ({"ITEM_ID_FIELD": "id"}, "item_id_field must be one of sku, product_id"),
        ({"EVENT_VALUE_FIELD": ""}, "event_value_field must name a field"),
        ({"EVENT_VALUE_FIELD": "price,cost"}, "no '.', ','"),
    ],
)
def test_bad_settings_are_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        StreamSettings.from_env({"PERSONALIZE_TRACKING_ID": TRACKING_ID, **env})


# --- mapping, payloads, skips ----------------------------------------------------------------------


@pytest.mark.parametrize("anonymous_events", ["stitch", "drop"])
def test_exact_payloads_and_named_skips(anonymous_events: str) -> None:
    """m3 has an anonymousId and no userId: under stitch (the default) it goes under its session alone."""
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
        settings_ = replace(SETTINGS, mapping=MappingConfig(anonymous_events=anonymous_events))
        response, summary = process(records, settings_, client_for(sink.url))
    anonymous = anonymous_events != "drop"
    assert response == {"batchItemFailures": []}
    anonymous_call = {
        "trackingId": TRACKING_ID,
        "sessionId": "anon-1",
        "eventList": [{"eventId": "m3", "eventType": "Product Clicked", "itemId": "sku-1", "sentAt": T0}],
    }
    assert sink.accepted == [
        {
            "trackingId": TRACKING_ID,
            "userId": "u1",
            "sessionId": "anon-1",
            "eventList": [
                {"eventId": "m1", "eventType": "Product Clicked", "itemId": "ocean-blue-shirt", "sentAt": T0}
            ],
        },
        *([anonymous_call] if anonymous else []),
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
        "kept_records": 4 if anonymous else 3,
        "duplicate_message_id": 1,
        "skipped": {
            # Invalid UTF-8 is read as the batch job reads it: "\ufffd\ufffd not utf-8" is not JSON.
            "corrupt_record": 2,
            **({} if anonymous else {"missing_user_id": 1}),
            "not_track": 1,
            "undecodable_record": 1,
            "unsupported_event": 1,
        },
        "sessions": 4 if anonymous else 3,
        "events": 5 if anonymous else 4,
        "calls": 4 if anonymous else 3,
        "sent_events": 5 if anonymous else 4,
        "rejected_events": 0,
        "failed_events": 0,
        "unsent_events": 0,
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
            "unsent_events": 0,
            "failed_records": 0,
        },
    ]
    text = json.dumps(lines)
    for personal in ("secret-user", "anon-1", "jane@example.com", "203.0.113.9"):
        assert personal not in text


def test_undecodable_record_shapes_are_skipped_not_raised() -> None:
    records = [
        {"kinesis": {"sequenceNumber": "1", "data": 5}},
        {"kinesis": {"sequenceNumber": "2"}},
        kinesis_record(b"", "3"),
    ]
    with RecordingSink() as sink:
        response, summary = process(records, SETTINGS, client_for(sink.url))
    assert response == {"batchItemFailures": []}
    assert summary["skipped"] == {"blank_line": 1, "undecodable_record": 2}
    assert sink.requests == []


# --- the deadline ------------------------------------------------------------------------------------


@pytest.fixture
def fresh_client() -> Iterator[None]:
    """The handler caches its client per settings; each test's sink has its own URL."""
    lambda_handler.personalize_client.cache_clear()
    yield
    lambda_handler.personalize_client.cache_clear()


def one_session(count: int) -> list[dict[str, Any]]:
    return [track(f"m{n}", "u1", anonymous_id="s1", sku=f"sku-{n}") for n in range(1, count + 1)]


def sent_ids(sink: RecordingSink) -> list[str]:
    return [event["eventId"] for body in sink.accepted for event in body["eventList"]]


def costs(clock: SteppedClock, seconds: float):
    """A sink fault hook that accepts every call and charges it ``seconds`` of the invocation's time."""

    def charge(body: dict[str, Any], seen: int) -> None:
        clock.advance(seconds)

    return charge


def test_no_call_starts_inside_the_margin_and_the_rest_is_reported_in_order() -> None:
    # The issue's case on a clock that only the endpoint moves: 10 s left, 2 s a call, 100 records in one
    # session, the default 8 s margin. Calls start at 10 s and 8 s left; at 6 s left none does.
    clock = SteppedClock()
    context = FakeContext(10.0, clock)
    with RecordingSink(fault=costs(clock, 2.0)) as sink:
        response, summary = process(
            kinesis_event(one_session(100)),
            SETTINGS,
            client_for(sink.url),
            Deadline.of(context, SETTINGS.deadline_margin_ms),
        )
    assert sent_ids(sink) == [f"m{n}" for n in range(1, 21)]
    assert response == {"batchItemFailures": [{"itemIdentifier": seq(n)} for n in range(21, 101)]}
    assert (summary["calls"], summary["sent_events"], summary["unsent_events"]) == (2, 20, 80)
    assert (summary["failed_events"], summary["failed_records"]) == (0, 80)


def test_sessions_the_deadline_stops_are_reported_in_record_order(capsys: pytest.CaptureFixture[str]) -> None:
    # Three sessions interleaved record by record (a: 1, 4, 7, ...; b: 2, 5, ...; c: 3, 6, ...), 12 each,
    # sent one session after the other. a's two calls fit before the margin; b and c never start.
    payloads = [
        track(f"{name}{n}", f"user-{name}", anonymous_id=f"s-{name}") for n in range(12) for name in "abc"
    ]
    clock = SteppedClock()
    margin_ms = SETTINGS.deadline_margin_ms
    with RecordingSink(fault=costs(clock, 1.0)) as sink:
        response, summary = process(
            kinesis_event(payloads),
            SETTINGS,
            client_for(sink.url),
            Deadline.of(FakeContext(margin_ms / 1000 + 1.5, clock), margin_ms),
        )
    assert sent_ids(sink) == [f"a{n}" for n in range(12)]
    held = [n for n in range(1, 37) if n % 3 != 1]
    assert response == {"batchItemFailures": [{"itemIdentifier": seq(n)} for n in held]}
    assert (summary["calls"], summary["unsent_events"], summary["failed_records"]) == (2, 24, 24)
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert logged == [
        {
            "level": "WARNING",
            "message": "deadline reached",
            "margin_ms": margin_ms,
            "unsent_events": 24,
            "unsent_records": 24,
        }
    ]


def test_the_deadline_also_stops_isolating_a_bad_event() -> None:
    # 12 events: m1..m10 in one call (m2 invalid), m11..m12 in a second. The grouped call is refused, m1
    # and m2 are sent alone, then the margin is reached: m3.. and the second call are held back.
    def reject_bad_and_charge(body: dict[str, Any], seen: int):
        clock.advance(1.0)
        return (
            (400, "InvalidInputException") if any(e["itemId"] == "bad" for e in body["eventList"]) else None
        )

    payloads = one_session(12)
    payloads[1] = track("m2", "u1", anonymous_id="s1", sku="bad")
    clock = SteppedClock()
    margin_ms = SETTINGS.deadline_margin_ms
    with RecordingSink(fault=reject_bad_and_charge) as sink:
        response, summary = process(
            kinesis_event(payloads),
            SETTINGS,
            client_for(sink.url, max_attempts=1),
            Deadline.of(FakeContext(margin_ms / 1000 + 2.5, clock), margin_ms),
        )
    assert [[e["eventId"] for e in r.body["eventList"]] for r in sink.requests][1:] == [["m1"], ["m2"]]
    assert response == {"batchItemFailures": [{"itemIdentifier": seq(n)} for n in range(3, 13)]}
    assert (summary["sent_events"], summary["rejected_events"], summary["unsent_events"]) == (1, 1, 10)


@pytest.mark.parametrize(("seconds_over_margin", "attempts"), [(0.5, 1), (1.5, 2)])
def test_botocore_does_not_sleep_into_the_margin_before_a_retry(
    seconds_over_margin: float, attempts: int
) -> None:
    # Throttled every time. botocore may sleep up to 1 s before the 2nd attempt and 2 s before the 3rd:
    # a retry is only allowed when the margin is still left after the longest sleep.
    clock = SteppedClock()  # never moves: only the deadline hook can stop the retries
    margin_ms = SETTINGS.deadline_margin_ms
    with RecordingSink(fault=lambda body, seen: (400, "ThrottlingException")) as sink:
        response, summary = process(
            kinesis_event([track("m1", "u1")]),
            SETTINGS,
            client_for(sink.url, max_attempts=5),
            Deadline.of(FakeContext(margin_ms / 1000 + seconds_over_margin, clock), margin_ms),
        )
    assert len(sink.requests) == attempts
    assert response == {"batchItemFailures": [{"itemIdentifier": seq(1)}]}
    assert (summary["calls"], summary["unsent_events"], summary["failed_events"]) == (1, 1, 0)


def test_the_longest_backoff_botocore_may_sleep() -> None:
    class Answer:
        def __init__(self, headers: dict[str, str]) -> None:
            self.headers = headers

    assert [longest_backoff_s(n, None) for n in range(1, 8)] == [1, 2, 4, 8, 16, 20, 20]
    assert longest_backoff_s(2, (Answer({}), {})) == 2
    assert longest_backoff_s(2, (Answer({"x-amz-retry-after": "1500"}), {})) == 7


def test_a_hung_endpoint_does_not_outlive_the_invocation(fresh_client: None) -> None:
    # Every attempt times out (1 s read timeout, the endpoint answers after 3 s). Five attempts would
    # take 5 s and more; the invocation has 3 s. The first timeout leaves 2 s, not enough for the
    # longest backoff and the 2 s margin: the call stops there and all records go back to Lambda.
    settings = StreamSettings(
        tracking_id=TRACKING_ID, connect_timeout=0.5, read_timeout=1.0, deadline_margin_ms=2000
    )
    with RecordingSink(latency=3.0) as sink, pytest.MonkeyPatch.context() as monkeypatch:
        use_sink_endpoint(monkeypatch, sink.url)
        client = lambda_handler.personalize_client(settings)
        context = FakeContext(3.0)
        response, summary = process(
            kinesis_event(one_session(100)),
            settings,
            client,
            Deadline.of(context, settings.deadline_margin_ms),
        )
        assert context.get_remaining_time_in_millis() > 0
    assert response == {"batchItemFailures": [{"itemIdentifier": seq(n)} for n in range(1, 101)]}
    assert (summary["calls"], summary["sent_events"], summary["unsent_events"]) == (1, 0, 100)


def assert_a_prefix_was_sent_and_the_rest_reported(sink: RecordingSink, response: dict[str, Any]) -> None:
    sent = sent_ids(sink)
    assert sent == [f"m{n}" for n in range(1, len(sent) + 1)] and len(sent) % 10 == 0
    assert response == {"batchItemFailures": [{"itemIdentifier": seq(n)} for n in range(len(sent) + 1, 101)]}


def test_a_slow_endpoint_at_the_issues_numbers(
    fresh_client: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The handler as deployed (defaults from the environment), 10 s left, 2 s a call, 100 records in one
    # session: it used to run 20 s. Which calls fit depends on this machine; that every record is either
    # sent or reported, in order, does not.
    with RecordingSink(latency=2.0) as sink:
        use_sink_endpoint(monkeypatch, sink.url)
        context = FakeContext(10.0)
        response = lambda_handler.handler({"Records": kinesis_event(one_session(100))}, context)
        assert context.get_remaining_time_in_millis() > 0
    assert_a_prefix_was_sent_and_the_rest_reported(sink, response)
    (invocation,) = [
        line
        for line in map(json.loads, capsys.readouterr().out.splitlines())
        if line["message"] == "invocation"
    ]
    assert invocation["failed_records"] == len(response["batchItemFailures"])


def test_a_slow_endpoint_scaled_down(fresh_client: None) -> None:
    settings = StreamSettings(
        tracking_id=TRACKING_ID, connect_timeout=0.5, read_timeout=1.0, deadline_margin_ms=2000
    )
    with RecordingSink(latency=0.5) as sink, pytest.MonkeyPatch.context() as monkeypatch:
        use_sink_endpoint(monkeypatch, sink.url)
        context = FakeContext(3.0)
        response, _ = process(
            kinesis_event(one_session(100)),
            settings,
            lambda_handler.personalize_client(settings),
            Deadline.of(context, settings.deadline_margin_ms),
        )
        assert context.get_remaining_time_in_millis() > 0
    assert_a_prefix_was_sent_and_the_rest_reported(sink, response)


def test_an_invocation_that_starts_inside_the_margin_is_a_configuration_error(
    fresh_client: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A function timeout at or below the margin would send nothing, forever: say so instead.
    with RecordingSink() as sink:
        use_sink_endpoint(monkeypatch, sink.url)
        with pytest.raises(ConfigError, match="starts with less than DEADLINE_MARGIN_MS"):
            lambda_handler.handler({"Records": kinesis_event([track("m1", "u1")])}, FakeContext(5.0))
    assert sink.requests == []
    (line,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert line["level"] == "ERROR" and line["message"] == "configuration error"


# --- malformed events ----------------------------------------------------------------------------------

GOOD = kinesis_record(track("m1", "secret-user"), seq(1))


def with_kinesis(**kinesis: Any) -> dict[str, Any]:
    record = json.loads(json.dumps(GOOD))
    record["kinesis"] = {k: v for k, v in {**record["kinesis"], **kinesis}.items() if v is not ...}
    return record


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (None, "malformed event: the event is null, not an object with Records"),
        ([GOOD], "malformed event: the event is list, not an object with Records"),
        ({}, r"malformed event: no Records \(not a Kinesis event source mapping event\)"),
        ({"records": [GOOD]}, r"malformed event: no Records"),
        ({"Records": None}, "malformed event: Records is null, not a list"),
        ({"Records": {"0": GOOD}}, "malformed event: Records is dict, not a list"),
        ({"Records": "[]"}, "malformed event: Records is str, not a list"),
        ({"Records": [GOOD, "record"]}, "malformed event: record 2 of 2 is str, not an object"),
        ({"Records": [GOOD, None]}, "malformed event: record 2 of 2 is null, not an object"),
        ({"Records": [{"data": "e30="}]}, r"record 1 of 1 has no kinesis object \(got null\)"),
        ({"Records": [{"kinesis": "e30="}]}, r"record 1 of 1 has no kinesis object \(got str\)"),
        (
            {"Records": [GOOD, with_kinesis(sequenceNumber=...)]},
            r"malformed event: record 2 of 2 has no kinesis.sequenceNumber string \(got null\)",
        ),
        ({"Records": [with_kinesis(sequenceNumber=None)]}, r"sequenceNumber string \(got null\)"),
        ({"Records": [with_kinesis(sequenceNumber=49590)]}, r"sequenceNumber string \(got int\)"),
        ({"Records": [with_kinesis(sequenceNumber="")]}, r"sequenceNumber string \(got a blank string\)"),
        ({"Records": [with_kinesis(sequenceNumber=" ")]}, r"sequenceNumber string \(got a blank string\)"),
    ],
)
def test_a_malformed_event_fails_the_invocation_with_one_line(
    event: Any,
    message: str,
    fresh_client: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # No batchItemFailures can name a record without a sequence number (an empty itemIdentifier fails the
    # whole batch in Lambda anyway), so nothing is sent and Lambda retries, bisects, then gives up.
    with RecordingSink() as sink:
        use_sink_endpoint(monkeypatch, sink.url)
        with pytest.raises(MalformedEvent, match=message) as raised:
            lambda_handler.handler(event, FakeContext(60.0))
    assert sink.requests == []
    assert "\n" not in str(raised.value)
    out = capsys.readouterr().out
    assert [json.loads(line) for line in out.splitlines()] == [
        {"level": "ERROR", "message": "malformed event", "error": str(raised.value)}
    ]
    assert "secret-user" not in out and "e30=" not in out


def test_process_checks_the_records_too() -> None:
    with pytest.raises(MalformedEvent, match=r"record 1 of 1 has no kinesis\.sequenceNumber"):
        process([{"kinesis": {"data": "e30="}}], SETTINGS, client_for("http://127.0.0.1:9"))


def test_an_empty_batch_is_well_formed(fresh_client: None, monkeypatch: pytest.MonkeyPatch) -> None:
    with RecordingSink() as sink:
        use_sink_endpoint(monkeypatch, sink.url)
        assert lambda_handler.handler({"Records": []}, FakeContext(60.0)) == {"batchItemFailures": []}
    assert sink.requests == []


def test_event_value_is_sent_as_a_float_when_usable() -> None:
    # botocore validates eventValue against the PutEvents model (a Float) before the Stubber answers.
    settings = StreamSettings.from_env({"PERSONALIZE_TRACKING_ID": TRACKING_ID, "EVENT_VALUE_FIELD": "price"})
    client = client_for("http://127.0.0.1:9")  # never reached: the Stubber answers
    order = track(
        "m2",
        "u1",
        event="Order Completed",
        properties={"products": [{"sku": "a", "price": "19.90"}, {"sku": "b", "price": "n/a"}]},
    )
    expected = {
        "trackingId": TRACKING_ID,
        "userId": "u1",
        "sessionId": "anon-1",
        "eventList": [
            {
                "eventId": "m1",
                "eventType": "Product Clicked",
                "itemId": "s",
                "sentAt": at(T0),
                "eventValue": 1e7,
            },
            {
                "eventId": "m2#1",
                "eventType": "Order Completed",
                "itemId": "a",
                "sentAt": at(T0),
                "eventValue": 19.9,
            },
            {"eventId": "m2#2", "eventType": "Order Completed", "itemId": "b", "sentAt": at(T0)},
        ],
    }
    with Stubber(client) as stubber:
        stubber.add_response("put_events", {}, expected)
        response, _ = process(
            kinesis_event([track("m1", "u1", properties={"sku": "s", "price": 1e7}), order]), settings, client
        )
        stubber.assert_no_pending_responses()
    assert response == {"batchItemFailures": []}
