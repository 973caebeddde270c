"""Kinesis records in the shape a Lambda event source mapping delivers them."""

from __future__ import annotations

import base64
import json
from typing import Any

STREAM_ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/segment-events"


def lambda_record(
    data: bytes,
    sequence_number: str,
    partition_key: str = "pk",
    shard_id: str = "shardId-000000000000",
    arrival: float = 1_700_000_000.0,
    stream_arn: str = STREAM_ARN,
) -> dict[str, Any]:
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": partition_key,
            "sequenceNumber": sequence_number,
            "data": base64.b64encode(data).decode("ascii"),
            "approximateArrivalTimestamp": arrival,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{shard_id}:{sequence_number}",
        "eventName": "aws:kinesis:record",
        "awsRegion": stream_arn.split(":")[3],
        "eventSourceARN": stream_arn,
    }


def partition_key(line: str) -> str:
    """userId, else anonymousId: a session's calls share a shard, so Kinesis keeps their order."""
    try:
        call = json.loads(line)
    except ValueError:
        return "unparsed"
    if isinstance(call, dict):
        for name in ("userId", "anonymousId", "messageId"):
            value = call.get(name)
            if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
                return str(value)[:256]
    return "unkeyed"
