"""One line of newline-delimited JSON, read the way Spark's JSON reader (Jackson) reads it.

Split out of rules.py: this is the lines' concern (bytes, JSON syntax, Jackson's limits), not the
mapping's. rules.py re-exports every name the engines use.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

# JSON whitespace only, always named: without an argument Python's str.strip() and Spark's trim()
# disagree on what whitespace is.
JSON_WHITESPACE = " \t\r\n"

# Jackson's StreamReadConstraints, the same defaults in the Jackson of Spark 3.5.6 (2.15.2) and of Spark
# 4.1.1 (2.20.0), probed at their boundaries (tests pin them): a number of more than 1000 digits (sign,
# '.', exponent marker excluded; integer, fraction and exponent digits counted together) or a nesting
# deeper than 1000 makes the whole line corrupt, wherever it sits in the line.
MAX_NUMBER_DIGITS = 1000
MAX_NESTING_DEPTH = 1000


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON literal {name}")


def _checked_int(text: str) -> int:
    if len(text) - text.startswith("-") > MAX_NUMBER_DIGITS:
        raise ValueError("number longer than Jackson's limit")
    return int(text)


def _checked_float(text: str) -> float:
    if sum(char.isdigit() for char in text) > MAX_NUMBER_DIGITS:
        raise ValueError("number longer than Jackson's limit")
    return float(text)


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
# Only a line longer than the limit can hold a number longer than it: the hooks cost a call per number.
_LONG_LINE_DECODER = json.JSONDecoder(
    parse_constant=_reject_constant, parse_int=_checked_int, parse_float=_checked_float
)
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def _nesting_depth(text: str, start: int) -> int:
    """The deepest nesting of the first JSON value from ``start`` (strings left out), as Jackson counts it."""
    depth = deepest = 0
    for char in _JSON_STRING.sub("", text[start:]):
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
            if depth <= 0:
                break
    return deepest


def parse_line(text: str) -> Any:
    """Parse one line as Spark's JSON reader does; raises ValueError when Spark would call it corrupt.

    Spark stops at the end of the first JSON value and ignores whatever follows it on the line, so this
    does too (raw_decode); it refuses NaN/Infinity literals, as the job's reader options do, and numbers
    and nestings beyond Jackson's limits (MAX_NUMBER_DIGITS, MAX_NESTING_DEPTH).
    """
    start = len(text) - len(text.lstrip(JSON_WHITESPACE))
    if len(text) <= MAX_NUMBER_DIGITS:
        return _DECODER.raw_decode(text, start)[0]
    if text.count("[") + text.count("{") > MAX_NESTING_DEPTH:
        depth = _nesting_depth(text, start)
        if depth > MAX_NESTING_DEPTH:
            raise ValueError("nested deeper than Jackson's limit")
        # Python 3.11's decoder recurses once per level on the interpreter's stack: make room for
        # what Jackson accepts. (The Lambda maps records on one thread.)
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(limit, depth + 500))
        try:
            return _LONG_LINE_DECODER.raw_decode(text, start)[0]
        finally:
            sys.setrecursionlimit(limit)
    return _LONG_LINE_DECODER.raw_decode(text, start)[0]


def decode_utf8(data: bytes) -> str:
    """Bytes -> text as Spark reads a line: each invalid UTF-8 sequence becomes U+FFFD.

    Both engines decode the same way (Java's decoder and Python's replace the same maximal invalid
    sequences), and any id holding U+FFFD is invalid, so a bad byte never reaches the output. A bad byte
    in a field the mapping does not read changes nothing: checking whole lines would cost the job a
    quarter to a half of its JSON parse (docs/mapping-contract.md).
    """
    return data.decode("utf-8", errors="replace")
