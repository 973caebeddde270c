"""Read schemas, pruned to the fields the rules look at.

Every leaf is a StringType on purpose: a StringType field accepts any JSON token (Spark renders it as
text), so a field of an unexpected type can never turn a valid line into a corrupt record -- with
Spark 3.5's partial results, a type mismatch anywhere would set ``_corrupt_record`` on the whole line.
Nested objects (properties, products) are read as text too and parsed only for supported events.
"""

from __future__ import annotations

from pyspark.sql.types import StringType, StructField, StructType

from segment_personalize.rules import PRODUCTS_FIELD, TIMESTAMP_FIELDS, MappingConfig

CORRUPT_RECORD = "_corrupt_record"
TOP_LEVEL_FIELDS = ("type", "event", "userId", "anonymousId", "messageId", *TIMESTAMP_FIELDS, "properties")


def _strings(names: tuple[str, ...]) -> StructType:
    return StructType([StructField(name, StringType()) for name in names])


def event_schema() -> StructType:
    return _strings((*TOP_LEVEL_FIELDS, CORRUPT_RECORD))


def properties_schema(config: MappingConfig) -> StructType:
    return _strings((config.item_id_field, PRODUCTS_FIELD))


def product_schema(config: MappingConfig) -> StructType:
    return _strings((config.item_id_field,))
