"""Create or update the catalog pieces idempotently, then crawl: boto3 clients are passed in.

Each ``ensure_*`` reads what exists, compares it with the spec, and creates, updates or leaves it,
returning "created", "updated" or "unchanged".
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError
from segment_personalize.personalize_schema import INTERACTIONS, ITEMS, USERS

from crawler.definition import CrawlerSpec, classifier_request, crawler_request, table_parameters

Progress = Callable[[str], None]
# The crawler's flag and the job's parameter that name a Users / Items table's columns.
_SETTINGS = {USERS: ("--user-traits", "--USER_TRAITS"), ITEMS: ("--item-properties", "--ITEM_PROPERTIES")}


class CatalogError(Exception):
    """A one-line, actionable reason the catalog could not be set up."""


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def ensure_database(glue: Any, database: str) -> str:
    try:
        glue.get_database(Name=database)
        return "unchanged"
    except ClientError as error:
        if error_code(error) != "EntityNotFoundException":
            raise
    glue.create_database(
        DatabaseInput={
            "Name": database,
            "Description": "Segment -> Personalize training data (segment-personalize)",
        }
    )
    return "created"


def require_database(glue: Any, database: str) -> None:
    try:
        glue.get_database(Name=database)
    except ClientError as error:
        if error_code(error) == "EntityNotFoundException":
            raise CatalogError(
                f"Glue database {database!r} does not exist (create it, or pass --create-database)"
            ) from None
        raise


def require_bucket(s3: Any, bucket: str) -> None:
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as error:
        if error_code(error) in {"404", "NoSuchBucket", "NotFound"}:
            raise CatalogError(
                f"S3 bucket {bucket!r} does not exist: the crawler target must be the job's output"
            ) from None
        if error_code(error) in {"403", "AccessDenied"}:
            raise CatalogError(f"no access to S3 bucket {bucket!r}: check the credentials in use") from None
        raise


def _normalized(value: Any) -> Any:
    # AWS may hand back a JSON setting (a crawler's Configuration) re-serialized: compare its meaning.
    if isinstance(value, str) and value.startswith("{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def matches(current: Any, wanted: Any) -> bool:
    """Whether what AWS has already says everything we want; keys AWS adds on its own are ignored."""
    current, wanted = _normalized(current), _normalized(wanted)
    if isinstance(wanted, dict):
        return isinstance(current, dict) and all(matches(current.get(k), v) for k, v in wanted.items())
    return current == wanted


def ensure_classifier(glue: Any, spec: CrawlerSpec) -> str:
    wanted = classifier_request(spec)
    try:
        current = glue.get_classifier(Name=spec.classifier_name)["Classifier"].get("CsvClassifier")
    except ClientError as error:
        if error_code(error) != "EntityNotFoundException":
            raise
        glue.create_classifier(CsvClassifier=wanted)
        return "created"
    if current is None:
        raise CatalogError(
            f"classifier {spec.classifier_name!r} exists but is not a CSV classifier: rename ours"
        )
    if matches(current, {k: v for k, v in wanted.items() if k != "Name"}):
        return "unchanged"
    glue.update_classifier(CsvClassifier=wanted)
    return "updated"


def _crawler_error(error: ClientError, spec: CrawlerSpec) -> CatalogError | None:
    message = str(error.response.get("Error", {}).get("Message", ""))
    if error_code(error) in {"AccessDeniedException", "InvalidInputException"} and "role" in message.lower():
        return CatalogError(f"Glue cannot use role {spec.role_arn}: {message}")
    if error_code(error) == "EntityNotFoundException":
        return CatalogError(f"crawler setup refers to something missing: {message}")
    return None


def ensure_crawler(glue: Any, spec: CrawlerSpec) -> str:
    require_database(glue, spec.database)
    wanted = crawler_request(spec)
    try:
        try:
            current = glue.get_crawler(Name=spec.crawler_name)["Crawler"]
        except ClientError as error:
            if error_code(error) != "EntityNotFoundException":
                raise
            glue.create_crawler(**wanted)
            return "created"
        comparable = {key: value for key, value in wanted.items() if key != "Description"}
        if matches({**current, "TablePrefix": current.get("TablePrefix", "")}, comparable):
            return "unchanged"
        glue.update_crawler(**wanted)
        return "updated"
    except ClientError as error:
        raise (_crawler_error(error, spec) or error) from None


def start_and_wait(
    glue: Any,
    crawler_name: str,
    progress: Progress = print,
    poll_seconds: float = 10.0,
    timeout: float = 1800.0,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Start the crawler (or join a crawl in progress) and wait for it; returns its LastCrawl."""
    try:
        glue.start_crawler(Name=crawler_name)
    except ClientError as error:
        if error_code(error) == "EntityNotFoundException":
            raise CatalogError(f"crawler {crawler_name!r} does not exist (create it first)") from None
        if error_code(error) != "CrawlerRunningException":
            raise
        progress(f"crawler {crawler_name}: already running, waiting for it")
    waited, state = 0.0, None
    while True:
        crawler = glue.get_crawler(Name=crawler_name)["Crawler"]
        if crawler["State"] != state:
            state = crawler["State"]
            progress(f"crawler {crawler_name}: {state} ({waited:.0f} s)")
        if state == "READY" and waited > 0:
            last = crawler.get("LastCrawl", {})
            if last.get("Status") != "SUCCEEDED":
                raise CatalogError(
                    f"crawler {crawler_name} {last.get('Status', 'ended')}: "
                    f"{last.get('ErrorMessage', 'no message')}"
                )
            return last
        if waited >= timeout:
            raise CatalogError(f"crawler {crawler_name} still {state} after {timeout:g} s")
        sleep(poll_seconds)
        waited += poll_seconds


