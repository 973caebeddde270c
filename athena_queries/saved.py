"""The saved queries: loaded from this folder's .sql files, parameterized by database and table.

Each file starts with ``-- name:`` and ``-- answers:`` lines. A query that reads an optional column adds
``-- requires: event_value`` (comma-separated column names as Athena shows them): it is registered and
run only on a table that has them, so no saved query fails on a table without the column.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from importlib import resources
from string import Template

from crawler.definition import INTERACTIONS

IDENTIFIER = re.compile(r"[A-Za-z0-9_]{1,255}")
HEADER = re.compile(r"--\s*(name|answers|requires):\s*(.+)")
# The columns every interactions table has, as Athena shows them.
BASE_COLUMNS = tuple(c.catalog_name for c in INTERACTIONS)


class QueryError(ValueError):
    """An unknown query or an unsafe parameter, caught before anything runs."""


class MissingColumns(QueryError):
    """A saved query that needs a column the table does not have: skipped, not failed."""


@dataclass(frozen=True)
class SavedQuery:
    name: str
    description: str
    template: str
    requires: tuple[str, ...] = ()

    def missing(self, columns: Collection[str]) -> tuple[str, ...]:
        """The required columns that ``columns`` lacks."""
        return tuple(c for c in self.requires if c not in columns)

    def check_columns(self, columns: Collection[str], table: str) -> None:
        missing = self.missing(columns)
        if missing:
            raise MissingColumns(
                f"{self.name} needs column {', '.join(missing)}, which {table} does not have "
                "(the job writes EVENT_VALUE only with --EVENT_VALUE_FIELD)"
            )

    def render(self, database: str = "segmentdata", table: str = "interactions") -> str:
        for label, value in (("database", database), ("table", table)):
            if not IDENTIFIER.fullmatch(value):
                raise QueryError(f"{label} name must be letters, digits and _, got {value!r}")
        return Template(self.template).substitute(database=database, table=table)


def _parse(name: str, text: str) -> SavedQuery:
    fields = dict(m.groups() for m in map(HEADER.match, text.splitlines()) if m)
    if fields.get("name") != name or "answers" not in fields:
        raise QueryError(f"{name}.sql must start with '-- name: {name}' and '-- answers: ...' lines")
    requires = tuple(c.strip() for c in fields.get("requires", "").split(",") if c.strip())
    return SavedQuery(name, fields["answers"].strip(), text, requires)


def load_queries() -> dict[str, SavedQuery]:
    folder = resources.files("athena_queries")
    files = sorted(f for f in folder.iterdir() if f.name.endswith(".sql"))
    return {q.name: q for q in (_parse(f.name.removesuffix(".sql"), f.read_text()) for f in files)}


def applicable_queries(columns: Collection[str] = BASE_COLUMNS) -> dict[str, SavedQuery]:
    """The saved queries a table with these columns can run."""
    return {name: q for name, q in load_queries().items() if not q.missing(columns)}


def get_query(name: str) -> SavedQuery:
    queries = load_queries()
    if name not in queries:
        raise QueryError(f"no saved query {name!r}; saved queries: {', '.join(queries)}")
    return queries[name]
