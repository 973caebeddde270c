"""The saved queries: loaded from this folder's .sql files, parameterized by database and table."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from string import Template

IDENTIFIER = re.compile(r"[A-Za-z0-9_]{1,255}")
HEADER = re.compile(r"--\s*(name|answers):\s*(.+)")


class QueryError(ValueError):
    """An unknown query or an unsafe parameter, caught before anything runs."""


@dataclass(frozen=True)
class SavedQuery:
    name: str
    description: str
    template: str

    def render(self, database: str = "segmentdata", table: str = "interactions") -> str:
        for label, value in (("database", database), ("table", table)):
            if not IDENTIFIER.fullmatch(value):
                raise QueryError(f"{label} name must be letters, digits and _, got {value!r}")
        return Template(self.template).substitute(database=database, table=table)


def _parse(name: str, text: str) -> SavedQuery:
    fields = dict(m.groups() for m in map(HEADER.match, text.splitlines()) if m)
    if fields.get("name") != name or "answers" not in fields:
        raise QueryError(f"{name}.sql must start with '-- name: {name}' and '-- answers: ...' lines")
    return SavedQuery(name, fields["answers"].strip(), text)


def load_queries() -> dict[str, SavedQuery]:
    folder = resources.files("athena_queries")
    files = sorted(f for f in folder.iterdir() if f.name.endswith(".sql"))
    return {q.name: q for q in (_parse(f.name.removesuffix(".sql"), f.read_text()) for f in files)}


def get_query(name: str) -> SavedQuery:
    queries = load_queries()
    if name not in queries:
        raise QueryError(f"no saved query {name!r}; saved queries: {', '.join(queries)}")
    return queries[name]
