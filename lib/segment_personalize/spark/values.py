"""EVENT_VALUE as Spark native expressions, built from ``segment_personalize.values`` (no UDFs).

``classify.classify`` wires these in only when a value field is configured, so the default plan is
unchanged. The exact arithmetic is Spark's DECIMAL(33, 18): try_cast of the text (Java's BigDecimal,
rounding half-up; null on overflow, in ANSI mode too), which is what the rule's Python Decimal code does.
"""

from __future__ import annotations

from segment_personalize import rules, values
from segment_personalize.spark.sql import sql_string

Sql = str
# A DECIMAL(p, 18) always prints 18 fraction digits: trailing zeros (and a bare point) go.
TRAILING_ZEROS = r"\.?0+\z"


def render_value(text: Sql) -> Sql:
    """values.render_value of a field's text: the plain-notation EVENT_VALUE text, or null."""
    decimal = f"try_cast({text} AS DECIMAL({values.VALUE_PRECISION}, {values.VALUE_SCALE}))"
    plain = f"regexp_replace(CAST({decimal} AS STRING), {sql_string(TRAILING_ZEROS)}, '')"
    pattern = sql_string(rules.java_anchored(values.VALUE_TEXT_BODY))
    return f"CASE WHEN {text} RLIKE {pattern} THEN {plain} END"


def item_values(order_items: Sql, product_items: Sql, product_values: Sql) -> Sql:
    """Each kept item's value: that of the first product whose item id it is (array_position finds
    the first), as rules._products_items keeps it."""
    first = f"CAST(array_position({product_items}, i) AS INT)"
    return f"transform({order_items}, i -> {render_value(f'element_at({product_values}, {first})')})"
