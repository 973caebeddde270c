"""Athena named queries: register the saved queries (idempotent, by name) and run one.

moto implements create/get/list of named queries but not update, delete or batch-get, hence one
get_named_query per id; real Athena gets update_named_query when a query's text changed, and where
that call is missing the query is reported "stale" rather than duplicated.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from botocore.exceptions import ClientError

from athena_queries.output import render
from athena_queries.saved import BASE_COLUMNS, METADATA_TABLES, SavedQuery, applicable_queries, get_query

PREFIX = "segment-personalize/"
TERMINAL = {"SUCCEEDED", "FAILED", "CANCELLED"}


class AthenaError(Exception):
    """A query that did not succeed, with Athena's reason."""


def named_query_name(query: SavedQuery) -> str:
    return PREFIX + query.name


def existing_named_queries(athena: Any, workgroup: str) -> dict[str, dict[str, Any]]:
    """Our named queries in the workgroup, by name (the first one, if a name repeats)."""
    found: dict[str, dict[str, Any]] = {}
    for page in athena.get_paginator("list_named_queries").paginate(WorkGroup=workgroup):
        for query_id in page["NamedQueryIds"]:
            query = athena.get_named_query(NamedQueryId=query_id)["NamedQuery"]
            if query["Name"].startswith(PREFIX):
                found.setdefault(query["Name"], query)
    return found


def register_named_queries(
    athena: Any,
    *,
    database: str,
    table: str,
    workgroup: str = "primary",
    columns: Collection[str] = BASE_COLUMNS,
    tables: Mapping[str, str] | None = None,
    category: str | None = None,
) -> dict[str, str]:
    """Create each saved query the tables can run as a named query, or update it when its text changed.

    ``columns`` are the interactions table's (``CrawlerSpec.column_names``), ``tables`` the metadata
    tables there are ({"users": table name, "items": ...}) and ``category`` the Items column
    top_categories groups by (None: no such column). A query that requires something else
    (``event_values`` on a table without EVENT_VALUE, ``item_metadata_coverage`` without Items) is left
    out, so no registered query fails.
    """
    tables = dict(tables or {})
    existing = existing_named_queries(athena, workgroup)
    actions = {}
    for query in applicable_queries(columns, tables, category).values():
        name = named_query_name(query)
        wanted = {
            "Name": name,
            "Description": query.description,
            "QueryString": query.render(
                database,
                table,
                users_table=tables.get("users", "users"),
                items_table=tables.get("items", "items"),
                category=category or "category",
            ),
        }
        current = existing.get(name)
        if current is None:
            athena.create_named_query(**wanted, Database=database, WorkGroup=workgroup)
            actions[name] = "created"
        elif all(current.get(k) == v for k, v in wanted.items()) and current.get("Database") == database:
            actions[name] = "unchanged"
        else:
            actions[name] = _update(athena, current["NamedQueryId"], wanted)
    return actions


def _update(athena: Any, query_id: str, wanted: dict[str, str]) -> str:
    # UpdateNamedQuery has no Database field: the database is in the query text. Where it is missing
    # (moto, old endpoints) the old text stays: creating a second query of the same name would only
    # make duplicates, so report it and carry on.
    try:
        athena.update_named_query(NamedQueryId=query_id, **wanted)
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", "error"))
        if code in {"AccessDeniedException", "InvalidRequestException"}:
            raise
        return f"stale (could not update: {code})"
    return "updated"


def run_query(
    athena: Any,
    sql: str,
    *,
    database: str,
    workgroup: str = "primary",
    output_location: str | None = None,
    poll_seconds: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[list[str], list[list[str | None]]]:
    """Run on Athena and wait; returns (column names, rows as Athena's strings)."""
    request: dict[str, Any] = {
        "QueryString": sql,
        "QueryExecutionContext": {"Database": database},
        "WorkGroup": workgroup,
    }
    if output_location:
        request["ResultConfiguration"] = {"OutputLocation": output_location}
    query_id = athena.start_query_execution(**request)["QueryExecutionId"]
    while True:
        status = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]
        if status["State"] in TERMINAL:
            break
        sleep(poll_seconds)
    if status["State"] != "SUCCEEDED":
        raise AthenaError(
            f"query {query_id} {status['State']}: {status.get('StateChangeReason', 'no reason given')}"
        )
    columns: list[str] = []
    rows: list[list[str | None]] = []
    for page in athena.get_paginator("get_query_results").paginate(QueryExecutionId=query_id):
        if not columns:
            columns = [c["Name"] for c in page["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]]
        for row in page["ResultSet"]["Rows"]:
            rows.append([d.get("VarCharValue") for d in row["Data"]])
    # Athena returns the header as the first row of the first page.
    if rows and rows[0] == columns:
        rows = rows[1:]
    return columns, rows


def run_saved_query(
    athena: Any,
    name: str,
    *,
    database: str = "segmentdata",
    table: str = "interactions",
    users_table: str = "users",
    items_table: str = "items",
    category: str = "category",
    workgroup: str = "primary",
    output_location: str | None = None,
    poll_seconds: float = 1.0,
    fmt: str = "table",
    out: Callable[[str], None] | None = print,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[list[str], Sequence[Sequence[str | None]]]:
    """Run a saved query (by name) on Athena, print the result (unless ``out`` is None), return it."""
    query = get_query(name)
    try:
        columns, rows = run_query(
            athena,
            query.render(
                database, table, users_table=users_table, items_table=items_table, category=category
            ),
            database=database,
            workgroup=workgroup,
            output_location=output_location,
            poll_seconds=poll_seconds,
            sleep=sleep,
        )
    except AthenaError as error:
        # Athena names the column it cannot resolve; say which job setting makes it.
        if query.requires and "COLUMN_NOT_FOUND" in str(error):
            raise AthenaError(
                f"{name} needs column {', '.join(query.requires)}, which {database}.{table} does not "
                "have (the job writes EVENT_VALUE only with --EVENT_VALUE_FIELD; crawl with "
                f"--event-value): {error}"
            ) from None
        if query.tables and "TABLE_NOT_FOUND" in str(error):
            params = " / ".join(METADATA_TABLES[t] for t in query.tables)
            raise AthenaError(
                f"{name} needs {query.needs()}, which {database} does not have (the job writes it only "
                f"with {params}; crawl with the same setting): {error}"
            ) from None
        raise
    if out is not None:
        out(render(columns, rows, fmt))
    return columns, rows
