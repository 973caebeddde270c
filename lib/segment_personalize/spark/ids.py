"""The id rules (segment_personalize.ids) as Spark SQL: missing, invalid or usable, on Spark's text."""

from __future__ import annotations

from segment_personalize import rules
from segment_personalize.spark.sql import Sql, any_of, matches, sql_string


def is_blank(text: Sql) -> Sql:
    """rules.is_blank. Trimming copies the text, so it is left for text that starts with whitespace."""
    starts_blank = any_of(*(f"startswith({text}, {sql_string(char)})" for char in rules.JSON_WHITESPACE))
    trimmed = f"btrim({text}, {sql_string(rules.JSON_WHITESPACE)})"
    return f"(octet_length({text}) = 0 OR ({starts_blank} AND {trimmed} = ''))"


def looks_non_scalar(text: Sql) -> Sql:
    """rules.looks_non_scalar, cheapest test first: OR stops at the first true one, so the regex runs
    only on text with a '.'; a regex per id was a tenth of the job's CPU time."""
    exact = ", ".join(sql_string(t) for t in rules.NON_SCALAR_TEXTS)
    containers = (
        f"(startswith({text}, {sql_string(first)}) AND endswith({text}, {sql_string(last)}))"
        for first, last in rules.CONTAINER_DELIMITERS
    )
    return any_of(
        f"{text} IN ({exact})",
        *containers,
        f"(contains({text}, '.') AND {matches(text, rules.FLOAT_TEXT_BODY)})",
    )


def has_unwritable_character(text: Sql) -> Sql:
    """rules.has_unwritable_character: U+FFFD by a byte search, then the one regex every id pays."""
    return any_of(
        f"contains({text}, {sql_string(rules.REPLACEMENT_CHARACTER)})",
        f"({text} RLIKE {sql_string(rules.CONTROL_CHARACTER_BODY)})",
    )


def too_long(text: Sql) -> Sql:
    # Counting characters means decoding UTF-8; no text of at most MAX_ID_LENGTH bytes needs it.
    limit = rules.MAX_ID_LENGTH
    return f"(octet_length({text}) > {limit} AND char_length({text}) > {limit})"


def id_missing(text: Sql) -> Sql:
    return f"({text} IS NULL OR {is_blank(text)})"


def id_problem(text: Sql) -> Sql:
    """'missing' / 'invalid' / null, as rules.classify_id decides it on Spark's text rendering."""
    invalid = any_of(looks_non_scalar(text), too_long(text), has_unwritable_character(text))
    return f"CASE WHEN {id_missing(text)} THEN 'missing' WHEN {invalid} THEN 'invalid' END"


def usable_id(text: Sql) -> Sql:
    return f"CASE WHEN ({id_problem(text)}) IS NULL THEN {text} END"


def first_usable(fields: list[Sql]) -> Sql:
    """rules.first_usable_id, as one text whose _id_problem is the rule's verdict.

    The first usable field's text; else, when any field was invalid, '{}' (text that is invalid by the id
    rule, standing for "invalid"); else null (missing). One field is itself, as it always was.
    """
    if len(fields) == 1:
        return fields[0]
    usable = ", ".join(usable_id(f) for f in fields)
    invalid = any_of(*(f"({id_problem(f)}) <=> 'invalid'" for f in fields))
    return f"coalesce({usable}, CASE WHEN {invalid} THEN '{{}}' END)"
