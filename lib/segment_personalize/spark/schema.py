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

With a Users dataset (dataset_config.py) the schema also reads the top-level ``traits`` object's
configured traits (text in the second shape, read by ``traits_schema``); with an Items dataset, properties
and each product also read the configured item properties. Without them, the schema is exactly the
interactions' one.
"""

from __future__ import annotations

from pyspark.sql.types import ArrayType, StringType, StructField, StructType

from segment_personalize.dataset_config import NO_METADATA, DatasetsConfig
from segment_personalize.identity import PREVIOUS_ID, AnonymousEvents
from segment_personalize.metadata import source_fields
from segment_personalize.rules import PRODUCTS_FIELD, SPARK_JSON_OPTIONS, TIMESTAMP_FIELDS, MappingConfig
from segment_personalize.users import TRAITS_FIELD

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


def object_fields(config: MappingConfig, datasets: DatasetsConfig = NO_METADATA) -> tuple[str, ...]:
    """The fields read from properties and from each product: the interactions' (config.read_fields),
    then the item properties' sources they do not already read."""
    return (*config.read_fields, *source_fields(datasets.item_properties, config.read_fields))


def event_schema(config: MappingConfig, datasets: DatasetsConfig = NO_METADATA) -> StructType:
    properties = StructType(
        [
            *_strings(object_fields(config, datasets)).fields,
            StructField(PRODUCTS_FIELD, ArrayType(product_schema(config, datasets))),
        ]
    )
    traits = [StructField(TRAITS_FIELD, traits_schema(datasets))] if datasets.users else []
    return StructType(
        [
            *_strings(scalar_fields(config)).fields,
            StructField(PROPERTIES_FIELD, properties),
            *traits,
            StructField(CORRUPT_RECORD, StringType()),
        ]
    )


def text_event_schema(config: MappingConfig, datasets: DatasetsConfig = NO_METADATA) -> StructType:
    traits = (TRAITS_FIELD,) if datasets.users else ()
    return _strings((*scalar_fields(config), PROPERTIES_FIELD, *traits, CORRUPT_RECORD))


def properties_schema(config: MappingConfig, datasets: DatasetsConfig = NO_METADATA) -> StructType:
    return _strings((*object_fields(config, datasets), PRODUCTS_FIELD))


def product_schema(config: MappingConfig, datasets: DatasetsConfig = NO_METADATA) -> StructType:
    return _strings(object_fields(config, datasets))


def traits_schema(datasets: DatasetsConfig) -> StructType:
    """The configured traits of ``traits``, each as text (spark/metadata.py reads them so)."""
    return _strings(source_fields(datasets.user_traits))
