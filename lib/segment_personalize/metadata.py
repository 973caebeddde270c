"""Users and Items metadata: the rule that fits one Segment value into one metadata CSV cell, and the
"latest fitting value per id and column" rule, declared once for both engines (no pyspark import: the
Lambda ships this module for PutUsers).

Like the id rules (rules.py) and EVENT_VALUE (values.py), every rule is phrased on the *text* Spark's
StringType reader yields for a JSON value (spark/schema.py): strings verbatim, integers as their digits,
booleans as ``true``/``false``, floats as Java's ``Double.toString`` (``1.0E7``), arrays and objects as
compact JSON text, an overflowing float as ``"Infinity"`` (quoted). Python sees types; it reaches the
same verdict as Spark does on the text. ``docs/mapping-contract.md`` ("Users and items") states the rules
in prose; tests/test_metadata.py pins them and tests/test_metadata_spark.py proves the engines agree.

Per column type (personalize_schema.Column.kind):

- ``string`` (categorical): a string, an integer (its digits) or a boolean (``true``/``false``), kept
  verbatim; or an array of such scalars, written joined with ``|`` (Personalize's multi-value
  separator). Spark cannot tell ``["a","b"]`` from the string ``'["a","b"]'``, so a string holding an
  array's JSON text is read as that array (as rules.as_array reads products). Does not fit:

  * a float, or text that reads like Spark's rendering of one (``1.5``, ``1.0E7``: FLOAT_TEXT_BODY) --
    Java's ``Double.toString`` is not Python's ``repr`` (``1.0E7`` / ``10000000.0``), and JDK 17's is
    not even always the shortest digits (JDK-4511638), so the two engines could not write the same
    text; rejecting the text (not just the token) keeps them equal. Declare the column ``:float``;
  * ``Infinity``/``-Infinity`` with or without quotes (Spark's text of an overflowing float);
  * an object, or any other text wrapped in ``{…}`` or ``[…]`` that is not an array's JSON;
  * blank text (empty or only JSON whitespace), an empty array, an array with a null, blank, float,
    array or object element;
  * a cell (after joining) longer than MAX_CATEGORICAL_LENGTH characters (Personalize's limit), or
    holding a control character or U+FFFD (rules.has_unwritable_character: CSV integrity, as for ids).

  A ``|`` inside a value is kept: Personalize has no escape for it and reads it as a separator, so
  ``"a|b"`` (or ``["a|b"]``) is two values, ``a`` and ``b``, exactly as if sent as ``["a","b"]``.
  Duplicate elements and their order are kept as sent. Surrounding spaces are kept (values are opaque).

- ``float``: values.event_value (a JSON number, or a string holding a plain decimal / exponent form,
  below 10^15, rounded half-up at 18 places, written plain): the EVENT_VALUE rule and text.
- ``int``: integer text, ``-?digits`` (a JSON integer, or a string of digits; leading zeros allowed),
  within Avro's 32-bit int range, written canonically (``007`` -> ``7``, ``-0`` -> ``0``). A float never
  fits, ``3.0`` and ``1e3`` included: Spark sees a JSON ``3.0`` as the text ``3.0``, and reading it as 3
  would make ``3.5`` the only float that is refused.

A JSON null or an absent field is no value at all. Any other value that does not fit is *counted*
(``values_not_fitting``) and never overwrites a fitting one.

Latest: for each id and column, the fitting value of the record with the greatest timestamp; among
records with the same timestamp, the greatest cell text in code-point order (Spark compares strings by
their UTF-8 bytes, which is code-point order, as Python does). The result depends only on the set of
records, never on their order. An id appears only when at least one of its columns has a fitting value;
a column without one is an empty cell.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from segment_personalize import rules
from segment_personalize.personalize_schema import Column
from segment_personalize.values import event_value

MULTI_VALUE_SEPARATOR = "|"
MAX_CATEGORICAL_LENGTH = 1000
# Spark's texts of an overflowing float: quoted when Spark renders the number itself, unquoted when it
# re-reads an array whose first rendering already quoted it. Neither is a category.
INFINITY_TEXTS = ("Infinity", "-Infinity", '"Infinity"', '"-Infinity"')
# Avro int (Personalize's "int"): 32-bit signed.
INT_TEXT_BODY = r"-?[0-9]+"
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
KINDS = ("string", "float", "int")

# A plain identifier: Spark's read schema names each source in a DDL string, unquoted (as values'
# EVENT_VALUE_FIELD).
_SOURCE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INT_TEXT = re.compile(INT_TEXT_BODY)
_FLOAT_TEXT = re.compile(rules.FLOAT_TEXT_BODY)
# Enough digits for any 32-bit int once leading zeros are gone; longer texts are out of range anyway
# (and Python's int() refuses texts beyond 4300 digits).
_INT_DIGITS = 10


# --- Text rules (what the Spark side mirrors) ----------------------------------------------------


def is_container_text(text: str) -> bool:
    """Text wrapped in ``{…}`` or ``[…]``: the compact JSON Spark renders from an object or array."""
    return any(text.startswith(first) and text.endswith(last) for first, last in rules.CONTAINER_DELIMITERS)


def is_array_text(text: str) -> bool:
    return text.startswith("[") and text.endswith("]")


def categorical_scalar_fits(text: str) -> bool:
    """One categorical value's text (a whole scalar cell, or one element of an array)."""
    return not (
        rules.is_blank(text)
        or text in INFINITY_TEXTS
        or is_container_text(text)
        or ("." in text and _FLOAT_TEXT.fullmatch(text) is not None)
    )


