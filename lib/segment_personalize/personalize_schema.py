"""Amazon Personalize dataset schemas (Avro JSON) for the datasets this project produces, validated.

Pure Python (no pyspark): the job writes these files beside its outputs, and deploy creates the
Personalize schemas from the same functions with the same settings, so both always agree.

Column specs are the job's and deploy's settings, e.g. ``"plan,country,lifetime_value:float"``:
each entry is ``[COLUMN=]source[:type]``. ``source`` is the Segment trait or property to read,
``COLUMN`` the schema field / CSV header (default: the source name), ``type`` one of ``string``
(the default: a categorical string), ``float`` or ``int`` (numerical). The ``COLUMN=`` form exists for
the ECOMMERCE domain's reserved item fields: ``CATEGORY_L1=category,PRICE=price:float``.

Every rule checked here is Personalize's; a schema that breaks one raises ``ValueError`` with one line
naming the column and the rule (the config layers turn it into their ConfigError). Sources:
- General schema rules (Avro record, field types, ``categorical``, null unions):
  https://docs.aws.amazon.com/personalize/latest/dg/how-it-works-dataset-schema.html
- Required fields and reserved keywords, custom dataset groups:
  https://docs.aws.amazon.com/personalize/latest/dg/custom-datasets-and-schemas.html
- ECOMMERCE domain (items need PRICE float and CATEGORY_L1 categorical string; reserved item fields):
  https://docs.aws.amazon.com/personalize/latest/dg/ECOMMERCE-datasets-and-schemas.html and
  https://docs.aws.amazon.com/personalize/latest/dg/ECOMMERCE-items-dataset.html
- Quotas (interactions: at most 5 metadata columns, and distinct event types + metadata columns at
  most 10; users: at most 25 metadata fields; items: at most 100):
  https://docs.aws.amazon.com/personalize/latest/dg/limits.html
- The CreateSchema API: schema JSON at most 20000 characters (botocore model, AvroSchema max 20000).
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

NAMESPACE = "com.amazonaws.personalize.schema"
INTERACTIONS, USERS, ITEMS = "INTERACTIONS", "USERS", "ITEMS"
DATASET_TYPES = (INTERACTIONS, USERS, ITEMS)
DOMAINS = ("", "ECOMMERCE")  # "" is a custom dataset group

# Avro names (https://avro.apache.org/docs/current/specification/#names): Personalize fields are Avro fields.
NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# The spec's source (a Segment trait or property name) is looser: anything but the spec's separators.
SOURCE_PATTERN = re.compile(r"[^,=:]+")
MAX_SCHEMA_CHARS = 20000
MAX_METADATA = {INTERACTIONS: 5, USERS: 25, ITEMS: 100}
MAX_EVENT_TYPES_PLUS_METADATA = 10
TYPES = {"string": "string", "float": "float", "int": "int"}

# Reserved keywords per dataset type (custom dataset groups): a metadata column may not take these names.
RESERVED = {
    INTERACTIONS: {
        "USER_ID",
        "ITEM_ID",
        "TIMESTAMP",
        "EVENT_TYPE",
        "EVENT_VALUE",
        "IMPRESSION",
        "RECOMMENDATION_ID",
        "EVENT_ATTRIBUTION_SOURCE",
    },
    USERS: {"USER_ID"},
    ITEMS: {"ITEM_ID", "CREATION_TIMESTAMP"},
}
# ECOMMERCE items: reserved fields a column may take, with the type Personalize requires of them.
ECOMMERCE_ITEM_FIELDS = {
    "PRICE": "float",
    "CATEGORY_L1": "string",
    "CATEGORY_L2": "string",
    "CATEGORY_L3": "string",
    "AGE_GROUP": "string",
    "ADULT": "string",
    "GENDER": "string",
}
ECOMMERCE_ITEM_REQUIRED = ("PRICE", "CATEGORY_L1")
# Textual and timestamp reserved fields this project never fills.
ECOMMERCE_ITEM_RESERVED = {"PRODUCT_DESCRIPTION", "CREATION_TIMESTAMP"}


@dataclass(frozen=True)
class Column:
    name: str  # the schema field and CSV header
    source: str  # the Segment trait / property it is read from
    kind: str = "string"  # string (categorical), float, int

    @property
    def field(self) -> dict[str, object]:
        # Metadata may be missing for a user or item: a null union, which Personalize allows for metadata.
        field: dict[str, object] = {"name": self.name, "type": ["null", TYPES[self.kind]]}
        if self.kind == "string":
            field["categorical"] = True
        return field


def parse_columns(spec: str | Iterable[str], setting: str = "columns") -> tuple[Column, ...]:
    """``"plan,country,lifetime_value:float"`` -> Columns. ``setting`` names the key in messages."""
    entries = spec.split(",") if isinstance(spec, str) else list(spec)
    columns = []
    for raw in entries:
        entry = raw.strip()
        if not entry:
            if isinstance(spec, str) and spec.strip() == "":
                return ()
            raise ValueError(f"{setting}: empty entry in {spec!r}")
        body, _, kind = entry.partition(":")
        kind = kind.strip() or "string"
        if kind not in TYPES:
            raise ValueError(f"{setting}: {entry!r} has type {kind!r}; use string (default), float or int")
        name, eq, source = body.partition("=")
        name, source = name.strip(), (source.strip() if eq else name.strip())
        if not SOURCE_PATTERN.fullmatch(source):
            raise ValueError(f"{setting}: {entry!r} has no valid source name")
        columns.append(Column(name=name, source=source, kind=kind))
    return tuple(columns)


def _check_names(dataset: str, columns: Sequence[Column], setting: str, domain: str) -> None:
    seen: set[str] = set()
    for column in columns:
        if not NAME_PATTERN.fullmatch(column.name):
            raise ValueError(
                f"{setting}: column name {column.name!r} is not a valid Personalize (Avro) field name: "
                "letters, digits and _, not starting with a digit (use COLUMN=source to rename)"
            )
        upper = column.name.upper()
        if upper in seen:
            raise ValueError(f"{setting}: column {column.name!r} appears twice (names are case-insensitive)")
        seen.add(upper)
        if upper in RESERVED[dataset] and not (domain == "ECOMMERCE" and upper in ECOMMERCE_ITEM_FIELDS):
            raise ValueError(f"{setting}: {column.name!r} is a reserved field of the {dataset} dataset")
        if dataset == ITEMS and domain == "ECOMMERCE":
            if upper in ECOMMERCE_ITEM_RESERVED:
                raise ValueError(f"{setting}: {column.name!r} is a reserved ECOMMERCE item field")
            wanted = ECOMMERCE_ITEM_FIELDS.get(upper)
            if wanted and (column.kind != wanted or column.name != upper):
                raise ValueError(
                    f"{setting}: the ECOMMERCE reserved field {upper} must be named {upper} and be "
                    f"{'a categorical string' if wanted == 'string' else wanted}"
                )
    limit = MAX_METADATA[dataset]
    if len(columns) > limit:
        raise ValueError(
            f"{setting}: {len(columns)} columns; Personalize allows at most {limit} in {dataset}"
        )


def _record(name: str, fields: list[dict[str, object]]) -> dict[str, object]:
    return {"type": "record", "name": name, "namespace": NAMESPACE, "fields": fields, "version": "1.0"}


def _checked(schema: dict[str, object]) -> dict[str, object]:
    if len(schema_json(schema)) > MAX_SCHEMA_CHARS:
        raise ValueError(f"the {schema['name']} schema exceeds Personalize's {MAX_SCHEMA_CHARS} characters")
    return schema


def _domain(domain: str) -> str:
    if domain not in DOMAINS:
        raise ValueError(f"domain must be empty (a custom dataset group) or ECOMMERCE, got {domain!r}")
    return domain


def interactions_schema(
    *,
    event_value: bool = False,
    metadata: Sequence[Column] = (),
    event_types: Sequence[str] = (),
    domain: str = "",
) -> dict[str, object]:
    """USER_ID, ITEM_ID, EVENT_TYPE, TIMESTAMP, [EVENT_VALUE], [metadata]: the job's CSV column order.

    ``event_types`` are the distinct event types the job keeps (its SUPPORTED_EVENTS): Personalize
    counts them together with the metadata columns.
    """
    _domain(domain)
    _check_names(INTERACTIONS, metadata, "interaction metadata", domain)
    distinct = {e for e in event_types}
    if len(distinct) + len(metadata) > MAX_EVENT_TYPES_PLUS_METADATA:
        raise ValueError(
            f"{len(distinct)} event types + {len(metadata)} interaction metadata columns: Personalize allows "
            f"at most {MAX_EVENT_TYPES_PLUS_METADATA} together"
        )
    fields: list[dict[str, object]] = [
        {"name": "USER_ID", "type": "string"},
        {"name": "ITEM_ID", "type": "string"},
        {"name": "EVENT_TYPE", "type": "string"},
        {"name": "TIMESTAMP", "type": "long"},
    ]
    if event_value:
        # Reserved as (float, null): a call without a usable value leaves the cell empty.
        fields.append({"name": "EVENT_VALUE", "type": ["null", "float"]})
    fields += [column.field for column in metadata]
    return _checked(_record("Interactions", fields))


def users_schema(
    columns: Sequence[Column], *, domain: str = "", setting: str = "user_traits"
) -> dict[str, object]:
    """``setting``: the setting the columns come from, as messages name it (the job's --USER_TRAITS)."""
    _domain(domain)
    if not columns:
        raise ValueError(f"{setting}: a Users dataset needs at least one metadata column")
    _check_names(USERS, columns, setting, domain)
    return _checked(_record("Users", [{"name": "USER_ID", "type": "string"}, *(c.field for c in columns)]))


def items_schema(
    columns: Sequence[Column], *, domain: str = "", setting: str = "item_properties"
) -> dict[str, object]:
    _domain(domain)
    if not columns:
        raise ValueError(f"{setting}: an Items dataset needs at least one metadata column")
    _check_names(ITEMS, columns, setting, domain)
    if domain == "ECOMMERCE":
        names = {c.name for c in columns}
        missing = [f for f in ECOMMERCE_ITEM_REQUIRED if f not in names]
        if missing:
            raise ValueError(
                f"{setting}: an ECOMMERCE Items dataset needs {' and '.join(missing)} "
                "(e.g. CATEGORY_L1=category,PRICE=price:float)"
            )
    fields: list[dict[str, object]] = [{"name": "ITEM_ID", "type": "string"}]
    for column in columns:
        field = column.field
        if domain == "ECOMMERCE" and column.name in ECOMMERCE_ITEM_REQUIRED:
            field["type"] = TYPES[column.kind]  # required fields: not nullable
        fields.append(field)
    return _checked(_record("Items", fields))


def schema_json(schema: dict[str, object]) -> str:
    """The one text form (CreateSchema's ``schema``, the job's file): compact, key order as built."""
    return json.dumps(schema, separators=(",", ":"))


@dataclass(frozen=True)
class DatasetSchemas:
    """The schema of each dataset a run produces, by dataset type (INTERACTIONS always)."""

    schemas: dict[str, dict[str, object]]

    def texts(self) -> dict[str, str]:
        return {kind: schema_json(schema) for kind, schema in self.schemas.items()}


def dataset_schemas(
    *,
    user_traits: str = "",
    item_properties: str = "",
    event_value: bool = False,
    event_types: Sequence[str] = (),
    interaction_metadata: str = "",
    domain: str = "",
) -> DatasetSchemas:
    """Every schema for one configuration; raises ValueError on the first rule broken."""
    schemas = {
        INTERACTIONS: interactions_schema(
            event_value=event_value,
            metadata=parse_columns(interaction_metadata, "interaction metadata"),
            event_types=event_types,
            domain=domain,
        )
    }
    users = parse_columns(user_traits, "user_traits")
    if users:
        schemas[USERS] = users_schema(users, domain=domain)
    items = parse_columns(item_properties, "item_properties")
    if items:
        schemas[ITEMS] = items_schema(items, domain=domain)
    return DatasetSchemas(schemas)


def schema_file_path(output_path: str, dataset: str) -> str:
    """Beside the output, never inside a data folder: ``x/interactions/`` -> ``x/interactions.schema.json``.

    Users and items are siblings of the interactions folder (``users/``, ``items/``), so their schema files
    are ``.../users.schema.json`` and ``.../items.schema.json``, like the run report beside the output.
    """
    folder = output_path.rstrip("/")
    if dataset == INTERACTIONS:
        return folder + ".schema.json"
    parent = posixpath.dirname(folder)
    name = f"{dataset.lower()}.schema.json"
    return f"{parent}/{name}" if parent else name  # a relative output with no folder: beside it, here


def schema_files(output_path: str, schemas: DatasetSchemas) -> dict[str, str]:
    """{path: JSON text} for each schema: the caller writes them (the job with its own writer)."""
    return {schema_file_path(output_path, kind): text + "\n" for kind, text in schemas.texts().items()}
