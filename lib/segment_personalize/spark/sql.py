"""Spark SQL text, built safely: the one quoting of literals and names every Spark-side module uses.

The rules' Spark side is SQL text rather than Column objects, so that a projection is one call to the JVM
(``then``).
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from segment_personalize import rules

Sql = str  # a Spark SQL expression, as text


def sql_string(text: str) -> Sql:
    """``text`` as a Spark SQL string literal. Spark's parser reads backslash escapes inside quotes
    (tests pin the round trip), so backslashes and quotes are escaped; everything else is literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def name(name: str) -> Sql:
    return f"`{name}`"


def any_of(*conditions: Sql) -> Sql:
    return "(" + " OR ".join(conditions) + ")"


def matches(text: Sql, body: str) -> Sql:
    return f"({text} RLIKE {sql_string(rules.java_anchored(body))})"


def options_map(options: dict[str, str]) -> Sql:
    return "map(" + ", ".join(f"{sql_string(k)}, {sql_string(v)}" for k, v in options.items()) + ")"


def from_json(text: Sql, schema: StructType | str, options: dict[str, str]) -> Sql:
    ddl = schema if isinstance(schema, str) else schema.simpleString()
    return f"from_json({text}, {sql_string(ddl)}, {options_map(options)})"


def then(frame: DataFrame, done: tuple[str, ...] = (), **columns: Sql) -> DataFrame:
    """Add columns in a projection of their own, leaving out the ``done`` ones (read here for the last time).

    Each stage's expensive results (a JSON parse, a regex verdict) are read many times by the next
    stage, and Spark's CollapseProject refuses to inline a non-cheap expression that has more than one
    reader -- so a separate projection is what makes it evaluated once per row. Written as one select,
    the reason column alone carried hundreds of copies of the line's from_json. The stages with
    higher-order functions (transform, filter) run outside whole-stage codegen and copy every column
    they carry into a new row: carrying the raw line and the parsed struct to the end cost a third of
    the classification time, so each column is left out once nothing later reads it.

    The expressions are SQL text, so that a stage is one call to the JVM: built as Column objects, the
    classification took some 2,000 Python-to-JVM round trips, about a second of every run.
    """
    names = frame.columns  # a call to the JVM: read once
    unknown = set(done) - set(names)
    assert not unknown, f"no such columns: {unknown}"
    kept = [name(column) for column in names if column not in done]
    return frame.selectExpr(*kept, *(f"{sql} AS {name(column)}" for column, sql in columns.items()))


def total(count: Sql, alias: str) -> Column:
    """sum(count) AS alias, 0 over no rows (sum() of none is null; the run report wants 0)."""
    return F.expr(f"coalesce(sum({count}), 0) AS {alias}")
