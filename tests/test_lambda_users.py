"""PUT_USERS: identify calls -> PutUsers, through the loopback recording sink (a real boto3 client, the
real service model) and botocore's Stubber where exact parameters are the point."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.stub import Stubber
from personalize_stream import handler as lambda_handler
from personalize_stream.deadline import Deadline
from personalize_stream.handler import process
from personalize_stream.settings import ConfigError, StreamSettings
from personalize_stream.user_updates import MAX_USERS_PER_CALL, property_key
from segment_personalize.personalize_schema import parse_columns

from stream_local.sink import RecordingSink, client_for
from tests.lambda_support import (
    TRACKING_ID,
    FakeContext,
    SteppedClock,
    kinesis_event,
    track,
    use_sink_endpoint,
)

DATASET_ARN = "arn:aws:personalize:us-east-1:123456789012:dataset/sp-group/USERS"
TRAITS = "plan,LIFETIME_VALUE=lifetime_value:float,seats:int"
SETTINGS = StreamSettings(
    tracking_id=TRACKING_ID,
    max_concurrency=1,
    put_users=True,
    user_traits=parse_columns(TRAITS),
    users_dataset_arn=DATASET_ARN,
)
ENV = {"PERSONALIZE_TRACKING_ID": TRACKING_ID, "PUT_USERS": "true", "USER_TRAITS": TRAITS}


def seq(n: int) -> str:
    return f"4959{n:020d}"


def identify(
    user_id: Any, traits: Any, timestamp: str = "2026-11-20T10:00:00.000Z", **extra: Any
) -> dict[str, Any]:
    call = {"type": "identify", "messageId": f"id-{user_id}-{timestamp}", "timestamp": timestamp, **extra}
    if user_id is not None:
        call["userId"] = user_id
    if traits is not None:
        call["traits"] = traits
    return call


def run(payloads: list[Any], sink: RecordingSink, settings: StreamSettings = SETTINGS, attempts: int = 3):
    return process(kinesis_event(payloads), settings, client_for(sink.url, max_attempts=attempts))


def users_of(body: dict[str, Any]) -> list[tuple[str, dict[str, str]]]:
    assert body["datasetArn"] == DATASET_ARN
    return [(user["userId"], json.loads(user["properties"])) for user in body["users"]]


# --- configuration ---------------------------------------------------------------------------------


def test_settings_from_env() -> None:
    settings = StreamSettings.from_env(ENV | {"USERS_DATASET_ARN": f" {DATASET_ARN} "})
    assert (settings.put_users, settings.users_dataset_arn) == (True, DATASET_ARN)
    assert [(c.name, c.source, c.kind) for c in settings.user_traits] == [
        ("plan", "plan", "string"),
        ("LIFETIME_VALUE", "lifetime_value", "float"),
        ("seats", "seats", "int"),
    ]
    # Off by default; traits may be set without PUT_USERS (deploy passes the job's spec along).
    assert StreamSettings.from_env({"PERSONALIZE_TRACKING_ID": TRACKING_ID}).put_users is False
    assert StreamSettings.from_env(ENV | {"PUT_USERS": "False"}).put_users is False


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"PUT_USERS": "true", "USER_TRAITS": " ", "USERS_DATASET_ARN": DATASET_ARN},
            "PUT_USERS=true needs USER_TRAITS: PutUsers sends only the configured traits, and there are none",
        ),
        ({"PUT_USERS": "true", "USER_TRAITS": "plan"}, "PUT_USERS=true needs USERS_DATASET_ARN"),
        ({"PUT_USERS": "yes"}, "PUT_USERS must be true or false, got 'yes'"),
        ({"USER_TRAITS": "plan:bool"}, "USER_TRAITS: 'plan:bool' has type 'bool'"),
        ({"USER_TRAITS": "plan,Plan2=Plan"}, "USER_TRAITS: sources 'plan' and 'Plan' differ only in case"),
        (
            {"USER_TRAITS": "LIFETIME_VALUE=ltv,lifetimeValue=value"},
            "USER_TRAITS: columns 'LIFETIME_VALUE' and 'lifetimeValue' are the same PutUsers property",
        ),
    ],
)
def test_bad_settings_are_one_config_error(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        StreamSettings.from_env({"PERSONALIZE_TRACKING_ID": TRACKING_ID} | env)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_the_handler_logs_one_line_for_put_users_without_traits(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in (ENV | {"USER_TRAITS": "", "USERS_DATASET_ARN": DATASET_ARN}).items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError):
        lambda_handler.handler({"Records": kinesis_event([identify("u1", {"plan": "pro"})])}, None)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["message"] == "configuration error"
    assert "PUT_USERS=true needs USER_TRAITS" in json.loads(lines[0])["error"]


def test_property_keys_are_the_schema_fields_in_camel_case() -> None:
    # PutUsers' model: "numberOfVideosWatched matches the NUMBER_OF_VIDEOS_WATCHED field".
    assert property_key("NUMBER_OF_VIDEOS_WATCHED") == "numberOfVideosWatched"
    names = ("plan", "PLAN", "Plan", "lifetime_value", "lifetimeValue", "CATEGORY_L1")
    assert [property_key(n) for n in names] == [
        "plan",
        "plan",
        "plan",
        "lifetimeValue",
        "lifetimeValue",
        "categoryL1",
    ]


# --- payloads ----------------------------------------------------------------------------------------


def test_exact_payloads_merged_per_user_and_named_skips() -> None:
    payloads = [
        track("m1", "u1"),
        # u1: two identify calls; the later one's plan wins, the earlier one's seats survives.
        identify("u1", {"plan": "pro", "seats": "007", "email": "jane@example.com"}, "2026-11-20T10:00:01Z"),
        identify("u1", {"plan": "enterprise", "lifetime_value": "12.50"}, "2026-11-20T10:00:05Z"),
        # An older call arriving later does not overwrite the newer plan.
        identify("u1", {"plan": "free"}, "2026-11-20T09:00:00Z"),
        identify("u2", {"plan": ["a", "b"], "lifetime_value": 3, "seats": 1.5}),
        identify(None, {"plan": "pro"}, anonymousId="anon-9"),  # no Users record for an anonymous user
        identify({"id": 1}, {"plan": "pro"}),
        identify("u3", {"plan": 1.5, "email": "x@example.com"}),  # nothing configured fits
        identify("u4", None),
        identify("u5", {"plan": "pro"}, timestamp="not a time"),
        {"type": "identify", "userId": "u6", "traits": {"plan": "pro"}},
        {"type": "page", "userId": "u1", "properties": {"plan": "pro"}},
    ]
    with RecordingSink() as sink:
        response, summary = run(payloads, sink)
    assert [users_of(body) for body in sink.accepted_users] == [
        [
            ("u1", {"plan": "enterprise", "lifetimeValue": "12.5", "seats": "7"}),
            ("u2", {"plan": "a|b", "lifetimeValue": "3"}),
        ]
    ]
    assert response == {"batchItemFailures": []}
    assert summary["sent_events"] == 1 and len(sink.accepted) == 1
    # The identify and page records stay skipped as not_track for events.
    assert summary["skipped"] == {"not_track": 11}
    assert {k: summary[k] for k in summary if "user" in k or k in ("identify_records",)} == {
        "identify_records": 10,
        "users_skipped": {
            "invalid_timestamp": 1,
            "invalid_user_id": 1,
            "missing_timestamp": 1,
            "missing_user_id": 1,
            "no_fitting_trait": 1,
            "no_traits": 1,
        },
        "users": 2,
        "put_users_calls": 1,
        "sent_users": 2,
        "rejected_users": 0,
        "failed_users": 0,
        "unsent_users": 0,
    }
    assert summary["trait_values_not_fitting"] == 2  # u2's seats 1.5, u3's plan 1.5


def test_exact_parameters_with_stubber() -> None:
    client = client_for("http://127.0.0.1:9")  # never reached: the Stubber answers
    settings = StreamSettings(
        tracking_id=TRACKING_ID,
        put_users=True,
        user_traits=parse_columns("plan"),
        users_dataset_arn=DATASET_ARN,
    )
    with Stubber(client) as stubber:
        stubber.add_response(
            "put_users",
            {},
            {"datasetArn": DATASET_ARN, "users": [{"userId": "u1", "properties": '{"plan": "pro"}'}]},
        )
        response, summary = process(kinesis_event([identify("u1", {"plan": "pro"})]), settings, client)
        stubber.assert_no_pending_responses()
    assert response == {"batchItemFailures": []} and summary["sent_users"] == 1


def test_put_users_false_sends_no_put_users_and_keeps_todays_summary() -> None:
    payloads = [track("m1", "u1"), identify("u1", {"plan": "pro"})]
    off = StreamSettings(tracking_id=TRACKING_ID, max_concurrency=1, user_traits=parse_columns("plan"))
    with RecordingSink() as sink:
        response, summary = run(payloads, sink, off)
    assert [r.operation for r in sink.requests] == ["PutEvents"]
    assert response == {"batchItemFailures": []}
    assert not any("user" in key for key in summary) and "identify_records" not in summary


def test_users_go_ten_per_call() -> None:
    payloads = [identify(f"u{n:02d}", {"plan": "pro"}) for n in range(1, 24)]
    with RecordingSink() as sink:
        response, summary = run(payloads, sink)
    assert [[u for u, _ in users_of(body)] for body in sink.accepted_users] == [
        [f"u{n:02d}" for n in range(1, 11)],
        [f"u{n:02d}" for n in range(11, 21)],
        [f"u{n:02d}" for n in range(21, 24)],
    ]
    assert MAX_USERS_PER_CALL == 10
    assert (summary["put_users_calls"], summary["sent_users"]) == (3, 23)
    assert response == {"batchItemFailures": []}


# --- faults ------------------------------------------------------------------------------------------


def user_ids(body: dict[str, Any]) -> list[str]:
    return [user["userId"] for user in body.get("users", [])]


def test_a_rejected_user_is_isolated(capsys: pytest.CaptureFixture[str]) -> None:
    def reject_bad(body: dict[str, Any], seen: int):
        return (400, "InvalidInputException") if "bad" in user_ids(body) else None

    payloads = [identify("u1", {"plan": "a"}), identify("bad", {"plan": "b"}), identify("u3", {"plan": "c"})]
    with RecordingSink(fault=reject_bad) as sink:
        response, summary = run(payloads, sink)
    assert [(user_ids(r.body), r.status) for r in sink.requests] == [
        (["u1", "bad", "u3"], 400),
        (["u1"], 200),
        (["bad"], 400),
        (["u3"], 200),
    ]
    assert response == {"batchItemFailures": []}
    assert (summary["sent_users"], summary["rejected_users"], summary["put_users_calls"]) == (2, 1, 4)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    # Each identify record is still logged as skipped (not_track) for events, then the user's outcome.
    assert [line["reason"] for line in lines if line["message"] == "record skipped"] == ["not_track"] * 3
    logged = [line for line in lines if line["message"] != "record skipped"]
    # Sequence numbers and the error code only: no user id, no trait.
    assert logged == [
        {
            "level": "WARNING",
            "message": "user rejected",
            "sequenceNumbers": [seq(2)],
            "error": "InvalidInputException",
        }
    ]


def test_throttling_is_retried_by_botocore() -> None:
    def throttle_first_two(body: dict[str, Any], seen: int):
        return (400, "ThrottlingException") if seen < 2 else None

    with RecordingSink(fault=throttle_first_two) as sink:
        response, summary = run([identify("u1", {"plan": "pro"})], sink, attempts=3)
    assert [(r.operation, r.status) for r in sink.requests] == [("PutUsers", s) for s in (400, 400, 200)]
    assert response == {"batchItemFailures": []} and summary["sent_users"] == 1


def test_a_failed_user_returns_all_its_identify_records_and_only_theirs() -> None:
    def fail_u1(body: dict[str, Any], seen: int):
        return (500, "InternalFailure") if "u1" in user_ids(body) else None

    payloads = [
        identify("u1", {"plan": "a"}, "2026-11-20T10:00:01Z"),
        track("m1", "u2"),
        identify("u1", {"plan": "b"}, "2026-11-20T10:00:02Z"),
    ]
    settings = StreamSettings(
        tracking_id=TRACKING_ID,
        max_concurrency=1,
        max_attempts=2,
        put_users=True,
        user_traits=parse_columns("plan"),
        users_dataset_arn=DATASET_ARN,
    )
    with RecordingSink(fault=fail_u1) as sink:
        response, summary = run(payloads, sink, settings, attempts=2)
    assert response == {"batchItemFailures": [{"itemIdentifier": seq(1)}, {"itemIdentifier": seq(3)}]}
    assert (summary["failed_users"], summary["sent_events"], summary["failed_records"]) == (1, 1, 2)


def test_no_put_users_call_starts_inside_the_margin() -> None:
    # 10 s left, each call costs 2 s, an 8 s margin: the events' one call and the first PutUsers call
    # start (10 s and 8 s left); the second PutUsers call would start at 6 s and does not.
    clock = SteppedClock()

    def charge(body: dict[str, Any], seen: int) -> None:
        clock.advance(2.0)

    payloads = [track("m1", "u1"), *(identify(f"u{n:02d}", {"plan": "pro"}) for n in range(1, 16))]
    with RecordingSink(fault=charge) as sink:
        response, summary = process(
            kinesis_event(payloads),
            SETTINGS,
            client_for(sink.url),
            Deadline.of(FakeContext(10.0, clock), SETTINGS.deadline_margin_ms),
        )
    assert [r.operation for r in sink.requests] == ["PutEvents", "PutUsers"]
    assert [user_ids(body) for body in sink.accepted_users] == [[f"u{n:02d}" for n in range(1, 11)]]
    assert response == {"batchItemFailures": [{"itemIdentifier": seq(n)} for n in range(12, 17)]}
    assert (summary["sent_users"], summary["unsent_users"], summary["failed_records"]) == (10, 5, 5)


@pytest.mark.parametrize(("seconds_over_margin", "attempts"), [(0.5, 1), (1.5, 2)])
def test_botocore_does_not_sleep_into_the_margin_before_a_put_users_retry(
    seconds_over_margin: float, attempts: int
) -> None:
    # The retry veto covers PutUsers too (deadline.OPERATIONS): throttled every time, a retry is only
    # allowed when the margin is still left after botocore's longest sleep (1 s, then 2 s).
    clock = SteppedClock()
    margin_ms = SETTINGS.deadline_margin_ms
    with RecordingSink(fault=lambda body, seen: (400, "ThrottlingException")) as sink:
        response, summary = process(
            kinesis_event([identify("u1", {"plan": "pro"})]),
            SETTINGS,
            client_for(sink.url, max_attempts=5),
            Deadline.of(FakeContext(margin_ms / 1000 + seconds_over_margin, clock), margin_ms),
        )
    assert [r.operation for r in sink.requests] == ["PutUsers"] * attempts
    assert response == {"batchItemFailures": [{"itemIdentifier": seq(1)}]}
    assert (summary["put_users_calls"], summary["unsent_users"], summary["failed_users"]) == (1, 1, 0)


def test_the_handler_reads_put_users_from_its_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lambda_handler.personalize_client.cache_clear()
    with RecordingSink() as sink:
        use_sink_endpoint(monkeypatch, sink.url)
        for name, value in (ENV | {"USERS_DATASET_ARN": DATASET_ARN}).items():
            monkeypatch.setenv(name, value)
        try:
            response = lambda_handler.handler(
                {"Records": kinesis_event([identify("u1", {"plan": "pro", "seats": 3})])}, None
            )
        finally:
            lambda_handler.personalize_client.cache_clear()
    assert response == {"batchItemFailures": []}
    assert [users_of(body) for body in sink.accepted_users] == [[("u1", {"plan": "pro", "seats": "3"})]]
    (invocation,) = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if '"invocation"' in line
    ]
    assert (invocation["sent_users"], invocation["put_users_calls"], invocation["failed_records"]) == (
        1,
        1,
        0,
    )
