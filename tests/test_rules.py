"""The pure-Python rules (the Lambda's engine) against the contract table."""

from __future__ import annotations

import pytest
from segment_personalize.rules import (
    AnonymousEvents,
    Dropped,
    DropReason,
    Identity,
    MappedEvent,
    MappingConfig,
    ProductSkip,
    decode_utf8,
    dedupe,
    map_line,
    map_lines,
    parse_event_list,
)

from tests.contract_cases import CASES, CONFIG_CASES, IDENTITY_CASES, LOGIN, anon, order, track


def outcome(line: str | bytes, config: MappingConfig | None = None):
    text = decode_utf8(line) if isinstance(line, bytes) else line
    result = map_line(text, config or MappingConfig())
    if isinstance(result, Dropped):
        return result.reason.value
    got = (result.user_id, result.item_ids, result.event_type, result.timestamp)
    return got if result.event_values is None else (*got, result.event_values)


@pytest.mark.parametrize(("name", "line", "expected"), CASES, ids=[c[0] for c in CASES])
def test_contract(name: str, line: str, expected) -> None:
    assert outcome(line) == expected


@pytest.mark.parametrize(
    ("name", "settings", "line", "expected"), CONFIG_CASES, ids=[c[0] for c in CONFIG_CASES]
)
def test_contract_under_other_settings(name: str, settings: dict[str, str], line: str, expected) -> None:
    assert outcome(line, MappingConfig.from_settings(**settings)) == expected


def test_product_skips_are_counted() -> None:
    result = map_line(
        order([{"sku": "a"}, {"name": "x"}, {"sku": 1.5}, {"sku": "a"}, "junk"]), MappingConfig()
    )
    assert isinstance(result, MappedEvent)
    assert result.product_skips == {
        ProductSkip.MISSING_ITEM_ID: 2,
        ProductSkip.INVALID_ITEM_ID: 1,
        ProductSkip.DUPLICATE_ITEM_ID: 1,
    }


def test_item_field_product_id() -> None:
    config = MappingConfig(item_id_field="product_id")
    line = track(properties={"sku": "s", "product_id": "p-1"})
    assert outcome(line, config) == ("2941404340", ("p-1",), "Product Clicked", 1551110105)
    assert outcome(track(), config) == "missing_item_id"


def test_supported_events_are_configurable() -> None:
    config = MappingConfig(supported_events=("Product Viewed",))
    assert outcome(track(event="Product Viewed"), config)[2] == "Product Viewed"
    assert outcome(track(), config) == "unsupported_event"


def test_message_and_anonymous_ids_follow_the_id_rule() -> None:
    result = map_line(track(messageId=12, anonymousId=1.5), MappingConfig())
    assert isinstance(result, MappedEvent)
    assert (result.message_id, result.anonymous_id) == ("12", None)


