"""The Personalize schemas: Avro records with the required fields, checked against Personalize's rules."""

from __future__ import annotations

import json
import re

import pytest
from segment_personalize.personalize_schema import (
    INTERACTIONS,
    ITEMS,
    USERS,
    Column,
    dataset_schemas,
    interactions_schema,
    items_schema,
    parse_columns,
    schema_file_path,
    schema_files,
    users_schema,
)

AVRO_PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}
REQUIRED = {
    INTERACTIONS: {"USER_ID": "string", "ITEM_ID": "string", "EVENT_TYPE": "string", "TIMESTAMP": "long"},
    USERS: {"USER_ID": "string"},
    ITEMS: {"ITEM_ID": "string"},
}


def personalize_rule_violations(kind: str, text: str, domain: str = "") -> list[str]:
    """An independent reading of Personalize's schema rules (the docs cited in personalize_schema.py)."""
    problems = []
    schema = json.loads(text)
    if len(text) > 20000:
        problems.append("longer than CreateSchema's 20000 characters")
    if schema.get("type") != "record" or not isinstance(schema.get("fields"), list):
        return ["not an Avro record"]
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", schema["name"]):
        problems.append("record name")
    names = [f["name"] for f in schema["fields"]]
    if len({n.upper() for n in names}) != len(names):
        problems.append("duplicate field")
    by_name = {f["name"]: f for f in schema["fields"]}
    for name, avro_type in REQUIRED[kind].items():
        if by_name.get(name, {}).get("type") != avro_type:
            problems.append(f"required {name} must be {avro_type} (not null)")
    for field in schema["fields"]:
        types = field["type"] if isinstance(field["type"], list) else [field["type"]]
        if not set(types) <= AVRO_PRIMITIVES or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", field["name"]):
            problems.append(f"field {field['name']}: not a primitive Avro field")
        if field.get("categorical") and "string" not in types:
            problems.append(f"{field['name']}: categorical on a non-string")
    reserved = {
        "EVENT_VALUE": ["null", "float"],
        "IMPRESSION": ["null", "string"],
        "RECOMMENDATION_ID": ["null", "string"],
        "EVENT_ATTRIBUTION_SOURCE": ["null", "string"],
    }
    metadata = [n for n in names if n not in REQUIRED[kind] and not (kind == INTERACTIONS and n in reserved)]
    if kind == INTERACTIONS:
        for name in set(names) & set(reserved):
            if sorted(by_name[name]["type"]) != sorted(reserved[name]):
                problems.append(f"{name} must be {reserved[name]}")
        if len(metadata) > 5:
            problems.append("more than 5 interaction metadata columns")
    elif not metadata:
        problems.append("no metadata column")
    if kind == USERS and len(metadata) > 25:
        problems.append("more than 25 user metadata fields")
    if kind == ITEMS:
        if len(metadata) > 100:
            problems.append("more than 100 item metadata fields")
        if "CREATION_TIMESTAMP" in names and by_name["CREATION_TIMESTAMP"]["type"] != "long":
            problems.append("CREATION_TIMESTAMP must be long")
        if domain == "ECOMMERCE":
            if by_name.get("PRICE", {}).get("type") != "float":
                problems.append("ECOMMERCE items need PRICE float")
            category = by_name.get("CATEGORY_L1", {})
            if category.get("type") != "string" or not category.get("categorical"):
                problems.append("ECOMMERCE items need CATEGORY_L1 categorical string")
    return problems


def test_the_issue_example_gives_three_valid_schemas() -> None:
    schemas = dataset_schemas(
        user_traits="plan,country,lifetime_value:float",
        item_properties="category,brand,name,price:float",
        event_value=True,
        event_types=("Product Added", "Product Clicked", "Order Completed"),
    )
    texts = schemas.texts()
    assert set(texts) == {INTERACTIONS, USERS, ITEMS}
    for kind, text in texts.items():
        assert personalize_rule_violations(kind, text) == [], kind
    assert json.loads(texts[USERS]) == {
        "type": "record",
        "name": "Users",
        "namespace": "com.amazonaws.personalize.schema",
        "fields": [
            {"name": "USER_ID", "type": "string"},
            {"name": "plan", "type": ["null", "string"], "categorical": True},
            {"name": "country", "type": ["null", "string"], "categorical": True},
            {"name": "lifetime_value", "type": ["null", "float"]},
        ],
        "version": "1.0",
    }
    interactions = json.loads(texts[INTERACTIONS])["fields"]
    # The job's CSV column order, EVENT_VALUE after TIMESTAMP.
    names = [f["name"] for f in interactions]
    assert names == ["USER_ID", "ITEM_ID", "EVENT_TYPE", "TIMESTAMP", "EVENT_VALUE"]
    assert interactions[-1] == {"name": "EVENT_VALUE", "type": ["null", "float"]}


def test_interactions_alone_without_event_value() -> None:
    schemas = dataset_schemas()
    assert set(schemas.schemas) == {INTERACTIONS}
    fields = json.loads(schemas.texts()[INTERACTIONS])["fields"]
    assert [f["name"] for f in fields] == ["USER_ID", "ITEM_ID", "EVENT_TYPE", "TIMESTAMP"]


