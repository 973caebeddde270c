"""Local Athena: run a saved query on the job's local CSV output with DuckDB.

The SQL is Athena's (Trino) dialect, transpiled with sqlglot. The table is a view over the part files
with the catalog's column names and types pinned (DuckDB's sniffer would make an all-digit USER_ID a
BIGINT), and the session time zone is UTC, as in Athena. Which columns there are comes from the files'
header, which the job writes: EVENT_VALUE (DOUBLE) is there when the job ran with --EVENT_VALUE_FIELD.
A saved query that needs a column the files lack is skipped (``MissingColumns``), not run.

The Users and Items tables are views over the job's ``users/`` and ``items/`` folders beside the
interactions folder (or any folders named), made only for a query that joins them: without the folder the
query is skipped (``MissingTable``). Their header must start with USER_ID / ITEM_ID; the metadata
columns' types come from the trait / property spec when given (the header must then be the spec's), else
from the schema file the job writes beside the folder (``users.schema.json``), else they are text.

The saved queries avoid the transpile's silent traps (integer division, date_diff day counting,
regexp_replace back-references, approx_* functions), ``traps.check_portable`` refuses SQL that uses
them, and tests/test_athena_queries.py pins every saved query's exact result so that anything else
slipping through is caught.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import sqlglot
from segment_personalize.personalize_schema import ITEMS, USERS

from athena_queries.saved import (
    IDENTIFIER,
    METADATA_TABLES,
    MissingTable,
    QueryError,
    Skipped,
    choose_category,
    get_query,
)
from athena_queries.traps import check_portable
from crawler.definition import (
    ID_COLUMNS,
    METADATA_TYPES,
    Column,
    SpecError,
    interactions_columns,
    metadata_columns,
)

# The catalog's types (crawler/definition.py) as DuckDB spells them.
DUCKDB_TYPES = {"string": "VARCHAR", "bigint": "BIGINT", "double": "DOUBLE", "int": "INTEGER"}
DATASETS = {"users": USERS, "items": ITEMS}
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


def _one_header(files: Sequence[Path]) -> tuple[tuple[str, ...], Path]:
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
    return header, path


def detect_columns(files: Sequence[Path]) -> tuple[Column, ...]:
    """The columns the files' header names; every file must have the same one."""
    header, path = _one_header(files)
    if header not in KNOWN_HEADERS:
        expected = " or ".join(",".join(h) for h in KNOWN_HEADERS)
        raise QueryError(f"{path.name} has the header {','.join(header)}; the job writes {expected}")
    return KNOWN_HEADERS[header]


def _create_view(
    connection: Any, database: str, table: str, paths: Sequence[Path], columns: Sequence[Column]
) -> None:
    types = ", ".join(f"'{c.name}': '{DUCKDB_TYPES[c.type]}'" for c in columns)
    selected = ", ".join(f'"{c.name}" AS {c.catalog_name}' for c in columns)
    files = ", ".join("'" + str(f).replace("'", "''") + "'" for f in paths)
    connection.execute(
        f'CREATE VIEW "{database}"."{table}" AS SELECT {selected} FROM read_csv([{files}], header = true, '
        f"delim = ',', quote = '\"', escape = '\"', auto_detect = false, columns = {{{types}}})"
    )


def _data_files(folder: Path) -> list[Path]:
    paths = [p for p in _csv_files(folder) if p.stat().st_size > 0]  # an empty part file has no rows
    if not paths:
        raise QueryError(f"the CSV files in {folder} are empty: no header to read")
    return paths


def connect(
    output_dir: Path, database: str = "segmentdata", table: str = "interactions"
) -> tuple[Any, tuple[Column, ...]]:
    """A DuckDB connection with ``database``.``table`` over the CSV files, and the table's columns."""
    for value in (database, table):
        if not IDENTIFIER.fullmatch(value):
            raise QueryError(f"database and table names must be letters, digits and _, got {value!r}")
    paths = _data_files(output_dir)
    csv_columns = detect_columns(paths)
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    connection.execute(f'CREATE SCHEMA "{database}"')
    _create_view(connection, database, table, paths, csv_columns)
    return connection, csv_columns


