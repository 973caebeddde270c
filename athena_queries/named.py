"""Athena named queries: register the saved queries (idempotent, by name) and run one.

moto implements create/get/list of named queries but not update, delete or batch-get, hence one
get_named_query per id; real Athena gets update_named_query when a query's text changed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from athena_queries.saved import SavedQuery, load_queries

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
    athena: Any, *, database: str, table: str, workgroup: str = "primary"
) -> dict[str, str]:
    """Create each saved query as a named query, or update it when its text changed."""
    existing = existing_named_queries(athena, workgroup)
    actions = {}
    for query in load_queries().values():
        name = named_query_name(query)
        wanted = {
            "Name": name,
            "Description": query.description,
            "QueryString": query.render(database, table),
        }
        current = existing.get(name)
        if current is None:
            athena.create_named_query(**wanted, Database=database, WorkGroup=workgroup)
            actions[name] = "created"
        elif all(current.get(k) == v for k, v in wanted.items()) and current.get("Database") == database:
            actions[name] = "unchanged"
        else:
            # UpdateNamedQuery has no Database field: the database is in the query text.
            athena.update_named_query(NamedQueryId=current["NamedQueryId"], **wanted)
            actions[name] = "updated"
    return actions


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
