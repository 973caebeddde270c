"""Refuse Athena SQL whose DuckDB transpile would silently give a different answer.

sqlglot keeps these as they are, and DuckDB then answers differently from Athena (Trino):
  * ``a / b`` on integers: Trino truncates (7 / 2 = 3), DuckDB divides (3.5);
  * ``date_diff('day', ...)``: Trino counts whole elapsed days, DuckDB counts day boundaries crossed;
  * ``regexp_replace`` with ``$1`` back-references: DuckDB wants ``\\1`` and leaves ``$1`` literal;
  * ``approx_distinct`` / ``approx_percentile``: estimates, not reproducible across engines.
The saved queries avoid all four (an explicit ``CAST(... AS double)`` makes a division portable).
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp

from athena_queries.saved import QueryError

FLOATING = {exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT, exp.DataType.Type.DECIMAL}
APPROXIMATE = ("approx_distinct", "approx_percentile", "approx_most_frequent", "approx_set")


def _floating(node: exp.Expression) -> bool:
    if isinstance(node, exp.Cast):
        return node.to.this in FLOATING
    if isinstance(node, exp.Literal):
        return not node.is_string and any(c in node.this for c in ".eE")
    if isinstance(node, exp.Paren | exp.Mul | exp.Add | exp.Sub | exp.Neg):
        return any(_floating(child) for child in node.iter_expressions())
    return False


def problems(athena_sql: str) -> list[str]:
    found = []
    for tree in sqlglot.parse(athena_sql, read="trino"):
        if tree is None:
            continue
        for division in tree.find_all(exp.Div):
            if not (_floating(division.left) or _floating(division.right)):
                found.append(
                    f"division '{division.sql('trino')}' may be integer division in Athena: "
                    "CAST one side AS double"
                )
        for call in tree.find_all(exp.DateDiff):
            found.append(f"'{call.sql('trino')}': date_diff counts days differently in DuckDB")
        for call in tree.find_all(exp.RegexpReplace):
            replacement = call.args.get("replacement")
            if replacement is not None and "$" in replacement.sql("trino"):
                found.append(f"'{call.sql('trino')}': $n back-references do not carry over to DuckDB")
        for node in tree.find_all(exp.Func):
            name = node.sql_name().lower() if not isinstance(node, exp.Anonymous) else str(node.this).lower()
            if isinstance(node, exp.ApproxDistinct | exp.ApproxQuantile) or name in APPROXIMATE:
                found.append(f"'{node.sql('trino')}' is approximate: use the exact function")
    return found


def check_portable(athena_sql: str) -> None:
    found = problems(athena_sql)
    if found:
        raise QueryError("not portable to local DuckDB: " + "; ".join(dict.fromkeys(found)))
