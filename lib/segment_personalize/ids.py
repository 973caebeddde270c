"""The id rules: when a Segment field (userId, anonymousId, messageId, an item id) is a usable id.

Phrased on *text*, as rules.py explains: the Glue job reads every field as a Spark StringType, so Python
judges the text Spark would see. Shared by the mapping (rules.py), identity stitching (identity.py) and
the Spark side (spark/classify.py builds its expressions from these declarations).

This module must not import pyspark: the Lambda package ships it without Spark.
"""

from __future__ import annotations

import json
import re
from typing import Any

from segment_personalize.json_lines import JSON_WHITESPACE

# Personalize's interactions schema caps USER_ID and ITEM_ID at 256 characters.
MAX_ID_LENGTH = 256
# Invalid UTF-8 is read as this character (one per bad sequence), as Spark's JSON reader reads it. An id
# holding it is invalid, so a mangled id never reaches the output; see json_lines.decode_utf8.
REPLACEMENT_CHARACTER = "\ufffd"

# --- Patterns ------------------------------------------------------------------------------------
# Bodies only, in the subset of syntax where Java and Python regexes agree (no ., \s, \d, $). Each
# engine anchors them its own way: Python with re.fullmatch, Spark with ^(?:...)\z -- Java's and
# Python's $ both also match before a trailing newline, which would let "id\n" through.


# Text that Spark produces when it renders a non-string, non-integer JSON token as a string, in three
# parts so that both engines can test the cheap ones first and run a regex only on text with a '.':
# booleans and an overflowing float (exact texts), the compact JSON of an object or array (first and
# last character), and Java's Double.toString of a float (always has a '.').
NON_SCALAR_TEXTS = ("true", "false", '"Infinity"', '"-Infinity"')
CONTAINER_DELIMITERS = (("{", "}"), ("[", "]"))
FLOAT_TEXT_BODY = r"-?[0-9]+\.[0-9]+(?:E-?[0-9]+)?"
# Unicode's control characters (general category Cc): C0, DEL and C1. An id holding one is invalid: a CR
# or LF would split a CSV record over lines, which Personalize's bulk import does not accept. Searched, not
# anchored; the syntax is the same in Java's and Python's regexes.
CONTROL_CHARACTER_BODY = r"[\x00-\x1F\x7F-\x9F]"


def java_anchored(body: str) -> str:
    """The pattern as Spark's rlike/regexp_extract must see it to match the whole text, like fullmatch."""
    return rf"^(?:{body})\z"


_FLOAT_TEXT = re.compile(FLOAT_TEXT_BODY)
_CONTROL_CHARACTER = re.compile(CONTROL_CHARACTER_BODY)


def spark_text(value: Any) -> str | None:
    """The text Spark's StringType reader yields for a JSON value, where that is reproducible.

    Strings, integers, booleans and null render identically in both engines. Floats, objects and arrays
    only need to be recognisable as such (classify_id rejects them by type), so their exact Java
    rendering is not reproduced.
    """
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def is_blank(text: str) -> bool:
    """Empty or only JSON whitespace."""
    return not text.strip(JSON_WHITESPACE)


def looks_non_scalar(text: str) -> bool:
    """Text that Spark could have rendered from a float, boolean, object or array token."""
    return (
        text in NON_SCALAR_TEXTS
        or any(text.startswith(first) and text.endswith(last) for first, last in CONTAINER_DELIMITERS)
        or ("." in text and _FLOAT_TEXT.fullmatch(text) is not None)
    )


def has_unwritable_character(text: str) -> bool:
    """A control character, or the mark of invalid UTF-8 (REPLACEMENT_CHARACTER)."""
    return REPLACEMENT_CHARACTER in text or _CONTROL_CHARACTER.search(text) is not None


def classify_id(value: Any) -> tuple[str | None, str | None]:
    """(id, None) for a usable id; (None, 'missing' | 'invalid') otherwise.

    Missing: absent, null, or only JSON whitespace. Invalid: a float, boolean, object or array token, text
    that Spark could have rendered from one (looks_non_scalar), longer than MAX_ID_LENGTH, or holding a
    control character or U+FFFD (has_unwritable_character).
    Usable ids are kept verbatim, surrounding spaces included: ids are opaque.
    """
    if value is None:
        return None, "missing"
    if isinstance(value, bool | float | dict | list):
        return None, "invalid"
    text = spark_text(value)
    assert text is not None
    if is_blank(text):
        return None, "missing"
    if looks_non_scalar(text) or len(text) > MAX_ID_LENGTH or has_unwritable_character(text):
        return None, "invalid"
    return text, None


def first_usable_id(fields: dict[str, Any], names: tuple[str, ...]) -> tuple[str | None, str | None]:
    """classify_id of the first of ``names`` that holds a usable id; else 'invalid' if any was invalid."""
    problems = []
    for name in names:
        item, problem = classify_id(fields.get(name))
        if item is not None:
            return item, None
        problems.append(problem)
    return None, "invalid" if "invalid" in problems else "missing"
