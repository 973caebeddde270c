"""The mapping contract as a table: (name, line, expected). Both engines are tested against it.

``expected`` is a drop reason, or (USER_ID, item ids, EVENT_TYPE, TIMESTAMP) for a kept event -- under
an EVENT_VALUE_FIELD setting, (..., EVENT_VALUE per item) (``valued``). A line is text, or bytes where the
case is about the bytes themselves (invalid UTF-8).
"""

from __future__ import annotations

import json
from typing import Any

BASE_TS = "2019-02-25T15:55:05.905Z"
BASE_EPOCH = 1551110105
_ABSENT = object()


def track(
    event: Any = "Product Clicked",
    user_id: Any = "2941404340",
    sku: Any = "ocean-blue-shirt",
    timestamp: Any = BASE_TS,
    **extra: Any,
) -> str:
    call: dict[str, Any] = {"type": "track", "event": event, "userId": user_id, "timestamp": timestamp}
    call["properties"] = {} if sku is _ABSENT else {"sku": sku}
    for key, value in extra.items():
        call[key] = value
    return json.dumps({k: v for k, v in call.items() if v is not _ABSENT})


def order(products: Any, **extra: Any) -> str:
    return track(event="Order Completed", properties={"order_id": "o1", "products": products}, **extra)


def kept(
    user: str = "2941404340",
    items: tuple[str, ...] = ("ocean-blue-shirt",),
    event: str = "Product Clicked",
    ts: int = BASE_EPOCH,
) -> tuple[str, tuple[str, ...], str, int]:
    return (user, items, event, ts)


def valued(values: tuple[str | None, ...], **kept_args: Any) -> tuple[Any, ...]:
    """A kept event under an EVENT_VALUE_FIELD setting: kept(...) and the EVENT_VALUE of each item."""
    return (*kept(**kept_args), values)


def priced(price: Any) -> str:
    return track(properties={"sku": "ocean-blue-shirt", "price": price})


def with_bytes(line: str, marker: str, raw: bytes) -> bytes:
    """The line's UTF-8 with ``marker`` (which must occur once) replaced by raw bytes."""
    assert line.count(marker) == 1
    return line.encode("utf-8").replace(marker.encode("utf-8"), raw)


def nested(depth: int) -> str:
    """A call whose deepest nesting is ``depth`` levels, the call's own object included."""
    return track()[:-1] + ', "x": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}"


def with_number(number: str) -> str:
    return track()[:-1] + f', "n": {number}' + "}"


