"""EVENT_VALUE: the rule that turns a Segment field (``properties.price``, a product's ``price``) into the
text of Personalize's EVENT_VALUE column, declared once for both engines (no pyspark import: the Lambda
ships this module).

Like the id rules (rules.py), the rule is phrased on *text*, because the Glue job reads every field as a
Spark StringType and cannot see token types. A JSON number token reaches Spark as Java's rendering of it
(``1e7`` -> ``1.0E7``, ``0.00001`` -> ``1.0E-5``), so exponent form must be accepted as text; Spark cannot
tell ``1e7`` from ``"1e7"``, so a *string* in exponent form is accepted too, in both engines.

A value is usable when its text is a decimal, ``-?digits[.digits]``, optionally with an exponent of at
most four digits, ``[eE][+-]?digits`` (VALUE_TEXT_BODY), and its magnitude, rounded half-up at
VALUE_SCALE decimal places, is below 10^15 (VALUE_PRECISION - VALUE_SCALE digits): what fits Spark's
DECIMAL(33, 18), exact in both engines, and where both engines' texts of a JSON number agree. It is
written in plain notation (no exponent), trailing fractional zeros removed, zero as ``0``. Anything
else (booleans, objects, arrays, null, blank, " 12", "12 USD", 1e15, 1e300) is no value: the cell is
left empty, which Personalize allows.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from typing import Any

EVENT_VALUE_COLUMN = "EVENT_VALUE"
VALUE_TEXT_BODY = r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]{1,4})?"
# |value| < 10^15: beyond 2^53 JDK 17's Double.toString (Spark's text of a JSON number) often writes a
# longer decimal than the shortest one Python's repr writes (JDK-4511638, fixed in JDK 19); below 10^15
# the two agree (tests/test_values.py probes thousands of doubles). Prices are far below.
VALUE_PRECISION, VALUE_SCALE = 33, 18

_VALUE_TEXT = re.compile(VALUE_TEXT_BODY)
_QUANTUM = Decimal(1).scaleb(-VALUE_SCALE)
_LIMIT = Decimal(10) ** (VALUE_PRECISION - VALUE_SCALE)
# Enough digits that quantize never runs out: a mantissa of any length, an exponent of at most 9999.
_CONTEXT = Context(prec=20_000, Emax=100_000, Emin=-100_000)
# A plain identifier: Spark's read schema names the field in a DDL string (StructType.simpleString),
# which does not quote names, so a space, ':' or '<' would break the parse of every line.
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def validate_value_field(name: str) -> str:
    """The EVENT_VALUE_FIELD setting, stripped; ValueError if it cannot name one JSON field."""
    field = name.strip()
    if not field:
        raise ValueError("event_value_field must name a field of properties, e.g. price")
    if _FIELD_NAME.fullmatch(field) is None:
        raise ValueError(
            "event_value_field must be one field name of letters, digits and '_' (no '.', ',', spaces"
            " or control characters), starting with a letter or '_'"
        )
    return field


def value_text(value: Any) -> str | None:
    """The text Spark's StringType reader yields for a JSON number or string; None for anything else.

    A float's text is Python's shortest round-trip repr; Spark's is Java's Double.toString: the same
    digits for every double within the value range (see VALUE_PRECISION).
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return repr(value)
    return None


def render_value(text: str) -> str | None:
    """The EVENT_VALUE text for a field's text, or None when it is not a usable value."""
    if _VALUE_TEXT.fullmatch(text) is None:
        return None
    try:
        number = Decimal(text).quantize(_QUANTUM, rounding=ROUND_HALF_UP, context=_CONTEXT)
    except InvalidOperation:
        return None
    # copy_abs, not abs(): abs() rounds to the default context's 28 digits.
    if number.copy_abs() >= _LIMIT:
        return None
    if number.is_zero():
        return "0"
    plain = format(number, "f")
    return plain.rstrip("0").rstrip(".") if "." in plain else plain


def event_value(value: Any) -> str | None:
    """rules' EVENT_VALUE of one JSON value (a property, or a product's field)."""
    text = value_text(value)
    return None if text is None else render_value(text)
