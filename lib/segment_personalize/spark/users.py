"""The Users dataset in Spark: spark/metadata.py with USER_ID, from identify calls' ``traits``."""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame, Observation
from pyspark.sql.types import StructField, StructType

from segment_personalize.personalize_schema import Column
from segment_personalize.spark import metadata
from segment_personalize.users import TRAITS_FIELD, USERS_HEADER


def traits_field(columns: Sequence[Column]) -> StructField:
    """The read schema's top-level ``traits``: one StringType field per configured trait."""
    return StructField(TRAITS_FIELD, StructType(metadata.source_schema(columns)))


def latest_users(
    rows: DataFrame,
    columns: Sequence[Column],
    id_column: str = "user_id",
    observation: Observation | None = None,
) -> DataFrame:
    """USER_ID + one column per trait: the latest fitting value per user (metadata.latest_frame)."""
    return metadata.latest_frame(rows, id_column, USERS_HEADER, columns, observation)