A = _ABSENT
BOM = "\ufeff"
CASES: list[tuple[str, str | bytes, Any]] = [
    # Filter
    ("product clicked", track(), kept()),
    ("product added", track(event="Product Added"), kept(event="Product Added")),
    ("unsupported track event", track(event="Product Viewed"), "unsupported_event"),
    ("event name is case-sensitive", track(event="product clicked"), "unsupported_event"),
    ("no event name", track(event=A), "unsupported_event"),
    (
        "identify call",
        json.dumps({"type": "identify", "userId": "u1", "traits": {"email": "a@b.c"}}),
        "not_track",
    ),
    ("page call", json.dumps({"type": "page", "userId": "u1", "properties": {"sku": "x"}}), "not_track"),
    ("no type", json.dumps({"event": "Product Clicked", "userId": "u1"}), "not_track"),
    # USER_ID
    ("numeric user id keeps its digits", track(user_id=2941404340), kept()),
    (
        "huge integer user id",
        track(user_id=123456789012345678901234567890),
        kept(user="123456789012345678901234567890"),
    ),
    (
        "negative zero user id",
        json.dumps(
            {"type": "track", "event": "Product Clicked", "timestamp": BASE_TS, "properties": {"sku": "s"}}
        )[:-1]
        + ',"userId":-0}',
        kept(user="0", items=("s",)),
    ),
    ("user id kept verbatim with spaces", track(user_id=" u 1 "), kept(user=" u 1 ")),
    ("float user id", track(user_id=1.5), "invalid_user_id"),
    ("exponent user id", track(user_id=1e3), "invalid_user_id"),
    ("float-looking string user id", track(user_id="1.5"), "invalid_user_id"),
    ("boolean user id", track(user_id=True), "invalid_user_id"),
    ("'true' string user id", track(user_id="true"), "invalid_user_id"),
    ("object user id", track(user_id={"id": 1}), "invalid_user_id"),
    ("array user id", track(user_id=[1]), "invalid_user_id"),
    ("257-character user id", track(user_id="u" * 257), "invalid_user_id"),
    ("256-character user id", track(user_id="u" * 256), kept(user="u" * 256)),
    ("null user id", track(user_id=None), "missing_user_id"),
    ("absent user id", track(user_id=A), "missing_user_id"),
    ("empty user id", track(user_id=""), "missing_user_id"),
    ("whitespace user id", track(user_id=" \t\n"), "missing_user_id"),
    # ITEM_ID
    ("numeric sku", track(sku=42), kept(items=("42",))),
    ("float sku", track(sku=12.5), "invalid_item_id"),
    ("absent sku", track(sku=A), "missing_item_id"),
    ("null properties", track(properties=None), "missing_item_id"),
    ("properties as JSON text", track(properties=json.dumps({"sku": "dbl"})), kept(items=("dbl",))),
    (
        "order expands products",
        order([{"sku": "a"}, {"sku": "b"}]),
        kept(items=("a", "b"), event="Order Completed"),
    ),
    (
        "order collapses repeated products",
        order([{"sku": "a"}, {"sku": "b"}, {"sku": "a"}]),
        kept(items=("a", "b"), event="Order Completed"),
    ),
    (
        "order skips products without usable sku",
        order([{"sku": "a"}, {"name": "x"}, {"sku": 1.5}, "junk", None]),
        kept(items=("a",), event="Order Completed"),
    ),
    ("order with no usable products, one invalid", order([{"sku": 1.5}, {"name": "x"}]), "invalid_item_id"),
    ("order with empty products", order([]), "missing_item_id"),
    (
        "products not an array falls back to top-level sku",
        track(event="Order Completed", properties={"sku": "top", "products": {"sku": "p"}}),
        kept(items=("top",), event="Order Completed"),
    ),
    (
        "products array wins over top-level sku",
        track(event="Order Completed", properties={"sku": "top", "products": [{"sku": "p"}]}),
        kept(items=("p",), event="Order Completed"),
    ),
    # TIMESTAMP
    ("no fraction", track(timestamp="2019-02-25T15:55:05Z"), kept()),
    ("nine fraction digits", track(timestamp="2019-02-25T15:55:05.999999999Z"), kept()),
    ("one fraction digit", track(timestamp="2019-02-25T15:55:05.9Z"), kept()),
    ("positive offset", track(timestamp="2019-02-25T21:25:05.1+05:30"), kept()),
    ("negative offset", track(timestamp="2019-02-25T07:55:05-08:00"), kept()),
    ("no zone is UTC", track(timestamp="2019-02-25T15:55:05.905"), kept()),
    ("before 1970 floors", track(timestamp="1969-12-31T23:59:59.5Z"), kept(ts=-1)),
    ("leap day", track(timestamp="2020-02-29T00:00:00Z"), kept(ts=1582934400)),
    ("no such day", track(timestamp="2019-02-29T00:00:00Z"), "invalid_timestamp"),
    ("space separator", track(timestamp="2019-02-25 15:55:05Z"), "invalid_timestamp"),
    ("hour 24", track(timestamp="2019-02-25T24:00:00Z"), "invalid_timestamp"),
    ("leap second", track(timestamp="2016-12-31T23:59:60Z"), "invalid_timestamp"),
    ("offset at the limit", track(timestamp="2019-02-26T09:55:05+18:00"), kept()),
    ("offset beyond +-18:00", track(timestamp="2019-02-26T09:56:05+18:01"), "invalid_timestamp"),
    ("ten fraction digits", track(timestamp="2019-02-25T15:55:05.1234567890Z"), "invalid_timestamp"),
    ("epoch number", track(timestamp=1551110105), "invalid_timestamp"),
    (
        "originalTimestamp fallback",
        track(timestamp=A, originalTimestamp="2019-02-25T07:55:05.905-08:00"),
        kept(),
    ),
    ("receivedAt fallback", track(timestamp=None, receivedAt=BASE_TS), kept()),
    (
        "a present bad timestamp is not skipped over",
        track(timestamp="yesterday", originalTimestamp=BASE_TS),
        "invalid_timestamp",
    ),
    ("no timestamp at all", track(timestamp=A), "missing_timestamp"),
    # Lines
    ("not JSON", "not json", "corrupt_record"),
    ("truncated object", track()[:40], "corrupt_record"),
    ("top-level array", json.dumps([json.loads(track())]), "corrupt_record"),
    ("top-level number", "123", "corrupt_record"),
    ("NaN literal", '{"type":"track","userId":NaN}', "corrupt_record"),
    ("single quotes", "{'type':'track'}", "corrupt_record"),
    ("blank line", "   ", "blank_line"),
    ("text after the object is ignored", track() + " trailing", kept()),
    # Byte-order marks: one opening the line is skipped; anything else is what it is.
    ("a BOM opening the line is skipped", BOM + track(), kept()),
    ("a BOM then spaces", BOM + "  " + track(), kept()),
    ("a BOM alone is a blank line", BOM, "blank_line"),
    ("two BOMs", BOM + BOM + track(), "corrupt_record"),
    ("a BOM after a space", " " + BOM + track(), "corrupt_record"),
    ("a BOM inside an id is part of it", track(user_id=BOM + "u1"), kept(user=BOM + "u1")),
    # Invalid UTF-8 reads as U+FFFD; an id holding one is invalid, wherever it came from.
    ("invalid UTF-8 in the user id", with_bytes(track(user_id="uXX1"), "XX", b"\xff\xfe"), "invalid_user_id"),
    ("invalid UTF-8 in the sku", with_bytes(track(sku="sXX"), "XX", b"\xc3"), "invalid_item_id"),
    (
        "invalid UTF-8 in a product's sku",
        with_bytes(order([{"sku": "a"}, {"sku": "bXX"}]), "XX", b"\xe2\x82"),
        kept(items=("a",), event="Order Completed"),
    ),
    (
        "invalid UTF-8 in the event name",
        with_bytes(track(event="Product ClickedXX"), "XX", b"\x80"),
        "unsupported_event",
    ),
    (
        "invalid UTF-8 in a field the rules do not read",
        with_bytes(track(context={"page": "XX"}), "XX", b"\xed\xa0\x80"),
        kept(),
    ),
    ("invalid UTF-8 outside any string", with_bytes(track(), '"type"', b'\xff"type"'), "corrupt_record"),
    ("a literal U+FFFD in the user id", track(user_id="u\ufffd1"), "invalid_user_id"),
    ("U+FFFD in a field the rules do not read", track(context={"page": "\ufffd"}), kept()),
    # Control characters (Unicode Cc) make an id invalid: a CR or LF would split the CSV record.
    ("LF inside the user id", track(user_id="u\n1"), "invalid_user_id"),
    ("CR at the end of the user id", track(user_id="u1\r"), "invalid_user_id"),
    ("tab inside the user id", track(user_id="u\t1"), "invalid_user_id"),
    ("NUL in the user id", track(user_id="u\u00001"), "invalid_user_id"),
    ("DEL in the user id", track(user_id="u\u007f"), "invalid_user_id"),
    ("C1 control (NEL) in the user id", track(user_id="u\u0085"), "invalid_user_id"),
    ("U+2028 is not a control character", track(user_id="u\u2028"), kept(user="u\u2028")),
    ("only whitespace is still missing", track(user_id="\r\n"), "missing_user_id"),
    ("LF inside the sku", track(sku="s\nku"), "invalid_item_id"),
    (
        "LF inside a product's sku",
        order([{"sku": "a\n"}, {"sku": "b"}]),
        kept(items=("b",), event="Order Completed"),
    ),
    ("LF inside the event name", track(event="Product\nClicked"), "unsupported_event"),
    # Jackson's limits (the same in Spark 3.5.6 and 4.1.1), wherever the number or nesting sits.
    ("a 1000-digit integer", with_number("9" * 1000), kept()),
    ("a 1000-digit negative integer", with_number("-" + "9" * 1000), kept()),
    ("a 1001-digit integer", with_number("9" * 1001), "corrupt_record"),
    ("a 4300-digit integer", with_number("9" * 4300), "corrupt_record"),
    ("a float of 1000 digits", with_number("1." + "5" * 999), kept()),
    ("a float of 1001 digits", with_number("1." + "5" * 1000), "corrupt_record"),
    ("a float of 1000 digits with an exponent", with_number("1.5e+" + "0" * 997 + "1"), kept()),
    ("exponent digits count too", with_number("1.5e+" + "0" * 998 + "1"), "corrupt_record"),
    ("a 1001-digit user id", track(user_id=int("9" * 1001)), "corrupt_record"),
    ("nesting 1000 deep", nested(1000), kept()),
    ("nesting 1001 deep", nested(1001), "corrupt_record"),
    ("brackets inside strings do not nest", track(context={"page": "[" * 1500}), kept()),
]


