"""Spark SQL text, built safely: the one quoting of literals and names every Spark-side module uses.

The rules' Spark side is SQL text rather than Column objects, so that a projection is one call to the JVM
(spark/transform.py, ``_then``).
"""

from __future__ import annotations

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