def categorical_cell_fits(cell: str) -> bool:
    """The checks on the written cell, after joining: Personalize's length limit and CSV integrity."""
    return len(cell) <= MAX_CATEGORICAL_LENGTH and not rules.has_unwritable_character(cell)


def fit_int_text(text: str) -> str | None:
    if _INT_TEXT.fullmatch(text) is None:
        return None
    digits = text.lstrip("-").lstrip("0")
    if len(digits) > _INT_DIGITS:
        return None
    number = int(text)
    return str(number) if INT_MIN <= number <= INT_MAX else None


# --- One value -> one cell -----------------------------------------------------------------------


def _string_text(text: str) -> str:
    """A JSON string as Spark holds it: a lone surrogate (``"\\ud800"``) cannot be UTF-8, and Spark's
    conversion of the parsed Java string writes it as ``?``."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


def _element_text(value: Any) -> str | None:
    """An array element's text as Spark re-reads it, where it can fit; None where it cannot."""
    if value is None or isinstance(value, float | dict | list):
        return None
    if isinstance(value, str):
        return _string_text(value)
    return rules.spark_text(value)  # bool, int


def _fit_array(elements: list[Any]) -> str | None:
    if not elements:
        return None
    texts = [_element_text(element) for element in elements]
    if any(text is None or not categorical_scalar_fits(text) for text in texts):
        return None
    cell = MULTI_VALUE_SEPARATOR.join(t for t in texts if t is not None)
    return cell if categorical_cell_fits(cell) else None


def fit_categorical(value: Any) -> str | None:
    if value is None or isinstance(value, float | dict):
        return None
    if isinstance(value, list):
        return _fit_array(value)
    text = _string_text(value) if isinstance(value, str) else rules.spark_text(value)
    assert text is not None
    if is_array_text(text):
        elements = rules.as_array(text)
        return None if elements is None else _fit_array(elements)
    if not categorical_scalar_fits(text) or not categorical_cell_fits(text):
        return None
    return text


