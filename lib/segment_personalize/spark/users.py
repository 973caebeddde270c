"""The Users dataset in Spark: spark/metadata.py with USER_ID, from identify calls' ``traits``."""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from segment_personalize.personalize_schema import Column
from segment_personalize.spark import metadata
from segment_personalize.spark.metadata import MetadataOutput
from segment_personalize.users import USERS_HEADER

# classify.classify's column: on a trait row (an identify call that can describe a user, its drop_reason
# still not_track), the configured traits' texts. The row's USER_ID is the user it describes; under
# stitch or keep, an anonymous call's is found by identity.settle, as for anonymous events.
TRAITS = "traits"


def user_rows(rows: DataFrame, user_id: str = "user_id", timestamp: str = "timestamp") -> DataFrame:
    """Classified (or settled) rows -> one (user_id, timestamp, fields) record per trait row with a user."""
    return rows.where(F.col(TRAITS).isNotNull() & F.col(user_id).isNotNull()).select(
        F.col(user_id).alias("user_id"),
        F.col(timestamp).alias(metadata.TIMESTAMP),
        F.col(TRAITS).alias(metadata.FIELDS),
    )


def latest_users(rows: DataFrame, columns: Sequence[Column], id_column: str = "user_id") -> MetadataOutput:
    """USER_ID + one column per trait: the latest fitting value per user (metadata.latest_frame)."""
    return metadata.metadata_output(rows, id_column, USERS_HEADER, columns, "users")
