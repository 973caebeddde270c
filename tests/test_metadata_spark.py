"""Users and Items metadata in Spark (spark/metadata.py) against the Python rules (metadata.py).

Every value goes through Spark the way the job reads it: a JSON line parsed by from_json with a
StringType leaf, so Spark sees its own rendering of the token (1e7 -> 1.0E7, an array -> its compact
JSON), while Python sees the parsed value. Both must give the same cell, or both none.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyspark.sql import Observation, SparkSession
from segment_personalize import rules
from segment_personalize.dataset_config import DatasetsConfig
from segment_personalize.metadata import KINDS, fit_value, latest_values
from segment_personalize.personalize_schema import parse_columns
from segment_personalize.spark.items import latest_items
from segment_personalize.spark.metadata import coverage, fields_struct, fit_frame, fit_sql, latest_frame
from segment_personalize.spark.schema import event_schema, product_schema, traits_schema
from segment_personalize.spark.transform import sql_string
from segment_personalize.spark.users import latest_users

from tests.strategies import json_values, prices, tricky_text
from tests.test_metadata import FIT_CASES

OPTIONS = (
    "map(" + ", ".join(f"{sql_string(k)}, {sql_string(v)}" for k, v in rules.SPARK_JSON_OPTIONS.items()) + ")"
)


KIND_COLUMNS = parse_columns("s=v,f=v:float,n=v:int")


def _traits(spark: SparkSession, value_texts: list[str]):
    lines = [f'{{"traits": {{"v": {text}}}}}' for text in value_texts]
    frame = spark.createDataFrame([(i, line) for i, line in enumerate(lines)], "i int, line string")
    return frame.selectExpr(
        "i", f"from_json(line, 'struct<traits: struct<v: string>>', {OPTIONS}).traits AS fields"
    )


def _spark_cells(spark: SparkSession, value_texts: list[str]) -> list[dict[str, str | None]]:
    """Each JSON value text as a trait, fitted by fit_frame (the job's staged form) for every kind."""
    fitted = fit_frame(_traits(spark, value_texts).selectExpr("*", "0L AS timestamp"), "i", KIND_COLUMNS)
    rows = sorted(fitted.collect(), key=lambda r: r.i)
    return [{c.kind: row[f"_cell_{index}"] for index, c in enumerate(KIND_COLUMNS)} for row in rows]


def _fit_sql_cells(spark: SparkSession, value_texts: list[str]) -> list[dict[str, str | None]]:
    """The same through fit_sql, the single-expression form."""
    fitted = _traits(spark, value_texts).selectExpr("i", *(f"{fit_sql('fields.v', k)} AS {k}" for k in KINDS))
    return [{kind: row[kind] for kind in KINDS} for row in sorted(fitted.collect(), key=lambda r: r.i)]


def _python_cells(value_texts: list[str]) -> list[dict[str, str | None]]:
    values = [rules.parse_line(f'{{"v": {text}}}')["v"] for text in value_texts]
    return [{kind: fit_value(value, kind) for kind in KINDS} for value in values]


def _mismatches(spark: SparkSession, value_texts: list[str]) -> list[tuple[str, Any, Any]]:
    spark_cells, python_cells = _spark_cells(spark, value_texts), _python_cells(value_texts)
    return [(text, s, p) for text, s, p in zip(value_texts, spark_cells, python_cells, strict=True) if s != p]


def test_every_fit_case_gives_the_same_cell_in_spark(spark: SparkSession) -> None:
    texts = [json.dumps(value) for value, _, _ in FIT_CASES]
    for cells in (_spark_cells(spark, texts), _fit_sql_cells(spark, texts)):
        got = [(value, kind, cell[kind]) for (value, kind, _), cell in zip(FIT_CASES, cells, strict=True)]
        assert got == FIT_CASES
    assert _mismatches(spark, texts) == []


# Token forms Python's json.dumps does not write, and Spark's renderings of them.
RAW_TEXTS = [
    "1e400",
    "-1e400",
    "[1e400]",
    '"[1e400]"',
    "[-1e400, 1]",
    "1E7",
    "1.0E7",
    '"1.0E7"',
    "[1.0, 2]",
    "-0",
    "[-0, 0]",
    '"a\\ud800b"',
    '["a\\u0000"]',
    '["a", "b"] ',
    '"[\\"a\\"]"',
    "[[]]",
    '[{"a": 1}]',
    '[" "]',
    "[true, false, null]",
    "[12345678901234567890123]",
    '"\\u00e4\\u2028"',
    "null",
    "[null]",
    "2147483647",
    "2147483648",
    "-2147483648",
    '"0002147483647"',
    "3.0",
    "1e3",
    '["1|2", 3]',
]


def test_token_forms_give_the_same_cell(spark: SparkSession) -> None:
    assert _mismatches(spark, RAW_TEXTS) == []


categorical_strings = st.one_of(
    tricky_text,
    st.text(max_size=8),
    st.from_regex(r"-?[0-9]{1,3}(\.[0-9]{1,3})?(E-?[0-9]{1,2})?", fullmatch=True),
    st.text(st.sampled_from('ab|[]{},." \\\n\u00e4'), max_size=6),
    st.lists(st.one_of(st.text(max_size=4), st.integers(), st.booleans()), max_size=3).map(json.dumps),
)
metadata_values = st.one_of(
    json_values,
    prices,
    categorical_strings,
    st.lists(
        st.one_of(categorical_strings, st.integers(), st.booleans(), st.floats(), st.none()), max_size=4
    ),
    st.integers(-(2**32), 2**32),
    st.just("x" * 999).map(lambda s: [s[:499], s[:500]]),
)


def _json(value: Any) -> str:
    return json.dumps(value, allow_nan=False, ensure_ascii=False)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(values=st.lists(metadata_values.filter(lambda v: _finite(v)), min_size=1, max_size=60))
def test_engines_agree_on_random_values(spark: SparkSession, values: list[Any]) -> None:
    assert _mismatches(spark, [_json(v) for v in values]) == []


def _finite(value: Any) -> bool:
    try:
        # A number beyond Jackson's length makes the whole line corrupt (the id rules' case, not a cell's).
        rules.parse_line(_json(value))
    except ValueError:
        return False
    return True


# --- latest_frame vs metadata.latest_values ------------------------------------------------------

COLUMNS = parse_columns("plan,country,ltv=lifetime_value:float,age:int,P2=plan")
POOL = {
    "plan": ["free", "pro", "ä", "", 1.5, ["a", "b"], None, True],
    "country": ["DE", "FR", "de", "[x]", 7, ["x", None]],
    "lifetime_value": [1, "2.50", 1e7, "n/a", -0.0, [1]],
    "age": [30, "031", 3.0, 2**31, "x"],
}

records_strategy = st.lists(
    st.tuples(
        st.sampled_from(["u1", "u2", "u3", "ü", "u5", "u6", "u7", "u8"]),
        st.integers(0, 3),  # few timestamps: many ties
        st.fixed_dictionaries({}, optional={k: st.sampled_from(v) for k, v in POOL.items()}),
    ),
    max_size=150,  # many ids per example: one Spark job checks many groups
)


def _rows_frame(spark: SparkSession, records: list[tuple[str, int, dict[str, Any]]]):
    data = [(key, ts, json.dumps(fields)) for key, ts, fields in records]
    frame = spark.createDataFrame(data, "user_id string, timestamp bigint, f string")
    schema = fields_struct(COLUMNS).simpleString()
    return frame.selectExpr(
        "user_id", "timestamp", f"from_json(f, {sql_string(schema)}, {OPTIONS}) AS fields"
    )


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(records=records_strategy, seed=st.randoms(use_true_random=False))
def test_latest_frame_is_the_reference(spark: SparkSession, records: list[Any], seed: Any) -> None:
    shuffled = list(records)
    seed.shuffle(shuffled)
    observation = Observation("metadata")
    result = latest_frame(_rows_frame(spark, shuffled), "user_id", "USER_ID", COLUMNS, observation)
    assert result.columns == ["USER_ID", "plan", "country", "ltv", "age", "P2"]
    got = sorted(tuple("" if v is None else v for v in row) for row in result.collect())
    table = latest_values(records, COLUMNS)
    assert got == table.csv_rows()
    assert observation.get == table.metrics()


def test_latest_frame_exact(spark: SparkSession) -> None:
    records = [
        ("u1", 10, {"plan": "free", "country": "DE"}),
        ("u1", 20, {"plan": "pro", "country": 1.5}),
        ("u1", 20, {"plan": "basic"}),  # tie at 20: "pro" > "basic"
        ("u2", 5, {"plan": ""}),  # nothing fits: no row
        ("u3", 1, {"age": "42", "lifetime_value": "1e2"}),
    ]
    output = latest_users(_rows_frame(spark, records), COLUMNS)
    rows = output.frame.collect()
    assert sorted(tuple(r) for r in rows) == [
        ("u1", "pro", "DE", None, None, "pro"),
        ("u3", None, None, "100", "42", None),
    ]
    assert output.counts() == {
        "records": 5,
        "values_not_fitting": 3,  # country 1.5, plan "" twice (plan and P2)
        "not_fitting_plan": 1,
        "not_fitting_country": 1,
        "not_fitting_ltv": 0,
        "not_fitting_age": 0,
        "not_fitting_P2": 1,
        "rows_written": 2,
    }


def test_items_and_read_schema_helpers(spark: SparkSession) -> None:
    columns = parse_columns("category,PRICE=price:float")
    config = rules.MappingConfig.from_settings(event_value_field="price")
    datasets = DatasetsConfig(user_traits=parse_columns("plan,P=plan,age:int"), item_properties=columns)
    # The item properties the interactions do not already read (price is EVENT_VALUE's), once each.
    assert product_schema(config, datasets).fieldNames() == ["sku", "price", "category"]
    assert traits_schema(datasets).simpleString() == "struct<plan:string,age:string>"
    assert event_schema(config, datasets)["traits"].dataType == traits_schema(datasets)
    data = [("a", 1, '{"category": "x", "price": 5}'), ("a", 2, '{"category": ["y", "z"]}')]
    frame = spark.createDataFrame(data, "item_id string, timestamp bigint, f string").selectExpr(
        "item_id", "timestamp", f"from_json(f, {sql_string(fields_struct(columns).simpleString())}) AS fields"
    )
    assert [tuple(r) for r in latest_items(frame, columns).frame.collect()] == [("a", "y|z", "5")]


def test_coverage(spark: SparkSession) -> None:
    interactions = spark.createDataFrame(
        [("u1", "i1"), ("u1", "i2"), ("u2", "i1"), ("u9", "i3")], "USER_ID string, ITEM_ID string"
    )
    users = spark.createDataFrame(
        [("u1", "pro", None), ("u2", "", "DE"), ("u3", "x", "FR")],
        "USER_ID string, plan string, country string",
    )
    assert coverage(interactions, users, "USER_ID") == {
        "rows": 3,
        "filled": {"plan": 2, "country": 2},
        "interactions": 4,
        "interactions_with_metadata": 3,
        "share_with_metadata": 0.75,
    }
    empty = interactions.limit(0)
    assert coverage(empty, users, "USER_ID")["share_with_metadata"] is None