def fit_int(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    return fit_int_text(str(value))


def fit_value(value: Any, kind: str) -> str | None:
    """The CSV cell text of one JSON value in a column of ``kind``; None when it does not fit."""
    if kind == "string":
        return fit_categorical(value)
    if kind == "float":
        return event_value(value)
    if kind == "int":
        return fit_int(value)
    raise ValueError(f"unknown column kind {kind!r}; use one of {', '.join(KINDS)}")


# --- Configuration checks ------------------------------------------------------------------------


def validate_sources(
    columns: Sequence[Column],
    setting: str,
    *,
    read_fields: Sequence[str] = (),
    forbidden: Sequence[str] = (),
) -> tuple[Column, ...]:
    """Check the columns' source fields for the job's read schema; ValueError (one line) if one is bad.

    ``read_fields`` are the fields the read schema already reads in the same object (the item id and
    EVENT_VALUE fields of properties and products): a source equal to one shares that field (``price``
    as both EVENT_VALUE and the PRICE column is fine). ``forbidden`` are fields of that object the
    schema reads with another type (``products``, an array). Sources differing only in case are refused:
    Spark resolves struct fields case-insensitively, so ``Plan`` and ``plan`` would be ambiguous.
    """
    for column in columns:
        if _SOURCE_NAME.fullmatch(column.source) is None:
            raise ValueError(
                f"{setting}: source {column.source!r} must be one field name of letters, digits and '_' "
                "(no '.', spaces or control characters), starting with a letter or '_'"
            )
        if column.source in forbidden:
            raise ValueError(f"{setting}: source {column.source!r} is a field the job reads as a list")
        if column.kind not in KINDS:
            raise ValueError(f"{setting}: column {column.name!r} has unknown type {column.kind!r}")
    by_folded: dict[str, str] = {}
    for name in (*read_fields, *forbidden, *(c.source for c in columns)):
        seen = by_folded.setdefault(name.lower(), name)
        if seen != name:
            raise ValueError(
                f"{setting}: sources {seen!r} and {name!r} differ only in case; Spark cannot read both"
            )
    return tuple(columns)


def source_fields(columns: Iterable[Column], read_fields: Sequence[str] = ()) -> tuple[str, ...]:
    """The distinct source fields to add to a read schema that already reads ``read_fields``."""
    return tuple(dict.fromkeys(c.source for c in columns if c.source not in read_fields))


# --- Latest fitting value per id and column ------------------------------------------------------

Record = tuple[str, int, dict[str, Any]]  # (id, timestamp, fields)


@dataclass(frozen=True)
class MetadataTable:
    """The rows of a Users or Items dataset, and the counts the run report shows."""

    columns: tuple[Column, ...]
    rows: dict[str, dict[str, str]]  # id -> {column name: cell text}, only the filled cells
    records: int = 0  # input records seen
    not_fitting: dict[str, int] = field(default_factory=dict)  # column name -> values that did not fit

    @property
    def values_not_fitting(self) -> int:
        return sum(self.not_fitting.values())

    @property
    def filled(self) -> dict[str, int]:
        """Per column, the ids whose cell is filled."""
        return {c.name: sum(c.name in row for row in self.rows.values()) for c in self.columns}

    def metrics(self) -> dict[str, int]:
        """The counts over the input records, named as spark/metadata.metric_columns names them."""
        return {
            "records": self.records,
            "values_not_fitting": self.values_not_fitting,
            **{not_fitting_metric(c.name): self.not_fitting.get(c.name, 0) for c in self.columns},
        }

    def csv_rows(self) -> list[tuple[str, ...]]:
        """(id, *cells) with '' for an empty cell, sorted by id (code-point order)."""
        return [(key, *(row.get(c.name, "") for c in self.columns)) for key, row in sorted(self.rows.items())]


def not_fitting_metric(column_name: str) -> str:
    return f"not_fitting_{column_name}"


def latest_values(records: Iterable[Record], columns: Sequence[Column]) -> MetadataTable:
    """The latest fitting value per id and column (module docstring), with the counts."""
    columns = tuple(columns)
    best: dict[str, dict[str, tuple[int, str]]] = {}
    not_fitting = {c.name: 0 for c in columns}
    count = 0
    for key, timestamp, fields in records:
        count += 1
        for column in columns:
            value = fields.get(column.source)
            if value is None:
                continue
            cell = fit_value(value, column.kind)
            if cell is None:
                not_fitting[column.name] += 1
                continue
            row = best.setdefault(key, {})
            candidate = (timestamp, cell)
            current = row.get(column.name)
            if current is None or candidate > current:
                row[column.name] = candidate
    rows = {key: {name: cell for name, (_, cell) in row.items()} for key, row in best.items() if row}
    return MetadataTable(columns=columns, rows=rows, records=count, not_fitting=not_fitting)
