"""Local Athena: run a saved query on the job's local CSV output with DuckDB.

The SQL is Athena's (Trino) dialect, transpiled with sqlglot. The table is a view over the part files
with the catalog's column names and types pinned (DuckDB's sniffer would make an all-digit USER_ID a
BIGINT), and the session time zone is UTC, as in Athena. The saved queries avoid the transpile's silent
traps (integer division, date_diff day counting, regexp_replace back-references, approx_* functions),
``traps.check_portable`` refuses SQL that uses them, and tests/test_athena_queries.py pins every saved
query's exact result so that anything else slipping through is caught.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import sqlglot

from athena_queries.saved import IDENTIFIER, QueryError, get_query
from athena_queries.traps import check_portable

# The catalog's schema (crawler/definition.py): the CSV header names, lowercased as Athena shows them.
CSV_COLUMNS = {"USER_ID": "VARCHAR", "ITEM_ID": "VARCHAR", "EVENT_TYPE": "VARCHAR", "TIMESTAMP": "BIGINT"}


def to_duckdb(athena_sql: str) -> str:
    statements = sqlglot.transpile(athena_sql, read="trino", write="duckdb")
    if len(statements) != 1:
        raise QueryError(f"expected one SQL statement, got {len(statements)}")
    return statements[0]


def _csv_files(output_dir: Path) -> list[str]:
    if not output_dir.is_dir():
        raise QueryError(f"no job output at {output_dir}: run the job first (make run)")
    files = sorted(str(p) for p in output_dir.glob("*.csv"))
    if not files:
        raise QueryError(f"no CSV files in {output_dir}: run the job first (make run)")
    return files


def connect(output_dir: Path, database: str = "segmentdata", table: str = "interactions") -> Any:
    for value in (database, table):
        if not IDENTIFIER.fullmatch(value):
            raise QueryError(f"database and table names must be letters, digits and _, got {value!r}")
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    columns = ", ".join(f"'{name}': '{kind}'" for name, kind in CSV_COLUMNS.items())
    selected = ", ".join(f'"{name}" AS {name.lower()}' for name in CSV_COLUMNS)
    files = ", ".join("'" + f.replace("'", "''") + "'" for f in _csv_files(output_dir))
    connection.execute(f'CREATE SCHEMA "{database}"')
    connection.execute(
        f'CREATE VIEW "{database}"."{table}" AS SELECT {selected} FROM read_csv([{files}], header = true, '
        f"delim = ',', quote = '\"', escape = '\"', auto_detect = false, columns = {{{columns}}})"
    )
    return connection


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


def resolve(query: str, database: str, table: str) -> str:
    """A saved query's name (rendered for ``database``.``table``), or Athena SQL as it is."""
    if IDENTIFIER.fullmatch(query):
        return get_query(query).render(database, table)
    return query


def run_local(
    query: str,
    output_dir: Path | str,
    *,
    database: str = "segmentdata",
    table: str = "interactions",
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """A saved query's name or Athena SQL -> (column names, rows), on the CSV files in ``output_dir``."""
    athena_sql = resolve(query, database, table)
    check_portable(athena_sql)
    connection = connect(Path(output_dir), database, table)
    try:
        cursor = connection.execute(with_athena_timestamps(connection, to_duckdb(athena_sql)))
        return [d[0] for d in cursor.description], cursor.fetchall()
    except duckdb.Error as error:
        raise QueryError(f"DuckDB could not run the query: {str(error).splitlines()[0]}") from None
    finally:
        connection.close()
