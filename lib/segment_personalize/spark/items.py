"""The Items dataset in Spark: spark/metadata.py with ITEM_ID, from the kept events' properties or
products[] entries (items.py says which object is an item's)."""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from segment_personalize.items import ITEMS_HEADER
from segment_personalize.personalize_schema import Column
from segment_personalize.spark import metadata
from segment_personalize.spark.metadata import MetadataOutput
from segment_personalize.spark.sql import Sql

# classify.classify's column, on a kept event: each item's property source (a struct of
# schema.product_schema's type), parallel to its item ids.
ITEM_PROPS = "item_props"


def order_properties(order_items: Sql, product_items: Sql, product_props: Sql) -> Sql:
    """Each kept item's product: the first product whose item id it is (items.item_property_sources),
    as values.item_values finds each item's EVENT_VALUE."""
    first = f"CAST(array_position({product_items}, i) AS INT)"
    return f"transform({order_items}, i -> element_at({product_props}, {first}))"


def item_rows(kept: DataFrame, item_ids: str = "item_ids", timestamp: str = "timestamp") -> DataFrame:
    """Kept events (classify's rows) -> one (item_id, timestamp, fields) record per item, for latest_items."""
    return kept.select(
        F.explode(F.arrays_zip(F.col(item_ids).alias("i"), F.col(ITEM_PROPS).alias("p"))).alias("_z"),
        F.col(timestamp).alias(metadata.TIMESTAMP),
    ).select(F.col("_z.i").alias("item_id"), F.col(metadata.TIMESTAMP), F.col("_z.p").alias(metadata.FIELDS))


def latest_items(rows: DataFrame, columns: Sequence[Column], id_column: str = "item_id") -> MetadataOutput:
    """ITEM_ID + one column per property: the latest fitting value per item (metadata.latest_frame)."""
    return metadata.metadata_output(rows, id_column, ITEMS_HEADER, columns, "items")
