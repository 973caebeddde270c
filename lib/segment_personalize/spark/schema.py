"""Read schemas, pruned to the fields the rules look at.

Every leaf is a StringType on purpose: a StringType field accepts any JSON token (Spark renders it as
text), so an id or a timestamp of an unexpected type can never turn a valid line into a corrupt record
-- with Spark 3.5's partial results, a type mismatch anywhere sets ``_corrupt_record`` on the whole line.

Two shapes of the same fields:
  * ``event_schema`` -- the read schema: properties and products as the objects and arrays Segment
    sends, so a line is parsed once. A line where they have another shape (double-encoded JSON text,
    a product that is not an object) does not fit it and comes out marked corrupt...
  * ``text_event_schema`` -- ...and only those lines are parsed again with properties as text, which
    accepts any shape; ``properties_schema`` and ``product_schema`` then read that text as the rules say.
"""

from __future__ import annotations

from pyspark.sql.types import ArrayType, StringType, StructField, StructType

from segment_personalize.identity import PREVIOUS_ID, AnonymousEvents
from segment_personalize.rules import PRODUCTS_FIELD, SPARK_JSON_OPTIONS, TIMESTAMP_FIELDS, MappingConfig

CORRUPT_RECORD = "_corrupt_record"
# How a whole line is read: the rules' JSON options, with bad lines marked in CORRUPT_RECORD.
LINE_OPTIONS = SPARK_JSON_OPTIONS | {"columnNameOfCorruptRecord": CORRUPT_RECORD}
PROPERTIES_FIELD = "properties"
SCALAR_FIELDS = ("type", "event", "userId", "anonymousId", "messageId", *TIMESTAMP_FIELDS)


def scalar_fields(config: MappingConfig) -> tuple[str, ...]:
    """The top-level fields read as text: an alias call's previousId only when identity is stitched."""
    if config.anonymous_events is AnonymousEvents.DROP:
        return SCALAR_FIELDS
    return (*SCALAR_FIELDS, PREVIOUS_ID)


def _strings(names: tuple[str, ...]) -> StructType:
    return StructType([StructField(name, StringType()) for name in names])


def event_schema(config: MappingConfig) -> StructType:
    properties = StructType(
        [
            *_strings(config.read_fields).fields,
            StructField(PRODUCTS_FIELD, ArrayType(product_schema(config))),
        ]
    )
    return StructType(
        [
            *_strings(scalar_fields(config)).fields,
            StructField(PROPERTIES_FIELD, properties),
            StructField(CORRUPT_RECORD, StringType()),
        ]
    )


def text_event_schema(config: MappingConfig) -> StructType:
    return _strings((*scalar_fields(config), PROPERTIES_FIELD, CORRUPT_RECORD))


def properties_schema(config: MappingConfig) -> StructType:
    return _strings((*config.read_fields, PRODUCTS_FIELD))


def product_schema(config: MappingConfig) -> StructType:
    return _strings(config.read_fields)
