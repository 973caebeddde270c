"""What the crawler and its classifier are: pure request builders, no AWS calls.

The built-in CSV classifier types all-digit ids as bigint (the first non-numeric id then breaks queries)
and, when every column is a string, cannot tell the header from data. A custom classifier with the
header and the types spelled out gives USER_ID / ITEM_ID string, TIMESTAMP bigint and EVENT_VALUE
double every time.

The column set is chosen explicitly, never guessed from the files: the job writes EVENT_VALUE only when
it runs with ``--EVENT_VALUE_FIELD``, and a classifier whose header differs from the files' does not
match them (the crawler then falls back to the built-in classifier and its guesses). So the crawler is
told, by ``CrawlerSpec.event_value``, what the job was told.

The Users and Items folders are cataloged the same way, from the job's --USER_TRAITS / --ITEM_PROPERTIES
(``CrawlerSpec.dataset`` / ``metadata``, ``dataset_specs``): their headers and types come from those specs
through personalize_schema's parser, each folder with its own classifier and crawler.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from string import Template
from typing import Any

from segment_personalize import personalize_schema
from segment_personalize.personalize_schema import INTERACTIONS as INTERACTIONS_DATASET
from segment_personalize.personalize_schema import ITEMS, USERS, parse_columns
from segment_personalize.rules import CSV_HEADER

ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}")
IDENTIFIER = re.compile(r"[a-z0-9_]{1,255}")
# Catalog (Athena/Hive) type -> the classifier's name for it. Glue's CustomDatatypes vocabulary is
# BINARY, BOOLEAN, DATE, DECIMAL, DOUBLE, FLOAT, INT, LONG, SHORT, STRING, TIMESTAMP: bigint is LONG.
CLASSIFIER_TYPES = {"string": "STRING", "bigint": "LONG", "double": "DOUBLE", "int": "INT"}
# A Personalize metadata column's kind (personalize_schema.Column.kind) -> its catalog type. Personalize's
# float is a 32-bit Avro float, but the CSV holds decimal text: double reads every value the job writes.
# int is Personalize's 32-bit Avro int, Athena's int.
METADATA_TYPES = {"string": "string", "float": "double", "int": "int"}
# The id column each dataset's CSV starts with.
ID_COLUMNS = {USERS: "USER_ID", ITEMS: "ITEM_ID"}


class SpecError(ValueError):
    """A crawler setting that AWS would refuse, caught before any call."""


@dataclass(frozen=True)
class Column:
    """One CSV column: its header name as the job writes it, and its type in the catalog."""

    name: str
    type: str
    nullable: bool = False  # the job may leave the cell empty

    @property
    def catalog_name(self) -> str:
        return self.name.lower()  # Athena shows column names lowercased

    @property
    def classifier_type(self) -> str:
        return CLASSIFIER_TYPES[self.type]


INTERACTIONS = tuple(
    Column(name, kind)
    for name, kind in zip(CSV_HEADER, ("string", "string", "string", "bigint"), strict=True)
)
# After TIMESTAMP when the job runs with --EVENT_VALUE_FIELD; empty where the value was unusable.
EVENT_VALUE = Column("EVENT_VALUE", "double", nullable=True)


def interactions_columns(event_value: bool = False) -> tuple[Column, ...]:
    return (*INTERACTIONS, EVENT_VALUE) if event_value else INTERACTIONS


def metadata_columns(dataset: str, spec: str) -> tuple[Column, ...]:
    """A Users or Items CSV's columns: its id, then one per trait / property of the job's spec.

    ``spec`` is the job's --USER_TRAITS / --ITEM_PROPERTIES (``"plan,lifetime_value:float"``), read by
    personalize_schema's parser, so the names are the CSV header the job writes. Every metadata column
    may be empty (a user or item with no fitting value).
    """
    setting = "user_traits" if dataset == USERS else "item_properties"
    try:
        columns = parse_columns(spec, setting)
    except ValueError as error:
        raise SpecError(str(error)) from None
    if not columns:
        raise SpecError(f"{setting} is empty: a {dataset.title()} table needs at least one column")
    return (
        Column(ID_COLUMNS[dataset], "string"),
        *(Column(c.name, METADATA_TYPES[c.kind], nullable=True) for c in columns),
    )


def sibling_folder(s3_target: str, dataset: str) -> str:
    """The job's default Users / Items folder: ``users/`` / ``items/`` beside the interactions folder."""
    parent = s3_target.rstrip("/").rsplit("/", 1)[0]
    return f"{parent}/{dataset.lower()}/"


