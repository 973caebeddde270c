"""Print a result set as an aligned table, CSV or JSON, the same whether it came from Athena or DuckDB."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

FORMATS = ("table", "csv", "json")


def cell(value: Any) -> str:
    """Athena's rendering: booleans lowercase, NULL empty, dates ISO."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def render(columns: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str = "table") -> str:
    text_rows = [[cell(v) for v in row] for row in rows]
    if fmt == "json":
        return json.dumps([dict(zip(columns, row, strict=True)) for row in text_rows], indent=2)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(text_rows)
        return buffer.getvalue().rstrip("\n")
    widths = [max([len(c), *(len(r[i]) for r in text_rows)]) for i, c in enumerate(columns)]
    line = "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))
    rule = "  ".join("-" * w for w in widths)
    body = ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in text_rows]
    return "\n".join([line, rule, *body, f"({len(text_rows)} row{'s' if len(text_rows) != 1 else ''})"])