def test_dedupe_keeps_one_per_message_id_and_all_without() -> None:
    config = MappingConfig()
    events = [
        map_line(track(messageId="m1", timestamp="2019-02-25T15:55:06Z"), config),
        map_line(track(messageId="m2"), config),
        map_line(track(messageId="m1", timestamp="2019-02-25T15:55:05Z"), config),
        map_line(track(), config),
        map_line(track(), config),
    ]
    kept, dropped = dedupe([e for e in events if isinstance(e, MappedEvent)])
    assert dropped == 1
    # The smallest copy of m1 wins wherever it stands; the rest keep input order.
    assert [(e.message_id, e.timestamp) for e in kept] == [
        ("m2", 1551110105),
        ("m1", 1551110105),
        (None, 1551110105),
        (None, 1551110105),
    ]


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="item_id_field"):
        MappingConfig(item_id_field="id")
    with pytest.raises(ValueError, match="at least one"):
        MappingConfig(supported_events=())
    assert parse_event_list(" Product Added,,Order Completed , Product Added") == (
        "Product Added",
        "Order Completed",
    )


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"supported_events": "Product Viewed="}, "empty event type"),
        ({"supported_events": "Product Viewed=Vi\new"}, "control characters"),
        ({"supported_events": "Product Viewed=" + "V" * 257}, "longer than Personalize's 256"),
        ({"supported_events": ",".join(f"E{i}" for i in range(11))}, "11 event types"),
        ({"supported_events": "ecommerce, Extra"}, "11 event types"),
        ({"item_id_field": "product_id,product_id"}, "without repeats"),
        ({"item_id_field": "product_id,id"}, "item_id_field must be one of"),
        ({"item_id_field": "product_id,"}, "item_id_field must be one of"),
    ],
)
def test_settings_personalize_would_refuse(settings: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MappingConfig.from_settings(**settings)


def test_settings_parse() -> None:
    config = MappingConfig.from_settings(
        "Product Viewed = View, Product Clicked=View, Order Completed", "product_id, sku"
    )
    assert config.supported_events == ("Product Viewed", "Product Clicked", "Order Completed")
    assert config.event_types == ("View", "Order Completed")
    assert config.item_id_fields == ("product_id", "sku")
    assert MappingConfig.from_settings() == MappingConfig()
    # Eleven names under ten types: the limit counts types, not names.
    many = MappingConfig.from_settings(",".join(f"E{i}=T{i % 10}" for i in range(11)))
    assert len(many.event_types) == 10


def test_ecommerce_preset_is_within_personalize_limits() -> None:
    config = MappingConfig.from_settings("ecommerce")
    assert len(config.supported_events) == 18
    assert {"View", "Purchase"} <= set(config.event_types)
    assert len(config.event_types) <= 10


def test_drop_reasons_are_the_documented_ones() -> None:
    assert [r.value for r in DropReason] == [
        "blank_line",
        "corrupt_record",
        "not_track",
        "unsupported_event",
        "missing_user_id",
        "invalid_user_id",
        "anonymous_user",
        "missing_item_id",
        "invalid_item_id",
        "missing_timestamp",
        "invalid_timestamp",
        "duplicate_message_id",
    ]


@pytest.mark.parametrize(
    "name", ["", "  ", "a.b", "price,cost", "pri\nce", "a`b", "unit price", "a:b", "1st"]
)
def test_event_value_field_must_name_one_field(name: str) -> None:
    with pytest.raises(ValueError, match="event_value_field"):
        MappingConfig.from_settings(event_value_field=name)


def test_event_value_field_is_off_by_default() -> None:
    result = map_line(track(properties={"sku": "s", "price": 5}), MappingConfig())
    assert isinstance(result, MappedEvent)
    assert result.event_values is None
    assert result.interactions() == [("2941404340", "s", "Product Clicked", 1551110105)]
    assert MappingConfig().csv_header == ("USER_ID", "ITEM_ID", "EVENT_TYPE", "TIMESTAMP")


def test_event_value_rows_and_header() -> None:
    config = MappingConfig.from_settings(event_value_field=" price ")
    assert config.event_value_field == "price"
    assert config.csv_header[-1] == "EVENT_VALUE"
    result = map_line(order([{"sku": "a", "price": 2.5}, {"sku": "b"}]), config)
    assert isinstance(result, MappedEvent)
    assert [row[1:] for row in result.interactions()] == [
        ("a", "Order Completed", 1551110105, "2.5"),
        ("b", "Order Completed", 1551110105, None),
    ]


@pytest.mark.parametrize(("name", "mode", "run"), IDENTITY_CASES, ids=[c[0] for c in IDENTITY_CASES])
def test_identity_contract(name: str, mode: str, run: list) -> None:
    outcomes, _ = map_lines([line for line, _ in run], MappingConfig(anonymous_events=mode))
    got = [
        o.reason.value if isinstance(o, Dropped) else (o.user_id, o.item_ids, o.event_type, o.timestamp)
        for o in outcomes
    ]
    assert got == [expected for _, expected in run]


def test_identity_sources_and_targets() -> None:
    lines = [c for c, _ in IDENTITY_CASES[11][2]]  # the shared device
    _, targets = map_lines(lines, MappingConfig())
    assert targets.ambiguous == {"a1"} and targets.targets == {}
    keep, _ = map_lines([anon("a9"), anon(), LOGIN], MappingConfig(anonymous_events="keep"))
    assert [o.identity for o in keep if isinstance(o, MappedEvent)] == [Identity.ANONYMOUS, Identity.STITCHED]


def test_anonymous_events_setting() -> None:
    assert MappingConfig.from_settings(anonymous_events=" KEEP ").anonymous_events is AnonymousEvents.KEEP
    assert MappingConfig.from_settings().anonymous_events is AnonymousEvents.STITCH
    with pytest.raises(ValueError, match="anonymous_events must be one of drop, stitch, keep"):
        MappingConfig.from_settings(anonymous_events="merge")