# The same rules under other settings: (name, MappingConfig.from_settings arguments, line, expected).
RENAMED = "Product Clicked=View, Product Added=AddToCart, Order Completed=Purchase, Product Viewed=View"
CONFIG_CASES: list[tuple[str, dict[str, str], str | bytes, Any]] = [
    ("renamed event", {"supported_events": RENAMED}, track(), kept(event="View")),
    (
        "two events, one type",
        {"supported_events": RENAMED},
        track(event="Product Viewed"),
        kept(event="View"),
    ),
    (
        "renamed order expands",
        {"supported_events": RENAMED},
        order([{"sku": "a"}, {"sku": "b"}]),
        kept(items=("a", "b"), event="Purchase"),
    ),
    ("a plain name keeps its name", {"supported_events": "Product Clicked"}, track(), kept()),
    (
        "the Segment name, not the type, is matched",
        {"supported_events": RENAMED},
        track(event="View"),
        "unsupported_event",
    ),
    (
        "ecommerce: Product Viewed",
        {"supported_events": "ecommerce"},
        track(event="Product Viewed"),
        kept(event="View"),
    ),
    (
        "ecommerce: Cart Viewed expands products[]",
        {"supported_events": "ecommerce"},
        track(event="Cart Viewed", properties={"products": [{"sku": "a"}, {"sku": "b"}]}),
        kept(items=("a", "b"), event="Checkout"),
    ),
    (
        "ecommerce: Product List Viewed expands products[]",
        {"supported_events": "ecommerce"},
        track(event="Product List Viewed", properties={"list_id": "l", "products": [{"sku": "a"}]}),
        kept(items=("a",), event="ListView"),
    ),
    (
        "ecommerce: Order Refunded",
        {"supported_events": "ecommerce"},
        track(event="Order Refunded", properties={"products": [{"sku": "a"}]}),
        kept(items=("a",), event="Return"),
    ),
    (
        "ecommerce: Products Searched names no product",
        {"supported_events": "ecommerce"},
        track(event="Products Searched"),
        "unsupported_event",
    ),
    (
        "ecommerce plus a custom event",
        {"supported_events": "ecommerce, Product Zoomed=View"},
        track(event="Product Zoomed"),
        kept(event="View"),
    ),
    # ITEM_ID_FIELD as a fallback list: the first usable field wins, per product too.
    (
        "fallback: product_id first",
        {"item_id_field": "product_id,sku"},
        track(properties={"product_id": "p1", "sku": "s1"}),
        kept(items=("p1",)),
    ),
    (
        "fallback: sku when product_id is absent",
        {"item_id_field": "product_id,sku"},
        track(sku="s1"),
        kept(items=("s1",)),
    ),
    (
        "fallback: an invalid product_id falls through to sku",
        {"item_id_field": "product_id,sku"},
        track(properties={"product_id": 1.5, "sku": "s1"}),
        kept(items=("s1",)),
    ),
    (
        "fallback: none usable, one invalid",
        {"item_id_field": "product_id,sku"},
        track(properties={"product_id": 1.5, "sku": ""}),
        "invalid_item_id",
    ),
    ("fallback: none present", {"item_id_field": "product_id,sku"}, track(sku=A), "missing_item_id"),
    (
        "fallback per product",
        {"item_id_field": "product_id,sku"},
        order([{"product_id": "p1", "sku": "s1"}, {"sku": "s2"}, {"product_id": "{x}"}, {"sku": "p1"}]),
        kept(items=("p1", "s2"), event="Order Completed"),
    ),
    (
        "fallback per product, none usable, one invalid",
        {"item_id_field": "product_id,sku"},
        order([{"product_id": True}, {"name": "x"}]),
        "invalid_item_id",
    ),
    (
        "fallback from double-encoded properties",
        {"item_id_field": "product_id,sku"},
        track(properties=json.dumps({"products": [json.dumps({"sku": "s9"}), {"product_id": "p9"}]})),
        kept(items=("s9", "p9")),
    ),
]

