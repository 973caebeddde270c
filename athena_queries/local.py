"""Local Athena: run a saved query on the job's local CSV output with DuckDB.

The SQL is Athena's (Trino) dialect, transpiled with sqlglot. The table is a view over the part files
with the catalog's column names and types pinned (DuckDB's sniffer would make an all-digit USER_ID a
BIGINT), and the session time zone is UTC, as in Athena. Which columns there are comes from the files'
header, which the job writes: EVENT_VALUE (DOUBLE) is there when the job ran with --EVENT_VALUE_FIELD.
A saved query that needs a column the files lack is skipped (``MissingColumns``), not run.

The saved queries avoid the transpile's silent traps (integer division, date_diff day counting,
regexp_replace back-references, approx_* functions), ``traps.check_portable`` refuses SQL that uses
them, and tests/test_athena_queries.py pins every saved query's exact result so that anything else
slipping through is caught.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import sqlglot

from athena_queries.saved import IDENTIFIER, QueryError, SavedQuery, get_query
from athena_queries.traps import check_portable
from crawler.definition import Column, interactions_columns

# The catalog's types (crawler/definition.py) as DuckDB spells them.
DUCKDB_TYPES = {"string": "VARCHAR", "bigint": "BIGINT", "double": "DOUBLE"}
# The headers the job writes, each with its columns: without and with EVENT_VALUE.
KNOWN_HEADERS = {
    tuple(c.name for c in columns): columns
    for columns in (interactions_columns(False), interactions_columns(True))
}


def to_duckdb(athena_sql: str) -> str:
    statements = sqlglot.transpile(athena_sql, read="trino", write="duckdb")
    if len(statements) != 1:
        raise QueryError(f"expected one SQL statement, got {len(statements)}")
    return statements[0]


def _csv_files(output_dir: Path) -> list[Path]:
    if not output_dir.is_dir():
        raise QueryError(f"no job output at {output_dir}: run the job first (make run)")
    files = sorted(output_dir.glob("*.csv"))
    if not files:
        raise QueryError(f"no CSV files in {output_dir}: run the job first (make run)")
    return files


def _header(path: Path) -> tuple[str, ...] | None:
    with path.open(newline="", encoding="utf-8") as handle:
        first = next(csv.reader(handle), None)
    return tuple(first) if first else None


def detect_columns(files: Sequence[Path]) -> tuple[Column, ...]:
    """The columns the files' header names; every file must have the same one."""
    headers: dict[tuple[str, ...], Path] = {}
    for path in files:
        header = _header(path)
        if header is not None:
            headers.setdefault(header, path)
    if len(headers) > 1:
        found = "; ".join(f"{','.join(h)} in {p.name}" for h, p in headers.items())
        raise QueryError(f"the CSV files disagree on their header: {found}")
    if not headers:
        raise QueryError(f"the CSV files in {files[0].parent} have no header")
    ((header, path),) = headers.items()
    if header not in KNOWN_HEADERS:
        expected = " or ".join(",".join(h) for h in KNOWN_HEADERS)
        raise QueryError(f"{path.name} has the header {','.join(header)}; the job writes {expected}")
    return KNOWN_HEADERS[header]


def connect(
    output_dir: Path, database: str = "segmentdata", table: str = "interactions"
) -> tuple[Any, tuple[Column, ...]]:
    """A DuckDB connection with ``database``.``table`` over the CSV files, and the table's columns."""
    for value in (database, table):
        if not IDENTIFIER.fullmatch(value):
            raise QueryError(f"database and table names must be letters, digits and _, got {value!r}")
    paths = [p for p in _csv_files(output_dir) if p.stat().st_size > 0]  # an empty part file has no rows
    if not paths:
        raise QueryError(f"the CSV files in {output_dir} are empty: no header to read")
    csv_columns = detect_columns(paths)
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    columns = ", ".join(f"'{c.name}': '{DUCKDB_TYPES[c.type]}'" for c in csv_columns)
    selected = ", ".join(f'"{c.name}" AS {c.catalog_name}' for c in csv_columns)
    files = ", ".join("'" + str(f).replace("'", "''") + "'" for f in paths)
    connection.execute(f'CREATE SCHEMA "{database}"')
    connection.execute(
        f'CREATE VIEW "{database}"."{table}" AS SELECT {selected} FROM read_csv([{files}], header = true, '
        f"delim = ',', quote = '\"', escape = '\"', auto_detect = false, columns = {{{columns}}})"
    )
    return connection, csv_columns


def with_athena_timestamps(connection: Any, duckdb_sql: str) -> str:
    """Render timestamp-with-time-zone results as Athena prints them ("2019-02-17 23:59:59.000 UTC").

    from_unixtime() is a TIMESTAMPTZ in DuckDB, which Python can only receive with pytz installed; as
    text it needs nothing, and the text is Athena's.
    """
    columns = connection.execute(f"DESCRIBE {duckdb_sql}").fetchall()
    zoned = [name for name, kind, *_ in columns if kind == "TIMESTAMP WITH TIME ZONE"]
    if not zoned:
        return duckdb_sql
    quoted = ['"' + name.replace('"', '""') + '"' for name in zoned]
    replaced = ", ".join(f"strftime({q}, '%Y-%m-%d %H:%M:%S.%g UTC') AS {q}" for q in quoted)
    return f"SELECT * REPLACE ({replaced}) FROM ({duckdb_sql})"


def resolve(query: str, database: str, table: str) -> tuple[SavedQuery | None, str]:
    """A saved query's name (rendered for ``database``.``table``), or Athena SQL as it is."""
    if IDENTIFIER.fullmatch(query):
        saved = get_query(query)
        return saved, saved.render(database, table)
    return None, query


def run_local(
    query: str,
    output_dir: Path | str,
    *,
    database: str = "segmentdata",
    table: str = "interactions",
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """A saved query's name or Athena SQL -> (column names, rows), on the CSV files in ``output_dir``.

    A saved query that needs a column the files lack raises ``MissingColumns`` (a ``QueryError``).
    """
    saved, athena_sql = resolve(query, database, table)
    check_portable(athena_sql)
    connection, columns = connect(Path(output_dir), database, table)
    try:
        if saved is not None:
            saved.check_columns([c.catalog_name for c in columns], f"{database}.{table}")
        cursor = connection.execute(with_athena_timestamps(connection, to_duckdb(athena_sql)))
        return [d[0] for d in cursor.description], cursor.fetchall()
    except duckdb.Error as error:
        raise QueryError(f"DuckDB could not run the query: {str(error).splitlines()[0]}") from None
    finally:
        connection.close()
