"""The saved queries: loaded from this folder's .sql files, parameterized by database and table.

Each file starts with ``-- name:`` and ``-- answers:`` lines. A query that reads an optional column adds
``-- requires: event_value`` (comma-separated column names as Athena shows them): it is registered and
run only on a table that has them, so no saved query fails on a table without the column. A query that
joins the Users or Items table adds ``-- tables: users`` / ``-- tables: items`` (``${users_table}``,
``${items_table}``): it is registered and run only where the job writes that dataset. One that groups by
the Items category reads it from ``${category}``: an Items column, ``category`` or ``category_l1`` by
default (``choose_category``).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from importlib import resources
from string import Template

from crawler.definition import INTERACTIONS

IDENTIFIER = re.compile(r"[A-Za-z0-9_]{1,255}")
HEADER = re.compile(r"--\s*(name|answers|requires|tables):\s*(.+)")
# The columns every interactions table has, as Athena shows them.
BASE_COLUMNS = tuple(c.catalog_name for c in INTERACTIONS)
# The optional tables beside the interactions, and the job parameter that makes each.
METADATA_TABLES = {"users": "--USER_TRAITS", "items": "--ITEM_PROPERTIES"}
# The Items columns top_categories groups by when none is named: a custom one, then ECOMMERCE's field.
CATEGORY_COLUMNS = ("category", "category_l1")


def choose_category(items_columns: Collection[str], wanted: str = "") -> str | None:
    """The Items column to group categories by: ``wanted`` if the table has it, else the default one."""
    names = [c.lower() for c in items_columns]
    if wanted:
        return wanted.lower() if wanted.lower() in names else None
    return next((c for c in CATEGORY_COLUMNS if c in names), None)


class QueryError(ValueError):
    """An unknown query or an unsafe parameter, caught before anything runs."""


class Skipped(QueryError):
    """A saved query that has nothing to look at here: skipped with its reason, not failed."""


class MissingColumns(Skipped):
    """A saved query that needs a column the table does not have."""


class MissingTable(Skipped):
    """A saved query that needs the Users or Items table, which the job did not write."""


@dataclass(frozen=True)
class SavedQuery:
    name: str
    description: str
    template: str
    requires: tuple[str, ...] = ()
    tables: tuple[str, ...] = ()  # users, items

    @property
    def uses_category(self) -> bool:
        return "${category}" in self.template

    def missing_tables(self, tables: Collection[str]) -> tuple[str, ...]:
        """The metadata tables this query needs that ``tables`` lacks."""
        return tuple(t for t in self.tables if t not in tables)

    def needs(self) -> str:
        """What it needs beyond the four base columns, for messages ('event_value', 'the items table')."""
        return ", ".join([*self.requires, *(f"the {t} table" for t in self.tables)])

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

    def render(
        self,
        database: str = "segmentdata",
        table: str = "interactions",
        *,
        users_table: str = "users",
        items_table: str = "items",
        category: str = "category",
    ) -> str:
        values = {
            "database": database,
            "table": table,
            "users_table": users_table,
            "items_table": items_table,
            "category": category,
        }
        for label, value in values.items():
            if not IDENTIFIER.fullmatch(value):
                label = label.replace("_", " ")
                raise QueryError(f"{label} name must be letters, digits and _, got {value!r}")
        return Template(self.template).substitute(values)


def _parse(name: str, text: str) -> SavedQuery:
    fields = dict(m.groups() for m in map(HEADER.match, text.splitlines()) if m)
    if fields.get("name") != name or "answers" not in fields:
        raise QueryError(f"{name}.sql must start with '-- name: {name}' and '-- answers: ...' lines")
    requires = tuple(c.strip() for c in fields.get("requires", "").split(",") if c.strip())
    tables = tuple(t.strip() for t in fields.get("tables", "").split(",") if t.strip())
    if set(tables) - set(METADATA_TABLES):
        raise QueryError(f"{name}.sql: '-- tables:' takes {' and '.join(METADATA_TABLES)}, got {tables}")
    return SavedQuery(name, fields["answers"].strip(), text, requires, tables)


def load_queries() -> dict[str, SavedQuery]:
    folder = resources.files("athena_queries")
    files = sorted(f for f in folder.iterdir() if f.name.endswith(".sql"))
    return {q.name: q for q in (_parse(f.name.removesuffix(".sql"), f.read_text()) for f in files)}


def applicable_queries(
    columns: Collection[str] = BASE_COLUMNS,
    tables: Collection[str] = (),
    category: str | None = None,
) -> dict[str, SavedQuery]:
    """The saved queries an interactions table with these columns, these metadata tables (users, items)
    and this Items category column (None: none) can run."""
    return {
        name: q
        for name, q in load_queries().items()
        if not q.missing(columns)
        and not q.missing_tables(tables)
        and not (q.uses_category and category is None)
    }


def get_query(name: str) -> SavedQuery:
    queries = load_queries()
    if name not in queries:
        raise QueryError(f"no saved query {name!r}; saved queries: {', '.join(queries)}")
    return queries[name]