def crawled_tables(glue: Any, spec: CrawlerSpec, since: Any) -> list[str]:
    """Tables of the database created or updated by the crawl that started at ``since``."""
    tables = []
    for page in glue.get_paginator("get_tables").paginate(DatabaseName=spec.database):
        for table in page["TableList"]:
            changed = table.get("UpdateTime") or table.get("CreateTime")
            if since is None or (changed is not None and changed >= since):
                columns = ", ".join(f"{c['Name']} {c['Type']}" for c in table["StorageDescriptor"]["Columns"])
                tables.append(f"{spec.database}.{table['Name']} ({columns})")
    return tables


def _listed(columns: list[tuple[str, str]]) -> str:
    return ", ".join(f"{name} {kind}" for name, kind in columns)


def ensure_table(glue: Any, spec: CrawlerSpec) -> str:
    """After a crawl: the table has exactly the job's columns and types, and the properties they need.

    A classifier whose header is not the files' does not match them, and the crawler then falls back
    to the built-in classifier's guesses (USER_ID bigint, no EVENT_VALUE, ...): that is an error here,
    not a table Athena half-reads.
    """
    try:
        table = glue.get_table(DatabaseName=spec.database, Name=spec.table)["Table"]
    except ClientError as error:
        if error_code(error) == "EntityNotFoundException":
            raise CatalogError(
                f"the crawl made no table {spec.database}.{spec.table}: "
                f"is the job's output at {spec.s3_target}?"
            ) from None
        raise
    found = [(c["Name"], c["Type"]) for c in table.get("StorageDescriptor", {}).get("Columns", [])]
    wanted = [(c.catalog_name, c.type) for c in spec.columns]
    if found != wanted:
        if spec.dataset == INTERACTIONS:
            hint = "crawl with --event-value exactly when the job runs with --EVENT_VALUE_FIELD"
        else:
            flag, parameter = _SETTINGS[spec.dataset]
            hint = f"crawl with {flag} set to the job's {parameter}"
        raise CatalogError(
            f"table {spec.database}.{spec.table} has ({_listed(found)}), not the job's "
            f"({_listed(wanted)}): {hint}, so the classifier's header is the files'; if it is, make the "
            "table with --ddl instead"
        )
    parameters = table.get("Parameters", {})
    missing = {k: v for k, v in table_parameters(spec.columns).items() if parameters.get(k) != v}
    if not missing:
        return "unchanged"
    # GetTable's Table is TableInput plus read-only fields; a view's definition has its own input shape
    # (never ours: the crawler makes an external table).
    allowed = set(glue.meta.service_model.shape_for("TableInput").members) - {"ViewDefinition"}
    table_input = {k: v for k, v in table.items() if k in allowed}
    glue.update_table(
        DatabaseName=spec.database, TableInput={**table_input, "Parameters": {**parameters, **missing}}
    )
    return "updated"
