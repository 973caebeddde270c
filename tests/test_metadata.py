"""Users and Items metadata rules (metadata.py, users.py, items.py), pure Python, exact cases.

FIT_CASES is also run through Spark in tests/test_metadata_spark.py: both engines must give each cell.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from segment_personalize.items import item_property_sources, item_records, latest_item_properties
from segment_personalize.metadata import (
    MAX_CATEGORICAL_LENGTH,
    MetadataTable,
    fit_value,
    latest_values,
    source_fields,
    validate_sources,
)
from segment_personalize.personalize_schema import Column, parse_columns
from segment_personalize.rules import MappingConfig
from segment_personalize.users import identify_traits, latest_user_traits

LONG = "x" * MAX_CATEGORICAL_LENGTH

# (JSON value, column kind, the cell text or None: does not fit)
FIT_CASES: list[tuple[Any, str, str | None]] = [
    # Categorical scalars: strings verbatim, integers as digits, booleans as Spark writes them.
    ("premium", "string", "premium"),
    (" padded ", "string", " padded "),
    ("ü-ß", "string", "ü-ß"),
    ('a,b "q"', "string", 'a,b "q"'),
    ("a|b", "string", "a|b"),
    (42, "string", "42"),
    (-0, "string", "0"),
    (2941404340, "string", "2941404340"),
    (10**30, "string", str(10**30)),
    (True, "string", "true"),
    (False, "string", "false"),
    ("true", "string", "true"),
    ("12", "string", "12"),
    ("1.", "string", "1."),
    (".5", "string", ".5"),
    ("1.5e3", "string", "1.5e3"),  # lower-case e: never Spark's rendering of a float
    ("NaN", "string", "NaN"),
    ("[x", "string", "[x"),
    ("x]", "string", "x]"),
    ("{", "string", "{"),
    ("u\u2028", "string", "u\u2028"),
    ("\u00a0", "string", "\u00a0"),
    ("\ufeffu", "string", "\ufeffu"),
    (LONG, "string", LONG),
    # Categorical: does not fit.
    ("", "string", None),
    (" \t\r\n", "string", None),
    (1.5, "string", None),
    (1e7, "string", None),
    (3.0, "string", None),
    ("1.5", "string", None),
    ("1.0E7", "string", None),
    ("-2.5E-3", "string", None),
    ("Infinity", "string", None),
    ('"-Infinity"', "string", None),
    ({}, "string", None),
    ({"a": 1}, "string", None),
    ('{"a": 1}', "string", None),
    ("{x}", "string", None),
    ("[x]", "string", None),
    ("u\n", "string", None),
    ("\x00", "string", None),
    ("u\x85", "string", None),
    ("u\ufffd", "string", None),
    (LONG + "x", "string", None),
    # Categorical arrays: joined with '|', order and duplicates kept; a string of an array's JSON too.
    (["a", "b"], "string", "a|b"),
    (["b", "a", "b"], "string", "b|a|b"),
    ([1, True, "x"], "string", "1|true|x"),
    (["a|b", "c"], "string", "a|b|c"),
    (['x"y', "p,q"], "string", 'x"y|p,q'),
    ('["a", "b"]', "string", "a|b"),
    ('[ "a" ] trailing]', "string", "a"),  # the first JSON value, as Spark and rules.parse_line read
    (["ü"] * 500, "string", "|".join(["ü"] * 500)[:999]),
    # Arrays: does not fit.
    ([], "string", None),
    ("[]", "string", None),
    (["a", None], "string", None),
    (["a", ""], "string", None),
    (["a", " "], "string", None),
    (["a", 1.5], "string", None),
    (["a", "1.5"], "string", None),
    (["a", ["b"]], "string", None),
    (["a", "[b]"], "string", None),
    (["a", {"b": 1}], "string", None),
    (["a", "Infinity"], "string", None),
    (["u\n"], "string", None),
    (["x" * 500, "y" * 500], "string", None),  # 1001 characters once joined
    ('["a",]', "string", None),
    # Float: the EVENT_VALUE rule and text.
    (19.9, "float", "19.9"),
    (1e7, "float", "10000000"),
    ("1.0E-5", "float", "0.00001"),
    ("007.50", "float", "7.5"),
    (3, "float", "3"),
    (-0.0, "float", "0"),
    ("12 USD", "float", None),
    (1e15, "float", None),
    (True, "float", None),
    ([1], "float", None),
    ("", "float", None),
    # Int: Avro int, digits only.
    (42, "int", "42"),
    ("007", "int", "7"),
    ("-0", "int", "0"),
    (2**31 - 1, "int", "2147483647"),
    (-(2**31), "int", "-2147483648"),
    ("0000000000002147483647", "int", "2147483647"),
    (2**31, "int", None),
    (-(2**31) - 1, "int", None),
    ("9" * 5000, "int", None),
    (3.0, "int", None),
    ("3.0", "int", None),
    ("1e3", "int", None),
    ("+5", "int", None),
    (" 5", "int", None),
    (True, "int", None),
    (["1"], "int", None),
    ("", "int", None),
]


@pytest.mark.parametrize(("value", "kind", "expected"), FIT_CASES)
def test_fit_value(value: Any, kind: str, expected: str | None) -> None:
    assert fit_value(value, kind) == expected


def test_the_long_array_case_is_at_the_limit() -> None:
    cell = fit_value(["ü"] * 500, "string")
    assert cell is not None and len(cell) == MAX_CATEGORICAL_LENGTH - 1


def test_a_lone_surrogate_is_written_as_spark_writes_it() -> None:
    # json.loads keeps a lone surrogate; Spark's parsed string becomes '?' (tests/test_spark_versions.py).
    assert fit_value(json.loads('"a\\ud800b"'), "string") == "a?b"


def test_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unknown column kind"):
        fit_value("x", "long")


COLUMNS = parse_columns("plan,country,ltv=lifetime_value:float,age:int")


def test_latest_fitting_value_per_id_and_column() -> None:
    records = [
        ("u1", 10, {"plan": "free", "country": "DE", "lifetime_value": "12.5"}),
        ("u1", 20, {"plan": "pro", "country": 1.5, "age": "x"}),  # 1.5 and "x" do not fit: kept "DE"
        ("u1", 5, {"plan": "gold", "age": 40}),  # older: only age, which nothing newer filled
        ("u2", 1, {"plan": None, "country": "", "other": "x"}),  # null is no value; "" does not fit
        ("u3", 7, {"country": ["FR", "BE"]}),
    ]
    table = latest_user_traits(records, COLUMNS)
    assert table.rows == {
        "u1": {"plan": "pro", "country": "DE", "ltv": "12.5", "age": "40"},
        "u3": {"country": "FR|BE"},
    }
    assert table.metrics() == {
        "records": 5,
        "values_not_fitting": 3,
        "not_fitting_plan": 0,
        "not_fitting_country": 2,
        "not_fitting_ltv": 0,
        "not_fitting_age": 1,
    }
    assert table.filled == {"plan": 1, "country": 2, "ltv": 1, "age": 1}
    assert table.csv_rows() == [("u1", "pro", "DE", "12.5", "40"), ("u3", "", "FR|BE", "", "")]


def test_equal_timestamps_the_greatest_text_wins_whatever_the_order() -> None:
    records = [
        ("u", 10, {"plan": "b"}),
        ("u", 10, {"plan": "ä"}),  # U+00E4 > 'b'
        ("u", 10, {"plan": "a"}),
        ("u", 10, {"age": 9}),
        ("u", 10, {"age": 10}),  # "9" > "10" in code-point order
    ]
    columns = parse_columns("plan,age:int")
    tables = [latest_values(order, columns) for order in (records, records[::-1], sorted(records, key=str))]
    assert [t.rows for t in tables] == [{"u": {"plan": "ä", "age": "9"}}] * 3


def test_no_fitting_value_no_row() -> None:
    table = latest_values([("u", 1, {"plan": 1.5}), ("v", 1, {})], parse_columns("plan"))
    assert table == MetadataTable(columns=parse_columns("plan"), rows={}, records=2, not_fitting={"plan": 1})
    assert table.filled == {"plan": 0}


def test_two_columns_may_read_one_source() -> None:
    table = latest_values([("i", 1, {"category": "shoes"})], parse_columns("CATEGORY_L1=category,category"))
    assert table.rows == {"i": {"CATEGORY_L1": "shoes", "category": "shoes"}}


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({"type": "identify", "userId": "u", "traits": {"plan": "pro"}}, {"plan": "pro"}),
        ({"type": "identify", "traits": '{"plan": "pro"}'}, {"plan": "pro"}),  # double-encoded
        ({"type": "identify", "traits": "plan"}, None),
        ({"type": "identify", "traits": ["x"]}, None),
        ({"type": "identify"}, None),
        ({"type": "track", "traits": {"plan": "pro"}}, None),
        ({"type": "identify", "context": {"traits": {"plan": "pro"}}}, None),  # context.traits: not read
        ("identify", None),
    ],
)
def test_identify_traits(event: Any, expected: dict[str, Any] | None) -> None:
    assert identify_traits(event) == expected


ITEM_CONFIG = MappingConfig.from_settings(event_value_field="price")


def _track(properties: Any, event: str = "Product Added") -> dict[str, Any]:
    return {
        "type": "track",
        "event": event,
        "userId": "u",
        "timestamp": "2024-01-01T00:00:10Z",
        "properties": properties,
    }


def test_item_sources_single_product_is_properties() -> None:
    properties = {"sku": "a", "category": "shoes"}
    assert item_property_sources(_track(properties), ITEM_CONFIG) == (("a", properties),)
    assert item_property_sources(_track(json.dumps(properties)), ITEM_CONFIG) == (("a", properties),)


def test_item_sources_order_first_appearance_of_each_product() -> None:
    products = [
        {"sku": "a", "category": "first"},
        {"category": "no id"},
        {"sku": "b", "category": "bee"},
        {"sku": "a", "category": "second"},
        json.dumps({"sku": "c", "category": "text"}),
    ]
    event = _track({"category": "order level", "products": products}, "Order Completed")
    assert item_property_sources(event, ITEM_CONFIG) == (
        ("a", products[0]),
        ("b", products[2]),
        ("c", {"sku": "c", "category": "text"}),
    )
    assert [r[:2] for r in item_records(event, ITEM_CONFIG)] == [
        ("a", 1704067210),
        ("b", 1704067210),
        ("c", 1704067210),
    ]


def test_item_sources_of_a_dropped_event_are_none() -> None:
    assert item_property_sources(_track({"category": "x"}), ITEM_CONFIG) == ()
    assert item_property_sources({"type": "identify"}, ITEM_CONFIG) == ()
    assert item_records(_track({"sku": "a"}, "Signed Up"), ITEM_CONFIG) == []


def test_latest_item_properties() -> None:
    events = [
        _track({"sku": "a", "price": 10, "category": "old"}) | {"timestamp": "2024-01-01T00:00:01Z"},
        _track({"sku": "a", "price": "9.90", "category": ["x", "y"]}),
        _track({"products": [{"sku": "a", "price": "n/a"}, {"sku": "b", "category": 2}]}, "Order Completed"),
    ]
    records = [record for event in events for record in item_records(event, ITEM_CONFIG)]
    table = latest_item_properties(records, parse_columns("category,PRICE=price:float"))
    assert table.rows == {"a": {"category": "x|y", "PRICE": "9.9"}, "b": {"category": "2"}}
    assert table.metrics()["not_fitting_PRICE"] == 1


def test_validate_sources() -> None:
    columns = parse_columns("category,PRICE=price:float,sku")
    assert validate_sources(columns, "item_properties", read_fields=("sku", "price"), forbidden=("products",))
    assert source_fields(columns, ("sku", "price")) == ("category",)
    assert source_fields(parse_columns("a,B=a,c")) == ("a", "c")
    bad = {
        "first name": "must be one field name",
        "a.b": "must be one field name",
        "1st": "must be one field name",
        "products": "reads as a list",
        "SKU": "differ only in case",
    }
    for source, message in bad.items():
        column = (Column(name="X", source=source),)
        with pytest.raises(ValueError, match=message):
            validate_sources(column, "item_properties", read_fields=("sku",), forbidden=("products",))
    with pytest.raises(ValueError, match="differ only in case"):
        validate_sources(parse_columns("plan,P=Plan"), "user_traits")