# EVENT_VALUE (values.py): properties.price, or each product's own price from its first appearance.
PRICE = {"event_value_field": "price"}
VALUE_CASES: list[tuple[str, Any, Any]] = [
    ("value: integer", 42, "42"),
    ("value: decimal", 19.99, "19.99"),
    ("value: decimal string", "19.99", "19.99"),
    ("value: float with zero fraction", 10.0, "10"),
    ("value: negative", -1.5, "-1.5"),
    ("value: zero", 0, "0"),
    ("value: negative zero", -0.0, "0"),
    ("value: negative zero string", "-0.00", "0"),
    ("value: leading zeros in a string", "007.50", "7.5"),
    ("value: large float is written without an exponent", 1e7, "10000000"),
    ("value: small float is written without an exponent", 1e-5, "0.00001"),
    ("value: exponent string", "1e7", "10000000"),
    ("value: Java's exponent text", "1.0E-5", "0.00001"),
    ("value: exponent with plus", "2.5E+3", "2500"),
    (
        "value: largest in range",
        "999999999999999.999999999999999999",
        "999999999999999.999999999999999999",
    ),
    ("value: 10^15 is out of range", 10**15, None),
    ("value: 1e15 is out of range", 1e15, None),
    ("value: below 10^15", -999999999999999, "-999999999999999"),
    ("value: rounds past the range", "999999999999999.9999999999999999995", None),
    ("value: huge float", 1e300, None),
    ("value: rounded half-up at 18 places", "0.0000000000000000005", "0.000000000000000001"),
    ("value: below 18 places is zero", 1e-19, "0"),
    ("value: negative rounds away from zero", "-0.0000000000000000005", "-0.000000000000000001"),
    ("value: exponent of five digits", "1e10000", None),
    ("value: tiny exponent of four digits", "1e-9999", "0"),
    ("value: boolean", True, None),
    ("value: object", {"amount": 5}, None),
    ("value: array", [5], None),
    ("value: null", None, None),
    ("value: empty string", "", None),
    ("value: padded string", " 12", None),
    ("value: currency text", "12 USD", None),
    ("value: plus sign", "+5", None),
    ("value: bare point", "5.", None),
    ("value: Infinity text", "Infinity", None),
    ("value: hex", "0x10", None),
    ("value: huge integer", 123456789012345678901234567890, None),
]
CONFIG_CASES += [(name, PRICE, priced(price), valued((want,))) for name, price, want in VALUE_CASES] + [
    ("value: absent field", PRICE, track(), valued((None,))),
    (
        "value: per product, from the first appearance",
        PRICE,
        order(
            [
                {"sku": "a", "price": 10},
                {"sku": "b", "price": "x"},
                {"sku": "a", "price": 99},
                {"price": 5},
                {"sku": "c", "price": 1e7},
            ]
        ),
        valued(("10", None, "10000000"), items=("a", "b", "c"), event="Order Completed"),
    ),
    (
        "value: a product's price, not the order's",
        PRICE,
        track(event="Order Completed", properties={"price": 1, "products": [{"sku": "a"}]}),
        valued((None,), items=("a",), event="Order Completed"),
    ),
    (
        "value: per product with a fallback list",
        {"event_value_field": "price", "item_id_field": "product_id,sku"},
        order([{"product_id": "p", "price": "2"}, {"sku": "p", "price": "3"}, {"sku": "s", "price": 4.25}]),
        valued(("2", "4.25"), items=("p", "s"), event="Order Completed"),
    ),
    (
        "value: double-encoded properties",
        PRICE,
        track(properties=json.dumps({"sku": "s", "price": 3.5})),
        valued(("3.5",), items=("s",)),
    ),
    (
        "value: double-encoded product",
        PRICE,
        track(properties={"products": [json.dumps({"sku": "s", "price": "1e2"}), {"sku": "t", "price": 2}]}),
        valued(("100", "2"), items=("s", "t")),
    ),
    (
        "value: the field may be an item field",
        {"event_value_field": "sku"},
        track(sku="12"),
        valued(("12",), items=("12",)),
    ),
    ("value: an unusable value keeps the event", PRICE, priced("free"), valued((None,))),
]


