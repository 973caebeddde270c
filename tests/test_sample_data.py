"""The sample generator: deterministic, valid, and holding every scenario its docstring names."""

from __future__ import annotations

import gzip
import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
from segment_personalize.event_types import ECOMMERCE_EVENT_TYPES
from segment_personalize.report import MIN_INTERACTIONS, MIN_USERS_WITH_TWO
from segment_personalize.rules import MappedEvent, MappingConfig, dedupe, map_line
from segment_personalize.sample_data import DUMMY_OBJECT, generate_lines, main, write_segment_logs

SMALL = 3000  # calls, with the default seed: the exact counts below are this sample's

# Every event of the ecommerce preset (the spec's item events), and the spec's Products Searched.
ECOMMERCE_EVENTS = {name for name, _ in ECOMMERCE_EVENT_TYPES} | {"Products Searched"}


def parse(lines: list[str]) -> tuple[list[dict[str, Any]], int]:
    calls, corrupt = [], 0
    for line in lines:
        try:
            calls.append(json.loads(line))
        except ValueError:
            corrupt += 1
    return calls, corrupt


def identity(calls: list[dict[str, Any]]) -> dict[str, int]:
    """How visitors identify, read from the calls alone (what a stitching job can see)."""
    links: dict[str, set[str]] = defaultdict(set)  # anonymousId -> userIds
    linked_by: dict[str, set[str]] = defaultdict(set)  # anonymousId -> call types that linked it
    anonymous_only: set[str] = set()
    for call in calls:
        anonymous_id, user_id = call.get("anonymousId"), call.get("userId")
        if call["type"] == "alias":
            anonymous_id = call["previousId"]
        if anonymous_id and user_id not in (None, ""):
            links[anonymous_id].add(str(user_id))
            linked_by[anonymous_id].add(call["type"])
        elif anonymous_id:
            anonymous_only.add(anonymous_id)
    devices_per_user = Counter(user for users in links.values() for user in users)
    logins = [linked_by[a] for a in anonymous_only & set(links)]  # browsed anonymously, then logged in
    # Track calls without a userId whose device later names exactly one user: what stitching credits.
    stitchable = sum(
        c["type"] == "track" and c.get("userId") is None and len(links.get(c.get("anonymousId"), ())) == 1
        for c in calls
    )
    return {
        "anonymous_ids": len(anonymous_only | set(links)),
        "never_identified": len(anonymous_only - set(links)),
        "logged_in_after_browsing": len(anonymous_only & set(links)),
        "login_by_identify": sum("identify" in types for types in logins),
        "login_by_track": sum("track" in types and not types & {"identify", "alias"} for types in logins),
        "login_by_alias_alone": sum(types == {"alias"} for types in logins),
        "shared_devices": sum(len(users) >= 2 for users in links.values()),
        "users_on_several_devices": sum(n >= 2 for n in devices_per_user.values()),
        "stitchable_anonymous_tracks": stitchable,
    }


def products_of(call: dict[str, Any]) -> list[dict[str, Any]]:
    properties = call.get("properties") or {}
    return properties.get("products") or ([properties] if "price" in properties else [])


def test_the_sample_is_deterministic(tmp_path: Path) -> None:
    assert list(generate_lines(500)) == list(generate_lines(500))
    assert list(generate_lines(500)) != list(generate_lines(500, seed=8))
    first = write_segment_logs(tmp_path / "a", 500)
    second = write_segment_logs(tmp_path / "b", 500)
    assert [p.relative_to(tmp_path / "a") for p in first] == [p.relative_to(tmp_path / "b") for p in second]
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]


def test_the_files_hold_the_lines_in_segments_layout(tmp_path: Path) -> None:
    out = tmp_path / "segment-logs"
    files = write_segment_logs(out, 500)
    assert (out / DUMMY_OBJECT).read_text() == ""
    assert all(p.relative_to(out).parts[0] == "Hk2nTtR9kN" and p.name.endswith(".gz") for p in files)
    written = [line for p in files for line in gzip.decompress(p.read_bytes()).decode().splitlines()]
    assert Counter(written) == Counter(generate_lines(500))


def test_every_line_is_json_except_the_truncated_ones() -> None:
    lines = list(generate_lines(SMALL))
    calls, corrupt = parse(lines)
    assert (len(lines), corrupt) == (3033, 3)
    assert all(isinstance(c, dict) and c["messageId"] and c["timestamp"] and c["type"] for c in calls)
    # At-least-once delivery: the same call, byte for byte, twice.
    assert sum(n - 1 for n in Counter(c["messageId"] for c in calls).values()) == 33
    assert sum(n - 1 for n in Counter(lines).values()) == 33


