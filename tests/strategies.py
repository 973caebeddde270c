"""Hypothesis strategies for Segment lines, biased towards the values where engines could disagree."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st
from segment_personalize.rules import DEFAULT_SUPPORTED_EVENTS

ABSENT = object()


def _sku(value: Any) -> dict[str, Any]:
    return {} if value is ABSENT else {"sku": value}


tricky_text = st.sampled_from(
    [
        "",
        " ",
        "\t\n",
        "1.5",
        "1.0E20",
        "-0.0",
        "true",
        "false",
        "null",
        "{}",
        "{x}",
        "[1]",
        '"Infinity"',
        "id\n",
        "id\u2028",
        " padded ",
        "ü-ß",
        "2941404340",
        "a,b",
        'q"q',
        "x" * 256,
        "x" * 257,
        # Edges of the cheap tests that stand in for regexes (rules.looks_non_scalar, is_blank, length).
        "{",
        "[x",
        "x]",
        "1.",
        ".5",
        "-1.5E-3",
        "1.5e3",
        "\u00a0",
        " x",
        "ü" * 129,
        "ü" * 257,
        # Control characters (invalid in an id), and characters that are not controls.
        "u\n1",
        "u\r",
        "\x00",
        "u\x7f",
        "\x85u",
        "u\x9f",
        "\u00a0u",
        # U+FFFD, the mark of invalid UTF-8 (invalid in an id), and a BOM inside an id (kept).
        "\ufffd",
        "u\ufffd",
        "\ufeffu",
    ]
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    # Around Jackson's 1000-digit limit on numbers.
    st.sampled_from([999, 1000, 1001]).map(lambda n: int("7" * n)),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    tricky_text,
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)
ids = st.one_of(scalars, tricky_text, st.just(ABSENT), json_values)

digits = st.integers
valid_times = st.builds(
    lambda y, mo, d, h, mi, s, frac, zone: f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}{frac}{zone}",
    digits(1, 9999),
    digits(1, 12),
    digits(1, 31),
    digits(0, 23),
    digits(0, 59),
    digits(0, 59),
    st.one_of(st.just(""), st.text("0123456789", min_size=1, max_size=10).map(lambda f: "." + f)),
    st.sampled_from(["", "Z", "+05:30", "-08:00", "+23:59", "-00:00", "+24:00", "z", "+0530"]),
)
times = st.one_of(valid_times, ids)
events = st.one_of(
    st.sampled_from([*DEFAULT_SUPPORTED_EVENTS, "Product Viewed", "product added", "View", "Cart Viewed"]),
    ids,
)
types = st.one_of(st.sampled_from(["track", "track", "track", "page", "identify", "Track"]), ids)


def _product_id(value: Any, sku: Any) -> dict[str, Any]:
    return {**({} if value is ABSENT else {"product_id": value}), **_sku(sku)}


# EVENT_VALUE candidates (values.py): numbers of every form, decimal and exponent strings, and non-values.
prices = st.one_of(
    st.integers(),
    st.integers(-(10**25), 10**25),
    st.floats(allow_nan=False, allow_infinity=False),
    st.decimals(allow_nan=False, allow_infinity=False, places=4).map(float),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.from_regex(r"-?[0-9]{1,25}(\.[0-9]{1,22})?([eE][-+]?[0-9]{1,5})?", fullmatch=True),
    st.sampled_from(
        ["1e7", "1.0E-5", "2.5E+3", "1e300", "-0", "-0.0", "007.50", " 12", "12 USD", "+5", "5.", ""]
    ),
    st.sampled_from([1e300, -1e-300, 1e15, 999999999999999.9, 1e19, -0.0, 5e-324]),
    st.booleans(),
    st.none(),
    st.just({"amount": 5}),
    st.just([5]),
)


def _priced(fields: Any, price: Any) -> Any:
    return {**fields, "price": price} if isinstance(fields, dict) and price is not ABSENT else fields


_maybe_price = st.one_of(st.just(ABSENT), prices)
products = st.lists(
    st.builds(
        _priced,
        st.one_of(
            st.builds(_sku, ids),
            st.builds(_product_id, ids, ids),
            json_values,
            st.sampled_from(['{"sku":"enc"}', '{"product_id":"penc"}']),
        ),
        _maybe_price,
    ),
    max_size=5,
)
properties = st.one_of(
    st.builds(_priced, st.builds(_sku, ids), _maybe_price),
    st.builds(_product_id, ids, ids),
    st.builds(lambda p, sku: {"products": p, **_sku(sku)}, products, ids),
    st.builds(lambda p: json.dumps({"products": p}), products),  # double-encoded
    st.builds(lambda p: {"products": json.dumps(p)}, products),
    json_values,
    st.just(ABSENT),
)


BOM = "\ufeff"
INVALID_UTF8 = (b"\xff", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80", b"\x80", b"\xf4\x90\x80\x80")


def _long_number(digits: int, form: str) -> str:
    if form == "int":
        return "-" + "3" * digits
    if form == "fraction":
        return "3." + "3" * (digits - 1)
    return "3.3e-" + "3" * (digits - 2)


@st.composite
def segment_lines(draw: Any) -> str | bytes:
    """A line as text, or as bytes when it holds invalid UTF-8."""
    call = {
        "type": draw(types),
        "event": draw(events),
        "userId": draw(ids),
        "anonymousId": draw(ids),
        "messageId": draw(st.one_of(st.sampled_from(["m1", "m2", "m3"]), ids)),
        "timestamp": draw(times),
        "originalTimestamp": draw(st.one_of(st.just(ABSENT), times)),
        "receivedAt": draw(st.one_of(st.just(ABSENT), valid_times)),
        "properties": draw(properties),
    }
    line = json.dumps({k: v for k, v in call.items() if v is not ABSENT}, ensure_ascii=draw(st.booleans()))
    mangle = draw(
        st.sampled_from(
            ["none"] * 8 + ["truncate", "trailing", "blank", "array", "bom", "bad_utf8", "number", "nesting"]
        )
    )
    if mangle == "bom":
        return draw(st.sampled_from([BOM, BOM + BOM, BOM + " ", " " + BOM])) + line
    if mangle == "bad_utf8":
        raw = line.encode("utf-8")
        at = draw(st.integers(0, len(raw)))
        return raw[:at] + draw(st.sampled_from(INVALID_UTF8)) + raw[at:]
    if mangle == "number" and line.endswith("}"):
        digits = draw(st.sampled_from([999, 1000, 1001]))
        number = _long_number(digits, draw(st.sampled_from(["int", "fraction", "exponent"])))
        return line[:-1] + ', "n": ' + number + "}"
    if mangle == "nesting" and line.endswith("}"):
        depth = draw(st.sampled_from([998, 999, 1000]))  # levels under the call's own object
        return line[:-1] + ', "x": ' + "[" * depth + "]" * depth + "}"
    if mangle == "truncate":
        return line[: draw(st.integers(0, len(line) - 1))]
    if mangle == "trailing":
        return line + " tail"
    if mangle == "blank":
        return draw(st.sampled_from(["", " ", "\t"]))
    if mangle == "array":
        return f"[{line}]"
    return line


# Identity: few devices and users, so that links, stitch targets and shared devices occur; the usual
# nasty ids among them. Calls of every type link; alias calls carry a previousId.
anonymous_ids = st.one_of(
    st.sampled_from(["a1", "a2", "a3", "a4"]), st.sampled_from([ABSENT, None, "", 1.5]), ids
)
user_ids = st.one_of(st.sampled_from(["u1", "u2", "u3", ABSENT, ABSENT, None, " "]), st.just(2.5), ids)
identity_types = st.sampled_from(["track", "track", "track", "identify", "alias", "page"])


@st.composite
def identity_lines(draw: Any, unique_message_ids: bool = False) -> str | bytes:
    """A call of a small world of devices and users (or, now and then, any generated line)."""
    # Any generated line now and then; not where messageIds must stay unique.
    if not unique_message_ids and draw(st.integers(0, 9)) == 0:
        return draw(segment_lines())
    call = {
        "type": draw(identity_types),
        "event": draw(st.sampled_from([*DEFAULT_SUPPORTED_EVENTS, "Product Viewed"])),
        "userId": draw(user_ids),
        "anonymousId": draw(anonymous_ids),
        "previousId": draw(st.one_of(anonymous_ids, st.just(ABSENT))),
        "messageId": ABSENT if unique_message_ids else draw(st.sampled_from(["m1", "m2", ABSENT, ABSENT])),
        "timestamp": draw(st.one_of(valid_times, valid_times, times)),
        "properties": draw(st.one_of(st.builds(_sku, st.sampled_from(["s1", "s2"])), properties)),
    }
    return json.dumps({k: v for k, v in call.items() if v is not ABSENT})


# Users and Items metadata: traits and item properties from a small pool of values that fit and do
# not fit each column type, on identify calls and on kept events (single products and orders), in both
# shapes Spark reads (objects, and objects double-encoded as JSON text).
metadata_values = st.sampled_from(
    [
        ABSENT,
        None,
        "pro",
        "basic",
        "",
        " ",
        7,
        "007",
        -3,
        2.5,
        "19.99",
        "1.0E7",
        1e7,
        True,
        "a|b",
        ["x", "y"],
        [],
        ["x", 1.5],
        {"name": "pro"},
        "[1,2]",
        "n/a",
        2**40,
        "ü",
    ]
)


def _metadata_fields(draw: Any, names: tuple[str, ...]) -> dict[str, Any]:
    fields = {name: draw(metadata_values) for name in names}
    return {k: v for k, v in fields.items() if v is not ABSENT}


def _maybe_encoded(draw: Any, value: dict[str, Any]) -> Any:
    return json.dumps(value) if draw(st.integers(0, 5)) == 0 else value


@st.composite
def metadata_lines(draw: Any) -> str | bytes:
    """identify calls with traits, and tracks whose products carry properties, of few users and items."""
    if draw(st.integers(0, 9)) == 0:
        return draw(identity_lines())
    call: dict[str, Any] = {
        "type": draw(st.sampled_from(["identify", "identify", "track", "track", "track", "alias"])),
        "event": draw(st.sampled_from([*DEFAULT_SUPPORTED_EVENTS, "Product Viewed"])),
        "userId": draw(user_ids),
        "anonymousId": draw(anonymous_ids),
        "messageId": draw(st.sampled_from(["m1", "m2", ABSENT, ABSENT])),
        "timestamp": draw(st.one_of(valid_times, valid_times, times)),
    }
    if call["type"] == "identify" or draw(st.integers(0, 4)) == 0:
        traits = _metadata_fields(draw, ("plan", "lifetime_value", "tags"))
        call["traits"] = _maybe_encoded(draw, traits) if draw(st.integers(0, 9)) else draw(metadata_values)
    product = st.builds(
        lambda sku, fields: {**_sku(sku), **fields},
        st.sampled_from(["s1", "s2", "s3", ABSENT]),
        st.builds(dict),
    )
    if draw(st.booleans()):
        properties = {
            **_sku(draw(st.sampled_from(["s1", "s2", ABSENT]))),
            **_metadata_fields(draw, ("category", "price", "rank")),
        }
    else:
        products = [
            {**draw(product), **_metadata_fields(draw, ("category", "price", "rank"))}
            for _ in range(draw(st.integers(0, 3)))
        ]
        properties = {
            "products": [_maybe_encoded(draw, p) for p in products],
            **_metadata_fields(draw, ("category",)),
        }
    call["properties"] = _maybe_encoded(draw, properties)
    return json.dumps({k: v for k, v in call.items() if v is not ABSENT})