# Identity (docs/mapping-contract.md, *Identity*): runs of lines, since a stitch target comes from the
# whole run. Each case: (name, ANONYMOUS_EVENTS, [(line, expected outcome once settled), ...]).
def call(kind: str, **fields: Any) -> str:
    return json.dumps({"type": kind, **fields})


def anon(anonymous_id: Any = "a1", **extra: Any) -> str:
    return track(user_id=A, anonymousId=anonymous_id, **extra)


LOGIN = call("identify", anonymousId="a1", userId="u1", traits={})
IDENTITY_CASES: list[tuple[str, str, list[tuple[str, Any]]]] = [
    ("stitch: identify links the device", "stitch", [(anon(), kept(user="u1")), (LOGIN, "not_track")]),
    ("drop: anonymous is missing_user_id", "drop", [(anon(), "missing_user_id"), (LOGIN, "not_track")]),
    ("keep: stitched when linked", "keep", [(anon(), kept(user="u1")), (LOGIN, "not_track")]),
    ("stitch: never identified", "stitch", [(anon("a9"), "anonymous_user"), (LOGIN, "not_track")]),
    ("keep: never identified keeps its anonymousId", "keep", [(anon("a9"), kept(user="a9"))]),
    ("drop: never identified", "drop", [(anon("a9"), "missing_user_id")]),
    (
        "a track event carrying both ids links, kept itself",
        "stitch",
        [
            (anon(), kept(user="u1")),
            (
                track(user_id="u1", anonymousId="a1", event="Product Added"),
                kept(user="u1", event="Product Added"),
            ),
        ],
    ),
    (
        "a dropped call still links (unsupported Page call after login)",
        "stitch",
        [(anon(), kept(user="u1")), (call("page", anonymousId="a1", userId="u1"), "not_track")],
    ),
    (
        "a track event dropped for its item still links",
        "stitch",
        [(anon(), kept(user="u1")), (track(user_id="u1", anonymousId="a1", sku=A), "missing_item_id")],
    ),
    (
        "alias links previousId",
        "stitch",
        [(anon("a7"), kept(user="u7")), (call("alias", previousId="a7", userId="u7"), "not_track")],
    ),
    (
        "alias links its anonymousId too",
        "stitch",
        [
            (anon("a7"), kept(user="u7")),
            (anon("a8"), kept(user="u7")),
            (call("alias", previousId="a7", anonymousId="a8", userId="u7"), "not_track"),
        ],
    ),
    (
        "shared device: two users, ambiguous, no target",
        "stitch",
        [
            (anon(), "anonymous_user"),
            (LOGIN, "not_track"),
            (call("identify", anonymousId="a1", userId="u2"), "not_track"),
        ],
    ),
    (
        "shared device under keep: the anonymousId",
        "keep",
        [
            (anon(), kept(user="a1")),
            (LOGIN, "not_track"),
            (call("identify", anonymousId="a1", userId="u2"), "not_track"),
        ],
    ),
    (
        "the same user linked twice is one target",
        "stitch",
        [(anon(), kept(user="u1")), (LOGIN, "not_track"), (LOGIN, "not_track")],
    ),
    (
        "an invalid userId stays invalid, no fallback",
        "stitch",
        [(track(user_id=1.5, anonymousId="a1"), "invalid_user_id"), (LOGIN, "not_track")],
    ),
    (
        "an invalid userId links nothing",
        "stitch",
        [(anon(), "anonymous_user"), (call("identify", anonymousId="a1", userId=2.5), "not_track")],
    ),
    (
        "an invalid anonymousId is missing_user_id",
        "stitch",
        [(track(user_id=A, anonymousId={"id": "a1"}), "missing_user_id")],
    ),
    (
        "a blank userId with an anonymousId is anonymous",
        "stitch",
        [(track(user_id="", anonymousId="a1"), kept(user="u1")), (LOGIN, "not_track")],
    ),
    (
        "the user check comes before the item check",
        "stitch",
        [(anon("a9", sku=A), "anonymous_user")],
    ),
    (
        "with a target, the item check follows",
        "stitch",
        [(anon(sku=A), "missing_item_id"), (LOGIN, "not_track")],
    ),
    ("keep: the item check follows", "keep", [(anon("a9", timestamp="nope"), "invalid_timestamp")]),
    (
        "corrupt lines link nothing",
        "stitch",
        [(anon(), "anonymous_user"), (LOGIN[:-1] + ', "n": NaN}', "corrupt_record")],
    ),
    (
        "a dropped anonymous copy makes no duplicate",
        "stitch",
        [
            (anon("a9", messageId="m1"), "anonymous_user"),
            (track(messageId="m1"), kept()),
        ],
    ),
    (
        "a stitched order expands per product",
        "stitch",
        [
            (
                order([{"sku": "a"}, {"sku": "b"}], userId=A, anonymousId="a1"),
                kept(user="u1", items=("a", "b"), event="Order Completed"),
            ),
            (LOGIN, "not_track"),
        ],
    ),
]