def _schema_kinds(schema_file: Path) -> dict[str, str] | None:
    """{field: string / float / int} from the Personalize schema the job wrote, or None without one."""
    if not schema_file.is_file():
        return None
    try:
        fields = json.loads(schema_file.read_text(encoding="utf-8"))["fields"]
        kinds = {}
        for field in fields:
            types = field["type"] if isinstance(field["type"], list) else [field["type"]]
            kinds[field["name"]] = next((t for t in types if t in METADATA_TYPES), "string")
        return kinds
    except (ValueError, KeyError, TypeError):
        raise QueryError(f"{schema_file} is not a Personalize schema the job wrote") from None


def metadata_table_columns(
    dataset: str, folder: Path, spec: str | None
) -> tuple[list[Path], tuple[Column, ...]]:
    """The part files of a Users / Items folder and their columns (see the module docstring)."""
    paths = _data_files(folder)
    header, path = _one_header(paths)
    if spec is not None:
        try:
            columns = metadata_columns(dataset, spec)
        except SpecError as error:
            raise QueryError(str(error)) from None
        if header != tuple(c.name for c in columns):
            raise QueryError(
                f"{path.name} has the header {','.join(header)}; with that spec the job writes "
                f"{','.join(c.name for c in columns)}"
            )
        return paths, columns
    if not header or header[0] != ID_COLUMNS[dataset] or len(header) < 2:
        raise QueryError(
            f"{path.name} has the header {','.join(header)}; the job's {dataset.title()} CSV starts with "
            f"{ID_COLUMNS[dataset]} and has a column per metadata field"
        )
    kinds = _schema_kinds(folder.parent / f"{dataset.lower()}.schema.json") or {}
    return paths, (
        Column(header[0], "string"),
        *(Column(name, METADATA_TYPES[kinds.get(name, "string")], nullable=True) for name in header[1:]),
    )


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


def run_local(
    query: str,
    output_dir: Path | str,
    *,
    database: str = "segmentdata",
    table: str = "interactions",
    users_dir: Path | str | None = None,
    items_dir: Path | str | None = None,
    users_table: str = "users",
    items_table: str = "items",
    user_traits: str | None = None,
    item_properties: str | None = None,
    category: str = "",
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """A saved query's name or Athena SQL -> (column names, rows), on the CSV files in ``output_dir``.

    ``users_dir`` / ``items_dir`` default to the ``users/`` / ``items/`` folders beside ``output_dir``,
    as the job writes them. A saved query that needs a column or a table the output lacks raises
    ``Skipped`` (``MissingColumns``, ``MissingTable``: a ``QueryError``).
    """
    output_dir = Path(output_dir)
    folders = {
        "users": Path(users_dir) if users_dir else output_dir.parent / "users",
        "items": Path(items_dir) if items_dir else output_dir.parent / "items",
    }
    names = {"users": users_table, "items": items_table}
    specs = {"users": user_traits, "items": item_properties}
    saved = get_query(query) if IDENTIFIER.fullmatch(query) else None
    connection, columns = connect(output_dir, database, table)
    try:
        if saved is not None:
            saved.check_columns([c.catalog_name for c in columns], f"{database}.{table}")
        chosen = category or "category"
        # Metadata tables: for a saved query, those it joins; for SQL of your own, every one there is.
        present = tuple(t for t in METADATA_TABLES if folders[t].is_dir())
        wanted = saved.tables if saved is not None else present
        for kind in wanted:
            if not folders[kind].is_dir():
                raise MissingTable(
                    f"{saved.name if saved else 'the query'} needs the {kind} table: there is no "
                    f"{kind.title()} output at {folders[kind]} (the job writes it only with "
                    f"{METADATA_TABLES[kind]})"
                )
            paths, table_columns = metadata_table_columns(DATASETS[kind], folders[kind], specs[kind])
            _create_view(connection, database, names[kind], paths, table_columns)
            if kind == "items" and saved is not None and saved.uses_category:
                names_found = [c.catalog_name for c in table_columns]
                found = choose_category(names_found, category)
                if found is None:
                    raise Skipped(
                        f"{saved.name} needs a category column in {database}.{items_table}, which has "
                        f"({', '.join(names_found)}): name one with --category-column"
                    )
                chosen = found
        athena_sql = (
            saved.render(database, table, users_table=users_table, items_table=items_table, category=chosen)
            if saved is not None
            else query
        )
        check_portable(athena_sql)
        cursor = connection.execute(with_athena_timestamps(connection, to_duckdb(athena_sql)))
        return [d[0] for d in cursor.description], cursor.fetchall()
    except duckdb.Error as error:
        raise QueryError(f"DuckDB could not run the query: {str(error).splitlines()[0]}") from None
    finally:
        connection.close()
