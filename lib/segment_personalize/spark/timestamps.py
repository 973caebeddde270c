"""The timestamp rule (segment_personalize.timestamps) as Spark SQL."""

from __future__ import annotations

from segment_personalize import rules
from segment_personalize.spark.sql import Sql, matches


def epoch_seconds(text: Sql) -> Sql:
    """rules.parse_timestamp of ``text``: the rules' regex checks the shape, then the value is read
    without any time-zone lookup.

    Once the regex matched, the first 19 characters are yyyy-MM-ddTHH:mm:ss (no fraction: floor) and
    try_cast reads them as a zone-less timestamp (Feb 30 -> null, in ANSI mode too). The offset, if
    any, is the last six characters; only '+' or a '-' after the date can start one. Spark's
    string-to-timestamp cast of the whole text would resolve its zone text on every row (two regex
    compilations each), four times the cost of all of this, and a zone-less read never depends on
    the session time zone.
    """
    local = f"try_cast(substring({text}, 1, 19) AS TIMESTAMP_NTZ)"
    epoch = "CAST('1970-01-01 00:00:00' AS TIMESTAMP_NTZ)"
    local_seconds = f"CAST(CAST({local} - {epoch} AS INTERVAL SECOND) AS BIGINT)"
    hours, minutes = f"CAST(substring({text}, -5, 2) AS INT)", f"CAST(substring({text}, -2, 2) AS INT)"
    hours_minutes = f"({hours} * 3600 + {minutes} * 60)"
    # The digits are cast only in the branches that have an offset: elsewhere they may not be digits (ANSI).
    offset = (
        f"CASE WHEN contains({text}, '+') THEN {hours_minutes}"
        f" WHEN locate('-', {text}, 12) > 0 THEN -{hours_minutes} ELSE 0 END"
    )
    return f"CASE WHEN {matches(text, rules.TIMESTAMP_BODY)} THEN {local_seconds} - ({offset}) END"
