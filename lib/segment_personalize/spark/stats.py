"""Facts about the written interactions that the report needs, computed on the output, not the input."""

from __future__ import annotations

from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from segment_personalize.rules import CSV_HEADER

USER, ITEM, _, TIMESTAMP = CSV_HEADER


def interaction_stats(interactions: DataFrame) -> dict[str, Any]:
    per_user = interactions.groupBy(USER).agg(
        F.count(F.lit(1)).alias("n"),
        F.min(TIMESTAMP).alias("first"),
        F.max(TIMESTAMP).alias("last"),
    )
    users = per_user.agg(
        F.count(F.lit(1)).alias("users"),
        F.coalesce(F.sum(F.when(F.col("n") >= 2, 1).otherwise(0)), F.lit(0)).alias("two_plus"),
        F.coalesce(F.sum("n"), F.lit(0)).alias("rows"),
        F.min("first").alias("first"),
        F.max("last").alias("last"),
    ).first()
    items = interactions.agg(F.count_distinct(ITEM).alias("items")).first()
    assert users is not None and items is not None
    return {
        "rows": int(users["rows"]),
        "distinct_users": int(users["users"]),
        "users_with_2_or_more": int(users["two_plus"]),
        "distinct_items": int(items["items"]),
        "first_timestamp": users["first"],
        "last_timestamp": users["last"],
    }
