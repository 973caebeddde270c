"""Structured logs: one JSON object per line, which CloudWatch Logs Insights parses without a pattern.

Callers pass counts, sequence numbers, eventIds and error codes only: never payloads, user ids, traits,
emails or IP addresses.
"""

from __future__ import annotations

import json
import sys
from typing import Any


def log(level: str, message: str, **fields: Any) -> None:
    print(
        json.dumps({"level": level, "message": message, **fields}, sort_keys=False),
        file=sys.stdout,
        flush=True,
    )
