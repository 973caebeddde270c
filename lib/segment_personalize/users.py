"""The Users dataset: user traits from Segment ``identify`` calls (pure Python: the Lambda's PutUsers
and the reference the Spark side is tested against).

Source: an ``identify`` call's top-level ``traits`` object (not ``context.traits``, which Segment copies
from earlier calls and which is therefore not this call's statement). Like ``properties``, traits sent
as a string holding an object's JSON text are read as that object (rules.as_object): Spark reads the
field as text and cannot tell the two apart. Each configured trait is fitted with metadata.fit_value;
USER_ID follows the interactions' id rules (rules.classify_id, stitching included where the job
stitches).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from segment_personalize import rules
from segment_personalize.metadata import MetadataTable, Record, latest_values
from segment_personalize.personalize_schema import Column

USERS_HEADER = "USER_ID"
IDENTIFY_TYPE = "identify"
TRAITS_FIELD = "traits"


def identify_traits(event: Any) -> dict[str, Any] | None:
    """The traits object of an ``identify`` call; None for any other call or when traits is not an object."""
    if not isinstance(event, dict) or rules.spark_text(event.get("type")) != IDENTIFY_TYPE:
        return None
    return rules.as_object(event.get(TRAITS_FIELD))


def latest_user_traits(records: Iterable[Record], columns: Sequence[Column]) -> MetadataTable:
    """(user id, timestamp, traits) records -> the latest fitting value per user and trait."""
    return latest_values(records, columns)
