"""Facts about the written datasets that the report needs, computed on the output, not the input."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from segment_personalize.metadata import not_fitting_metric
from segment_personalize.personalize_schema import Column
from segment_personalize.rules import CSV_HEADER
from segment_personalize.spark.metadata import coverage

USER, ITEM, _, TIMESTAMP = CSV_HEADER


def interaction_stats(interactions: DataFrame) -> dict[str, Any]:
    """Rows, distinct users and items, users with 2+ interactions, time span: one pass over the output."""
    keys = interactions.select(
        F.explode(
            F.array(
                F.struct(F.lit("user").alias("kind"), F.col(USER).alias("key"), F.col(TIMESTAMP).alias("ts")),
                F.struct(F.lit("item").alias("kind"), F.col(ITEM).alias("key"), F.col(TIMESTAMP).alias("ts")),
            )
        ).alias("k")
    ).select("k.*")
    per_key = keys.groupBy("kind", "key").agg(
        F.count(F.lit(1)).alias("n"), F.min("ts").alias("first"), F.max("ts").alias("last")
    )
    is_user = F.col("kind") == "user"
    row = per_key.agg(
        F.coalesce(F.sum(F.when(is_user, F.col("n"))), F.lit(0)).alias("rows"),
        F.count(F.when(is_user, 1)).alias("users"),
        F.count(F.when(is_user & (F.col("n") >= 2), 1)).alias("two_plus"),
        F.count(F.when(~is_user, 1)).alias("items"),
        F.min("first").alias("first"),
        F.max("last").alias("last"),
    ).first()
    assert row is not None
    return {
        "rows": int(row["rows"]),
        "distinct_users": int(row["users"]),
        "users_with_2_or_more": int(row["two_plus"]),
        "distinct_items": int(row["items"]),
        "first_timestamp": row["first"],
        "last_timestamp": row["last"],
    }


def metadata_stats(
    interactions: DataFrame, dataset: DataFrame, columns: Sequence[Column], counts: dict[str, int]
) -> dict[str, Any]:
    """A Users or Items dataset's report section, from its read-back CSV (``dataset``: the id column then
    ``columns``) and the counts of its write (MetadataOutput.counts)."""
    key = dataset.columns[0]
    section = coverage(interactions, dataset, key)
    without_id = dataset.where(F.col(key).isNull() | (F.col(key) == "")).count()
    return {
        "rows": section["rows"],
        "rows_written": int(counts["rows_written"]),
        "rows_without_id": without_id,
        "columns": [c.name for c in columns],
        "filled": section["filled"],
        "interactions": section["interactions"],
        "interactions_with_metadata": section["interactions_with_metadata"],
        "share_with_metadata": section["share_with_metadata"],
        # Over the input records (identify calls with a user; kept events' items): values that did not fit.
        "records": int(counts["records"]),
        "values_not_fitting": int(counts["values_not_fitting"]),
        "not_fitting": {c.name: int(counts[not_fitting_metric(c.name)]) for c in columns},
    }
