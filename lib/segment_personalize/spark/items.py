"""The Items dataset in Spark: spark/metadata.py with ITEM_ID, from the kept events' properties or
products[] entries (items.py says which object is an item's)."""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame, Observation
from pyspark.sql.types import StructField

from segment_personalize.items import ITEMS_HEADER
from segment_personalize.personalize_schema import Column
from segment_personalize.rules import MappingConfig
from segment_personalize.spark import metadata


def property_fields(columns: Sequence[Column], config: MappingConfig) -> list[StructField]:
    """The StringType fields to add to properties and to each product in the read schema: the
    configured properties the interactions' read fields (config.read_fields) do not already read."""
    return metadata.source_schema(columns, config.read_fields)


def latest_items(
    rows: DataFrame,
    columns: Sequence[Column],
    id_column: str = "item_id",
    observation: Observation | None = None,
) -> DataFrame:
    """ITEM_ID + one column per property: the latest fitting value per item (metadata.latest_frame)."""
    return metadata.latest_frame(rows, id_column, ITEMS_HEADER, columns, observation)
