"""What the crawler and its classifier are: pure request builders, no AWS calls.

The built-in CSV classifier types all-digit ids as bigint (the first non-numeric id then breaks queries)
and, when every column is a string, cannot tell the header from data. A custom classifier with the
header and the types spelled out gives USER_ID / ITEM_ID string and TIMESTAMP bigint every time.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from string import Template
from typing import Any

from segment_personalize.rules import CSV_HEADER

# The catalog's view of the job's CSV: Athena lowercases column names.
COLUMN_TYPES = ("string", "string", "string", "bigint")
ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}")
IDENTIFIER = re.compile(r"[a-z0-9_]{1,255}")


class SpecError(ValueError):
    """A crawler setting that AWS would refuse, caught before any call."""


@dataclass(frozen=True)
class CrawlerSpec:
    s3_target: str
    role_arn: str
    database: str = "segmentdata"
    crawler_name: str = "segment-personalize-interactions"
    classifier_name: str = "personalize-interactions-csv"
    table_prefix: str = ""

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

    @property
    def bucket(self) -> str:
        return self.s3_target.removeprefix("s3://").split("/", 1)[0]

    @property
    def table(self) -> str:
        """The crawler names the table after the target folder (lowercased, non-alphanumerics as _)."""
        folder = self.s3_target.rstrip("/").rsplit("/", 1)[-1]
        return self.table_prefix + re.sub(r"[^a-z0-9_]", "_", folder.lower())


def classifier_request(spec: CrawlerSpec) -> dict[str, Any]:
    return {
        "Name": spec.classifier_name,
        "Delimiter": ",",
        "QuoteSymbol": '"',
        "ContainsHeader": "PRESENT",
        "Header": list(CSV_HEADER),
        "DisableValueTrimming": True,  # the job writes values verbatim; so must the catalog read them
        "AllowSingleColumn": False,
        "CustomDatatypeConfigured": True,
        "CustomDatatypes": [t.upper() for t in COLUMN_TYPES],
    }


def crawler_request(spec: CrawlerSpec) -> dict[str, Any]:
    return {
        "Name": spec.crawler_name,
        "Role": spec.role_arn,
        "DatabaseName": spec.database,
        "Description": "Catalogs the Segment -> Personalize interactions CSV (segment-personalize)",
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


def table_ddl(spec: CrawlerSpec) -> str:
    """The explicit DDL that makes the same table without a crawler."""
    template = Template(resources.files("crawler").joinpath("interactions_table.sql").read_text())
    return template.substitute(database=spec.database, table=spec.table, location=spec.s3_target)
