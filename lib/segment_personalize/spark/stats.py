"""Facts about the written interactions that the report needs, computed on the output, not the input."""

from __future__ import annotations

from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from segment_personalize.rules import CSV_HEADER

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