# Users and items (docs/mapping-contract.md, *Users and items*): runs of lines. Each case: (name,
# ANONYMOUS_EVENTS, lines, Users rows, Items rows) with the columns below; rows sorted by id, an empty
# cell is None.
METADATA_USER_TRAITS = "plan,ltv=lifetime_value:float"
METADATA_ITEM_PROPERTIES = "category,price:float"
T1, T2 = "2019-02-25T15:55:05.905Z", "2019-02-25T16:00:00Z"


def identify(traits: Any, user_id: Any = "u1", timestamp: Any = T1, **extra: Any) -> str:
    fields = {"userId": user_id, "timestamp": timestamp, "traits": traits, **extra}
    return call("identify", **{k: v for k, v in fields.items() if v is not _ABSENT})


def product(sku: str, timestamp: str = T1, event: str = "Product Clicked", **props: Any) -> str:
    return track(event=event, timestamp=timestamp, properties={"sku": sku, **props})


METADATA_CASES: list[tuple[str, str, list[str], list[tuple[Any, ...]], list[tuple[Any, ...]]]] = [
    (
        "users: the latest identify's value wins, per trait",
        "stitch",
        [
            identify({"plan": "pro", "lifetime_value": 10}, timestamp=T2),
            identify({"plan": "free", "lifetime_value": 20.5}),
        ],
        [("u1", "pro", "10")],
        [],
    ),
    (
        "users: a value that does not fit is counted and never overwrites",
        "stitch",
        [identify({"plan": "pro"}), identify({"plan": 2.5, "lifetime_value": "n/a"}, timestamp=T2)],
        [("u1", "pro", None)],
        [],
    ),
    (
        "users: equal timestamps: the greatest text",
        "stitch",
        [identify({"plan": "basic"}), identify({"plan": "pro"})],
        [("u1", "pro", None)],
        [],
    ),
    (
        "users: traits sent as JSON text; arrays joined with |",
        "stitch",
        [identify(json.dumps({"plan": ["a", "b"]}))],
        [("u1", "a|b", None)],
        [],
    ),
    (
        "users: only identify calls' top-level traits",
        "stitch",
        [
            identify({}, context={"traits": {"plan": "pro"}}),
            track(user_id="u2", traits={"plan": "pro"}),
        ],
        [],
        [],
    ),
    (
        "users: no record without a valid userId and timestamp",
        "stitch",
        [identify({"plan": "pro"}, user_id=2.5), identify({"plan": "pro"}, user_id="u2", timestamp="soon")],
        [],
        [],
    ),
    (
        "users: an anonymous identify is its stitch target's",
        "stitch",
        [
            identify({"plan": "pro"}, user_id=_ABSENT, anonymousId="a1"),
            call("alias", userId="u1", previousId="a1"),
        ],
        [("u1", "pro", None)],
        [],
    ),
    (
        "users: under keep, an unlinked anonymous identify is its anonymousId's",
        "keep",
        [identify({"plan": "pro"}, user_id=_ABSENT, anonymousId="a9")],
        [("a9", "pro", None)],
        [],
    ),
    (
        "users: under stitch, an unlinked anonymous identify has no user",
        "stitch",
        [identify({"plan": "pro"}, user_id=_ABSENT, anonymousId="a9")],
        [],
        [],
    ),
    (
        "users: under drop, an anonymous identify has no user",
        "drop",
        [
            identify({"plan": "pro"}, user_id=_ABSENT, anonymousId="a1"),
            call("alias", userId="u1", previousId="a1"),
        ],
        [],
        [],
    ),
    (
        "items: a kept event's properties, latest first",
        "stitch",
        [
            product("s1", category="shoes", price=10),
            product("s1", timestamp=T2, category="boots", price="x"),
        ],
        [],
        [("s1", "boots", "10")],
    ),
    (
        "items: an order's items from their first products[] entry, not the order's properties",
        "stitch",
        [
            track(
                event="Order Completed",
                properties={
                    "category": "order-level",
                    "products": [
                        {"sku": "a", "category": "x"},
                        {"sku": "a", "category": "y"},
                        {"sku": "b", "price": "5"},
                    ],
                },
            )
        ],
        [],
        [("a", "x", None), ("b", None, "5")],
    ),
    (
        "items: a dropped event's properties are not read",
        "stitch",
        [
            product("s1", event="Product Viewed", category="shoes"),
            product("s2", category="hats", timestamp="soon"),
        ],
        [],
        [],
    ),
    (
        "items: an anonymous event counts once kept",
        "stitch",
        [
            track(user_id=_ABSENT, anonymousId="a1", properties={"sku": "s1", "category": "shoes"}),
            track(user_id=_ABSENT, anonymousId="a9", properties={"sku": "s2", "category": "hats"}),
            call("identify", userId="u1", anonymousId="a1"),
        ],
        [],
        [("s1", "shoes", None)],
    ),
    (
        "items: every copy of a messageId counts, whichever is written",
        "stitch",
        [product("s1", category="shoes", messageId="m1"), product("s1", category="boots", messageId="m1")],
        [],
        [("s1", "shoes", None)],
    ),
]