def test_parse_columns() -> None:
    assert parse_columns("plan, country ,ltv:float,visits:int") == (
        Column("plan", "plan"),
        Column("country", "country"),
        Column("ltv", "ltv", "float"),
        Column("visits", "visits", "int"),
    )
    assert parse_columns("CATEGORY_L1=category,PRICE=price:float") == (
        Column("CATEGORY_L1", "category"),
        Column("PRICE", "price", "float"),
    )
    assert parse_columns("") == () and parse_columns("  ") == ()
    assert parse_columns(["a", "b:int"]) == (Column("a", "a"), Column("b", "b", "int"))


@pytest.mark.parametrize(
    "spec,message",
    [
        ("plan,,country", "user_traits: empty entry"),
        ("plan:bool", "has type 'bool'; use string (default), float or int"),
        ("first name", "'first name' is not a valid Personalize (Avro) field name"),
        ("1st", "'1st' is not a valid Personalize (Avro) field name"),
        ("plan,PLAN", "column 'PLAN' appears twice"),
        ("user_id", "'user_id' is a reserved field of the USERS dataset"),
        (",".join(f"t{i}" for i in range(26)), "26 columns; Personalize allows at most 25 in USERS"),
        ("x=", "'x=' has no valid source name"),
    ],
)
def test_user_traits_Personalize_would_refuse(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        dataset_schemas(user_traits=spec)


def test_limits_at_the_boundary() -> None:
    users = users_schema(parse_columns(",".join(f"t{i}" for i in range(25))))
    items = items_schema(parse_columns(",".join(f"p{i}" for i in range(100))))
    assert len(users["fields"]) == 26 and len(items["fields"]) == 101
    with pytest.raises(ValueError, match="at most 100 in ITEMS"):
        items_schema(parse_columns(",".join(f"p{i}" for i in range(101))))
    with pytest.raises(ValueError, match="'creation_timestamp' is a reserved field of the ITEMS"):
        items_schema(parse_columns("creation_timestamp:int"))
    with pytest.raises(ValueError, match="at least one metadata column"):
        users_schema(())


def test_interaction_metadata_and_event_types_share_ten() -> None:
    five = parse_columns("a,b,c,d,e")
    fields = interactions_schema(metadata=five, event_types=[f"e{i}" for i in range(5)])["fields"]
    assert [f["name"] for f in fields][-5:] == ["a", "b", "c", "d", "e"]
    with pytest.raises(ValueError, match="6 event types \\+ 5 interaction metadata columns"):
        interactions_schema(metadata=five, event_types=[f"e{i}" for i in range(6)])
    with pytest.raises(ValueError, match="6 columns; Personalize allows at most 5 in INTERACTIONS"):
        interactions_schema(metadata=parse_columns("a,b,c,d,e,f"))
    with pytest.raises(ValueError, match="'event_value' is a reserved field of the INTERACTIONS"):
        interactions_schema(metadata=parse_columns("event_value:float"))
    # Ten distinct event types alone are fine; duplicates count once.
    interactions_schema(event_types=[f"e{i}" for i in range(10)] + ["e0"])


def test_ecommerce_items() -> None:
    schema = items_schema(parse_columns("CATEGORY_L1=category,PRICE=price:float,brand"), domain="ECOMMERCE")
    text = json.dumps(schema)
    assert personalize_rule_violations(ITEMS, text, domain="ECOMMERCE") == []
    by_name = {f["name"]: f for f in schema["fields"]}
    assert by_name["PRICE"] == {"name": "PRICE", "type": "float"}
    assert by_name["CATEGORY_L1"] == {"name": "CATEGORY_L1", "type": "string", "categorical": True}
    assert by_name["brand"]["type"] == ["null", "string"]
    with pytest.raises(ValueError, match="needs PRICE and CATEGORY_L1"):
        items_schema(parse_columns("brand"), domain="ECOMMERCE")
    with pytest.raises(ValueError, match="PRICE must be named PRICE and be float"):
        items_schema(parse_columns("CATEGORY_L1=category,PRICE=price"), domain="ECOMMERCE")
    with pytest.raises(ValueError, match="domain must be empty"):
        items_schema(parse_columns("a"), domain="VIDEO")


def test_schema_files_sit_beside_the_outputs() -> None:
    schemas = dataset_schemas(user_traits="plan", item_properties="brand")
    files = schema_files("s3://b/transformed/interactions/", schemas)
    assert sorted(files) == [
        "s3://b/transformed/interactions.schema.json",
        "s3://b/transformed/items.schema.json",
        "s3://b/transformed/users.schema.json",
    ]
    assert all(text.endswith("}\n") and json.loads(text) for text in files.values())
    assert schema_file_path("build/output/interactions", USERS) == "build/output/users.schema.json"


def test_a_schema_file_beside_an_output_folder_with_no_parent() -> None:
    """A relative output such as ``interactions``: the files sit beside it, in the working folder (the
    parent-less path once became ``/users.schema.json``, at the root)."""
    assert schema_file_path("interactions", USERS) == "users.schema.json"
    assert schema_file_path("interactions/", INTERACTIONS) == "interactions.schema.json"
