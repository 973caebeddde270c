"""Which Users and Items datasets a run writes, parsed once and checked before Spark starts.

The job's --USER_TRAITS / --ITEM_PROPERTIES (deploy's user_traits / item_properties) and the dataset
group's domain. Parsed with personalize_schema's column specs, checked against Personalize's schema rules
(reserved names, column counts, types) and against what the job's read schema can read
(metadata.validate_sources). Deploy builds the same object from its settings, so the schemas it creates
are the files the job writes (``schemas``). Pure Python: no pyspark.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from segment_personalize.metadata import validate_sources
from segment_personalize.personalize_schema import (
    INTERACTIONS,
    ITEMS,
    USERS,
    Column,
    DatasetSchemas,
    interactions_schema,
    items_schema,
    parse_columns,
    users_schema,
)
from segment_personalize.rules import PRODUCTS_FIELD, MappingConfig


@dataclass(frozen=True)
class DatasetsConfig:
    """The metadata columns of the Users and Items datasets (none: no such dataset) and the domain."""

    user_traits: tuple[Column, ...] = ()
    item_properties: tuple[Column, ...] = ()
    domain: str = ""  # "" (a custom dataset group) or ECOMMERCE: what the schemas are checked against
    # How messages name the two settings: the job's parameters, or deploy's keys.
    names: tuple[str, str] = field(default=("--USER_TRAITS", "--ITEM_PROPERTIES"), compare=False)

    @classmethod
    def from_settings(
        cls,
        mapping: MappingConfig,
        user_traits: str = "",
        item_properties: str = "",
        domain: str = "",
        *,
        names: tuple[str, str] = ("--USER_TRAITS", "--ITEM_PROPERTIES"),
    ) -> DatasetsConfig:
        """The settings as text; ValueError (one line, naming the setting as ``names`` spell it)."""
        users_name, items_name = names
        users = validate_sources(parse_columns(user_traits, users_name), users_name)
        items = validate_sources(
            parse_columns(item_properties, items_name),
            items_name,
            read_fields=mapping.read_fields,
            forbidden=(PRODUCTS_FIELD,),
        )
        config = cls(users, items, domain.strip(), names)
        config.schemas(mapping)  # Personalize's rules, before anything runs
        return config

    @property
    def users(self) -> bool:
        return bool(self.user_traits)

    @property
    def items(self) -> bool:
        return bool(self.item_properties)

    def schemas(self, mapping: MappingConfig) -> DatasetSchemas:
        """The Personalize schema of each dataset a run with ``mapping`` writes; ValueError on a rule."""
        schemas = {
            INTERACTIONS: interactions_schema(
                event_value=mapping.event_value_field is not None,
                event_types=mapping.event_types,
                domain=self.domain,
            )
        }
        if self.users:
            schemas[USERS] = users_schema(self.user_traits, domain=self.domain, setting=self.names[0])
        if self.items:
            schemas[ITEMS] = items_schema(self.item_properties, domain=self.domain, setting=self.names[1])
        return DatasetSchemas(schemas)


NO_METADATA = DatasetsConfig()
