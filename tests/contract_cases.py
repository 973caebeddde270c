"""The mapping contract as a table: (name, line, expected). Both engines are tested against it.

``expected`` is a drop reason, or (USER_ID, item ids, EVENT_TYPE, TIMESTAMP) for a kept event.
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


A = _ABSENT
CASES: list[tuple[str, str, Any]] = [
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
]
