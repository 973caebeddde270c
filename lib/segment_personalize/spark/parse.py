"""The one parse of a line (schema.py's read schema), and the fallback for lines that do not fit it."""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

from segment_personalize import rules
from segment_personalize.dataset_config import NO_METADATA, DatasetsConfig
from segment_personalize.rules import MappingConfig
from segment_personalize.spark.ids import first_usable
from segment_personalize.spark.schema import (
    CORRUPT_RECORD,
    LINE_OPTIONS,
    PROPERTIES_FIELD,
    event_schema,
    product_schema,
    properties_schema,
    scalar_fields,
    text_event_schema,
    traits_schema,
)
from segment_personalize.spark.sql import Sql, from_json, name, sql_string
from segment_personalize.users import TRAITS_FIELD


def parse_event(line: Column, config: MappingConfig, datasets: DatasetsConfig = NO_METADATA) -> Column:
    """A line parsed with the read schema (schema.py); the benchmark's scan floor parses with it too."""
    return F.from_json(line, event_schema(config, datasets), LINE_OPTIONS)


def product_fields(product: Sql, config: MappingConfig, datasets: DatasetsConfig) -> Sql:
    """A struct of schema.product_schema's type from an object read with at least its fields
    (properties, for a single-product event's item properties)."""
    fields = product_schema(config, datasets).fieldNames()
    return "named_struct(" + ", ".join(f"{sql_string(f)}, {product}.{name(f)}" for f in fields) + ")"


def as_text(line: Sql, config: MappingConfig, datasets: DatasetsConfig = NO_METADATA) -> Sql:
    """The fields the rules read, from a line that does not fit the read schema (schema.py).

    Such a line's properties or products are not shaped as objects and arrays (double-encoded JSON
    text, a product that is not an object), so it is parsed with properties as text and the text is
    read the way the rules say. These lines are rare, so the repeated parses below (one expression,
    no staging) cost nothing in practice and keep the common path to a single parse.
    """
    items, options = config.item_id_fields, rules.SPARK_JSON_OPTIONS
    event = from_json(line, text_event_schema(config, datasets), LINE_OPTIONS)
    props = from_json(f"{event}.{PROPERTIES_FIELD}", properties_schema(config, datasets), options)
    products = from_json(f"{props}.{rules.PRODUCTS_FIELD}", "array<string>", options)
    product = from_json("p", product_schema(config, datasets), options)
    product_item = first_usable([f"{product}.{name(item)}" for item in items])
    fields = [
        ("corrupt", f"({event} IS NULL OR {event}.{CORRUPT_RECORD} IS NOT NULL)"),
        *((field, f"{event}.{name(field)}") for field in scalar_fields(config)),
        ("top_item", first_usable([f"{props}.{name(item)}" for item in items])),
        ("product_items", f"transform({products}, p -> {product_item})"),
    ]
    if config.event_value_field is not None:
        value = name(config.event_value_field)
        fields += [
            ("top_value", f"{props}.{value}"),
            ("product_values", f"transform({products}, p -> {product}.{value})"),
        ]
    if datasets.items:
        fields += [
            ("top_props", product_fields(props, config, datasets)),
            ("product_props", f"transform({products}, p -> {product})"),
        ]
    if datasets.users:
        fields.append(("traits", from_json(f"{event}.{TRAITS_FIELD}", traits_schema(datasets), options)))
    return "named_struct(" + ", ".join(f"{sql_string(field)}, {value}" for field, value in fields) + ")"
