"""Helpers for the Lambda tests: Kinesis records as Lambda delivers them, and clients on a recording sink."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from stream_local.kinesis import lambda_record

TRACKING_ID = "11111111-2222-3333-4444-555555555555"


def kinesis_record(payload: str | dict[str, Any] | bytes, sequence_number: str) -> dict[str, Any]:
    if isinstance(payload, dict):
        payload = json.dumps(payload)
    return lambda_record(payload if isinstance(payload, bytes) else payload.encode("utf-8"), sequence_number)


def kinesis_event(payloads: list[Any]) -> list[dict[str, Any]]:
    """Records numbered 1..n (as strings of growing sequence numbers)."""
    return [kinesis_record(p, f"4959{n:020d}") for n, p in enumerate(payloads, start=1)]


def track(
    message_id: str,
    user_id: Any,
    event: str = "Product Clicked",
    sku: Any = "sku-1",
    timestamp: str = "2026-11-20T10:00:00.000Z",
    anonymous_id: str | None = "anon-1",
    **extra: Any,
) -> dict[str, Any]:
    call: dict[str, Any] = {
        "type": "track",
        "event": event,
        "messageId": message_id,
        "userId": user_id,
        "timestamp": timestamp,
        "properties": {"sku": sku},
        "context": {"ip": "203.0.113.9", "traits": {"email": "jane@example.com"}},
        **extra,
    }
    if anonymous_id is not None:
        call["anonymousId"] = anonymous_id
    return call


class FakeContext:
    """Lambda's context as far as the handler reads it: the time left, counted on ``clock`` (seconds)."""

    def __init__(self, budget_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._deadline = clock() + budget_s

    def get_remaining_time_in_millis(self) -> int:
        return int((self._deadline - self._clock()) * 1000)


class SteppedClock:
    """A clock that moves only when told, e.g. by a sink's fault hook: each request costs what a test says."""

    def __init__(self) -> None:
        self._now = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


def use_sink_endpoint(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    """The environment the handler's own client reads, pointed at a sink (as stream_local does)."""
    for name, value in {
        "PERSONALIZE_TRACKING_ID": TRACKING_ID,
        "AWS_ENDPOINT_URL_PERSONALIZE_EVENTS": url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
