"""Helpers for the Lambda tests: Kinesis records as Lambda delivers them, and clients on a recording sink."""

from __future__ import annotations

import json
from typing import Any

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
