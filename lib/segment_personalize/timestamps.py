"""The timestamp rule: which field holds a call's time, and ISO-8601 text -> epoch seconds.

This module must not import pyspark: the Lambda package ships it without Spark.
"""

from __future__ import annotations

import calendar
import re
from datetime import datetime
from typing import Any

from segment_personalize.ids import spark_text

# The first present field wins; a present but unparseable value is not skipped over, because
# receivedAt is Segment's clock, not the user's, and silently substituting it would skew training data.
TIMESTAMP_FIELDS = ("timestamp", "originalTimestamp", "receivedAt")

# ISO-8601 date-time: 'T' separator, 0-9 fraction digits, 'Z' or +hh:mm/-hh:mm, no zone = UTC.
# Groups: 1 = date, 2 = time to the second, 3 = zone (absent, 'Z' or offset). Field ranges are
# checked here, so that only day-of-month overflow (Feb 30) is left for the calendar to reject;
# second 60 is refused because Spark's make_timestamp and Python's datetime disagree on it. Offsets
# stop at +-18:00, Java's ZoneOffset range (real zones span -12:00..+14:00): Spark cannot parse beyond.
TIMESTAMP_BODY = (
    r"((?!0000)[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01]))"
    r"T((?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9])"
    r"(?:\.[0-9]{1,9})?"
    r"(Z|[+-](?:(?:0[0-9]|1[0-7]):[0-5][0-9]|18:00))?"
)
TIMESTAMP_GROUP_DATE, TIMESTAMP_GROUP_TIME, TIMESTAMP_GROUP_ZONE = 1, 2, 3

_TIMESTAMP = re.compile(TIMESTAMP_BODY)


def parse_timestamp(value: Any) -> int | None:
    """ISO-8601 text -> integer epoch seconds (floor); None when it does not parse."""
    text = spark_text(value) if not isinstance(value, float | dict | list) else None
    match = _TIMESTAMP.fullmatch(text) if text is not None else None
    if match is None:
        return None
    try:
        local = datetime.fromisoformat(f"{match[TIMESTAMP_GROUP_DATE]}T{match[TIMESTAMP_GROUP_TIME]}")
    except ValueError:  # day-of-month overflow, e.g. 2019-02-29
        return None
    seconds = calendar.timegm(local.timetuple())
    zone = match[TIMESTAMP_GROUP_ZONE]
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        seconds -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    # Fractions are dropped: epoch seconds of whole-second wall time plus a non-negative fraction
    # floors to the whole second, before 1970 too.
    return seconds