def sibling_name(name: str, dataset: str) -> str:
    """The crawler / classifier name for another dataset: ``interactions`` in the name becomes it."""
    word = dataset.lower()
    if "interactions" in name:
        head, _, tail = name.rpartition("interactions")
        return f"{head}{word}{tail}"
    return f"{name}-{word}"


@dataclass(frozen=True)
class CrawlerSpec:
    s3_target: str
    role_arn: str
    database: str = "segmentdata"
    crawler_name: str = "segment-personalize-interactions"
    classifier_name: str = "personalize-interactions-csv"
    table_prefix: str = ""
    event_value: bool = False  # the job writes EVENT_VALUE (it runs with --EVENT_VALUE_FIELD)
    # INTERACTIONS, or USERS / ITEMS with ``metadata`` = the job's --USER_TRAITS / --ITEM_PROPERTIES.
    dataset: str = INTERACTIONS_DATASET
    metadata: str = ""

    def __post_init__(self) -> None:
        if not re.fullmatch(r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?", self.s3_target):
            raise SpecError(
                f"the crawler target must be an s3://bucket/prefix/ folder, got {self.s3_target!r}"
            )
        if not ROLE_ARN.fullmatch(self.role_arn):
            raise SpecError(
                f"the crawler role must be an IAM role ARN (arn:aws:iam::<account>:role/<name>), "
                f"got {self.role_arn!r}"
            )
        if not IDENTIFIER.fullmatch(self.database):
            raise SpecError(
                f"the database name must be lowercase letters, digits and _, got {self.database!r}"
            )
        if self.dataset not in personalize_schema.DATASET_TYPES:
            raise SpecError(f"dataset must be one of {', '.join(personalize_schema.DATASET_TYPES)}")
        if self.dataset != INTERACTIONS_DATASET:
            metadata_columns(self.dataset, self.metadata)  # a bad spec is refused here, before any call

    @property
    def bucket(self) -> str:
        return self.s3_target.removeprefix("s3://").split("/", 1)[0]

    @property
    def table(self) -> str:
        """The crawler names the table after the target folder (lowercased, non-alphanumerics as _)."""
        folder = self.s3_target.rstrip("/").rsplit("/", 1)[-1]
        return self.table_prefix + re.sub(r"[^a-z0-9_]", "_", folder.lower())

    @property
    def columns(self) -> tuple[Column, ...]:
        if self.dataset == INTERACTIONS_DATASET:
            return interactions_columns(self.event_value)
        return metadata_columns(self.dataset, self.metadata)

    @property
    def column_names(self) -> tuple[str, ...]:
        """The table's column names as Athena shows them (what saved queries may require)."""
        return tuple(c.catalog_name for c in self.columns)


def dataset_specs(
    interactions: CrawlerSpec,
    *,
    user_traits: str = "",
    item_properties: str = "",
    users_target: str = "",
    items_target: str = "",
) -> tuple[CrawlerSpec, ...]:
    """The interactions spec, then one per configured Users / Items dataset.

    Each folder gets its own classifier and crawler (names derived from the interactions ones:
    ``segment-personalize-users``, ``personalize-users-csv``). One crawler over the three folders would
    need its classifiers to pick files by header, and Glue does not document that a custom CSV
    classifier with a header refuses files with another one: the first could type them all. One
    classifier per crawler makes each table's types certain.
    """
    specs = [interactions]
    for dataset, spec, target in ((USERS, user_traits, users_target), (ITEMS, item_properties, items_target)):
        if spec.strip():
            specs.append(
                CrawlerSpec(
                    s3_target=target or sibling_folder(interactions.s3_target, dataset),
                    role_arn=interactions.role_arn,
                    database=interactions.database,
                    crawler_name=sibling_name(interactions.crawler_name, dataset),
                    classifier_name=sibling_name(interactions.classifier_name, dataset),
                    table_prefix=interactions.table_prefix,
                    dataset=dataset,
                    metadata=spec,
                )
            )
    return tuple(specs)


def csv_classifier(name: str, columns: Sequence[Column]) -> dict[str, Any]:
    """A custom CSV classifier for files with exactly this header."""
    return {
        "Name": name,
        "Delimiter": ",",
        "QuoteSymbol": '"',
        "ContainsHeader": "PRESENT",
        "Header": [c.name for c in columns],
        "DisableValueTrimming": True,  # the job writes values verbatim; so must the catalog read them
        "AllowSingleColumn": False,
        "CustomDatatypeConfigured": True,
        "CustomDatatypes": [c.classifier_type for c in columns],
        # The job quotes a field only when it holds a comma or a quote: left to detect, the crawler
        # would pick LazySimpleSerDe for a sample without quotes, which splits "sku,with,commas".
        "Serde": "OpenCSVSerDe",
    }


def classifier_request(spec: CrawlerSpec) -> dict[str, Any]:
    return csv_classifier(spec.classifier_name, spec.columns)


def crawler_request(spec: CrawlerSpec) -> dict[str, Any]:
    return {
        "Name": spec.crawler_name,
        "Role": spec.role_arn,
        "DatabaseName": spec.database,
        "Description": (
            f"Catalogs the Segment -> Personalize {spec.dataset.lower()} CSV (segment-personalize)"
        ),
        # The job's output folder holds only part files: exclusions guard against a stray report or
        # marker file ever becoming a second table.
        "Targets": {
            "S3Targets": [{"Path": spec.s3_target, "Exclusions": ["**.json", "**_SUCCESS", "**.crc"]}]
        },
        "Classifiers": [spec.classifier_name],
        "TablePrefix": spec.table_prefix,
        # The job rewrites the folder on every run; new columns update the table, removals only log.
        "SchemaChangePolicy": {"UpdateBehavior": "UPDATE_IN_DATABASE", "DeleteBehavior": "LOG"},
        "RecrawlPolicy": {"RecrawlBehavior": "CRAWL_EVERYTHING"},
        # One table for the folder, however many part files it holds.
        "Configuration": json.dumps(
            {"Version": 1.0, "Grouping": {"TableGroupingPolicy": "CombineCompatibleSchemas"}}, sort_keys=True
        ),
    }


# OpenCSVSerde cannot read an empty cell as a NULL number: without this, Athena fails the whole query
# with HIVE_BAD_DATA on the first empty EVENT_VALUE. The job writes a plain decimal or nothing, so the
# only cells this turns into NULL are the empty ones.
NULL_FOR_INVALID = "use.null.for.invalid.data"


def table_parameters(columns: Sequence[Column]) -> dict[str, str]:
    """Table properties the columns need beyond what the crawler sets."""
    nullable_numbers = any(c.nullable and c.type != "string" for c in columns)
    return {NULL_FOR_INVALID: "TRUE"} if nullable_numbers else {}


def create_table_ddl(database: str, table: str, location: str, columns: Sequence[Column]) -> str:
    """CREATE EXTERNAL TABLE for a folder of the job's CSV files with this header."""
    template = Template(resources.files("crawler").joinpath("csv_table.sql").read_text())
    properties = {
        "classification": "csv",
        "skip.header.line.count": "1",
        "areColumnsQuoted": "false",
        **table_parameters(columns),
    }
    return template.substitute(
        database=database,
        table=table,
        location=location,
        columns=",\n".join(f"  `{c.catalog_name}` {c.type}" for c in columns),
        properties=", ".join(f"'{k}' = '{v}'" for k, v in properties.items()),
    )


def table_ddl(spec: CrawlerSpec) -> str:
    """The explicit DDL that makes the same table without a crawler."""
    return create_table_ddl(spec.database, spec.table, spec.s3_target, spec.columns)