def test_calls_and_events() -> None:
    calls, _ = parse(list(generate_lines(SMALL)))
    assert Counter(c["type"] for c in calls) == {
        "track": 2212,
        "page": 429,
        "screen": 168,
        "identify": 194,
        "alias": 27,
    }
    events = Counter(c["event"] for c in calls if c["type"] == "track")
    assert events.keys() >= ECOMMERCE_EVENTS
    assert events.keys() - ECOMMERCE_EVENTS == {
        "Signed In",
        "Signed Out",
        "Promotion Viewed",
        "Coupon Entered",
        "Checkout Step Viewed",
    }
    # Orders after the fact come from the backend: userId only, anonymousId null.
    after = [c for c in calls if c.get("event") in ("Order Updated", "Order Refunded", "Order Cancelled")]
    assert after and all(c["anonymousId"] is None and c["userId"] for c in after)


def test_identity_scenarios() -> None:
    calls, _ = parse(list(generate_lines(SMALL)))
    assert identity(calls) == {
        "anonymous_ids": 381,
        "never_identified": 162,
        "logged_in_after_browsing": 196,
        "login_by_identify": 131,
        "login_by_track": 39,
        "login_by_alias_alone": 23,
        "shared_devices": 21,
        "users_on_several_devices": 68,
        "stitchable_anonymous_tracks": 631,
    }
    aliases = [c for c in calls if c["type"] == "alias"]
    assert all(set(c) >= {"previousId", "userId"} and "anonymousId" not in c for c in aliases)
    # The backend's identify after a signup: Segment's server libraries send anonymousId null.
    assert sum(c["type"] == "identify" and c["anonymousId"] is None for c in calls) == 27


def test_products_and_prices() -> None:
    calls, _ = parse(list(generate_lines(SMALL)))
    products = [p for c in calls if c["type"] == "track" for p in products_of(c)]
    assert Counter(("product_id" in p, "sku" in p, type(p["price"]).__name__) for p in products) == {
        (True, True, "float"): 2310,
        (True, True, "str"): 246,
        (True, False, "float"): 115,
        (True, False, "str"): 2,
        (False, True, "float"): 100,
        (False, False, "float"): 3,
    }
    assert all(p["name"] and p["category"] and p["brand"] for p in products)
    assert all(p["price"] == f"{float(p['price']):.2f}" for p in products if isinstance(p["price"], str))
    orders = [c for c in calls if c.get("event") == "Order Completed"]
    assert all("quantity" in p for c in orders for p in c["properties"]["products"])
    ids = [[(p.get("product_id"), p.get("sku")) for p in c["properties"]["products"]] for c in orders]
    assert sum(len(set(order)) < len(order) for order in ids) == 28  # the same product twice in an order
    reviews = [c["properties"] for c in calls if c.get("event") == "Product Reviewed"]
    assert reviews and all("sku" not in r for r in reviews)


def test_identify_traits() -> None:
    calls, _ = parse(list(generate_lines(SMALL)))
    traits = [c["traits"] for c in calls if c["type"] == "identify"]
    assert all(set(t) >= {"email", "plan", "country", "lifetime_value"} for t in traits)
    assert Counter(type(t["plan"]).__name__ for t in traits) == {"str": 192, "dict": 2}
    assert Counter(type(t["lifetime_value"]).__name__ for t in traits) == {"float": 186, "str": 8}
    assert sum(t["lifetime_value"] == "n/a" for t in traits) == 8
    assert all(isinstance(t["country"], str) for t in traits)
    assert sum(isinstance(t.get("interests"), list) for t in traits) == 120
    assert sum(isinstance(t.get("address"), dict) for t in traits) == 48
    plans: dict[str, list[str]] = defaultdict(list)
    for call in calls:
        if call["type"] == "identify" and isinstance(call["traits"]["plan"], str):
            plans[str(call["userId"])].append(call["traits"]["plan"])
    assert sum(len(set(seen)) > 1 for seen in plans.values()) == 17  # a later identify changes the plan


SETTINGS = {
    "default": MappingConfig(),
    "ecommerce": MappingConfig.from_settings("ecommerce", "product_id,sku", "price"),
}


@pytest.mark.parametrize("setting", sorted(SETTINGS))
def test_the_default_sample_meets_personalizes_minimums_with_identified_events_alone(setting: str) -> None:
    """20000 calls, the Makefile's SAMPLE_EVENTS; today's rules drop every call without a userId."""
    outcomes = [map_line(line, SETTINGS[setting]) for line in generate_lines(20_000)]
    kept, _ = dedupe([o for o in outcomes if isinstance(o, MappedEvent)])
    rows = Counter(event.user_id for event in kept for _ in event.interactions())
    assert sum(rows.values()) >= MIN_INTERACTIONS
    assert sum(n >= 2 for n in rows.values()) >= MIN_USERS_WITH_TWO


def test_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "logs"
    main(["--events", "300", "--out", str(out), "--seed", "3", "--days", "2"])
    files = sorted(p.relative_to(out) for p in out.rglob("*.gz"))
    assert capsys.readouterr().out == f"wrote 300 Segment calls in {len(files)} files under {out}\n"
    again = tmp_path / "again"
    assert files == sorted(p.relative_to(again) for p in write_segment_logs(again, 300, seed=3, days=2))
