"""The Spark engine against the same contract table, and the transform's rows and counts."""

from __future__ import annotations

from collections import Counter

import pytest
from chispa import assert_df_equality
from hypothesis import given, settings
from hypothesis import strategies as st
from pyspark.sql import SparkSession
from segment_personalize.dataset_config import NO_METADATA, DatasetsConfig
from segment_personalize.rules import CSV_HEADER, DropReason, MappingConfig
from segment_personalize.spark.io import INTERACTIONS_SCHEMA, read_input
from segment_personalize.spark.session import HOTSPOT_HUGE_METHOD_BYTES
from segment_personalize.spark.transform import classify, sql_string, transform

from tests.contract_cases import CASES, CONFIG_CASES, IDENTITY_CASES, order, track, with_bytes
from tests.spark_support import session_conf

DROP_REASONS = {r.value for r in DropReason}


def lines_df(spark: SparkSession, lines: list[str] | list[str | bytes]):
    """Lines as the job reads them; bytes keep their bytes (spark.read.text does not check UTF-8)."""
    if all(isinstance(line, str) for line in lines):
        return spark.createDataFrame([(line,) for line in lines], "value string")
    raw = [(line if isinstance(line, bytes) else line.encode("utf-8"),) for line in lines]
    return spark.createDataFrame(raw, "b binary").selectExpr("CAST(b AS STRING) AS value")


def test_contract_table(spark: SparkSession) -> None:
    rows = classify(lines_df(spark, [line for _, line, _ in CASES]), MappingConfig()).collect()
    got = {
        name: row.drop_reason or (row.user_id, tuple(row.item_ids), row.event_type, row.timestamp)
        for (name, _, _), row in zip(CASES, rows, strict=True)
    }
    assert got == {name: expected for name, _, expected in CASES}


def test_contract_under_other_settings(spark: SparkSession) -> None:
    # One frame per distinct setting: each config is its own plan.
    by_settings: dict[tuple, list] = {}
    for name, settings_, line, expected in CONFIG_CASES:
        by_settings.setdefault(tuple(sorted(settings_.items())), []).append((name, line, expected))
    got, want = {}, {}
    for settings_, cases in by_settings.items():
        config = MappingConfig.from_settings(**dict(settings_))
        rows = classify(lines_df(spark, [line for _, line, _ in cases]), config).collect()
        for (name, _, expected), row in zip(cases, rows, strict=True):
            got[name] = row.drop_reason or (row.user_id, tuple(row.item_ids), row.event_type, row.timestamp)
            if config.event_value_field is not None and not row.drop_reason:
                got[name] = (*got[name], tuple(row.event_values))
            want[name] = expected
    assert got == want


@pytest.mark.parametrize(
    "setting",
    [("spark.sql.ansi.enabled", "true"), ("spark.sql.session.timeZone", "Pacific/Kiritimati")],
    ids=["ansi-mode", "non-utc-session"],
)
def test_contract_table_whatever_the_session_says(spark: SparkSession, setting: tuple[str, str]) -> None:
    # A Glue job's session may run in ANSI mode or another time zone; neither may change an outcome
    # (no cast that could raise on bad input, no zone-less time read in the session's zone).
    key, value = setting
    with session_conf(spark, key, value):
        test_contract_table(spark)


@settings(max_examples=15, deadline=None)
@given(texts=st.lists(st.text(), min_size=1, max_size=30))
def test_sql_string_reads_back_as_the_text(spark: SparkSession, texts: list[str]) -> None:
    # The rules reach Spark as SQL text, event names from the job's parameters included.
    row = spark.range(1).selectExpr(*(f"{sql_string(text)} AS c{i}" for i, text in enumerate(texts))).first()
    assert list(row) == texts


def test_configured_event_names_are_matched_verbatim(spark: SparkSession) -> None:
    odd = ('Bob\'s \\ "Pick"\u2028%_', "Product Added")
    lines = [track(event=odd[0]), track(event='Bob\'s \\\\ "Pick"\u2028%_'), track(event="Product Added")]
    rows = classify(lines_df(spark, lines), MappingConfig(supported_events=odd)).collect()
    assert [(row.drop_reason, row.event_type) for row in rows] == [
        (None, odd[0]),
        ("unsupported_event", None),
        (None, "Product Added"),
    ]


def test_transform_rows_and_counts(spark: SparkSession) -> None:
    lines = [
        track(messageId="m1"),
        track(messageId="m1"),  # at-least-once redelivery
        track(user_id=2941404340, sku="ocean-blue-shirt", messageId="m2", event="Product Added"),
        order(
            [{"sku": "a"}, {"sku": "b"}, {"sku": "a"}, {"name": "no sku"}], messageId="m3", user_id='u,"q"'
        ),
        order([{"sku": "a"}], messageId="m3"),  # same messageId, later copy differs: smallest key wins
        track(user_id=None),
        track(event="Product Viewed"),
        "{broken",
        "",
    ]
    result = transform(lines_df(spark, lines), MappingConfig())
    # Collect exactly once: observed counts are exact for an action that runs the plan once, as the
    # job's write does (a Spark-side sort would run it twice: once more to sample its range bounds).
    rows = result.interactions.collect()
    expected = spark.createDataFrame(
        [
            ("2941404340", "ocean-blue-shirt", "Product Clicked", 1551110105),
            ("2941404340", "ocean-blue-shirt", "Product Added", 1551110105),
            ("2941404340", "a", "Order Completed", 1551110105),
        ],
        INTERACTIONS_SCHEMA,
    )
    assert list(result.interactions.columns) == list(CSV_HEADER)
    assert_df_equality(
        spark.createDataFrame(rows, INTERACTIONS_SCHEMA),
        expected,
        ignore_row_order=True,
        ignore_nullable=True,
    )
    assert result.line_counts.get == {
        "input_lines": 9,
        "kept_before_dedupe": 5,
        "blank_line": 1,
        "corrupt_record": 1,
        "not_track": 0,
        "unsupported_event": 1,
        "missing_user_id": 1,
        "invalid_user_id": 0,
        "anonymous_user": 0,
        "missing_item_id": 0,
        "invalid_item_id": 0,
        "missing_timestamp": 0,
        "invalid_timestamp": 0,
        "product_missing_item_id": 1,
        "product_invalid_item_id": 0,
        "product_duplicate_item_id": 1,
    }
    assert result.dedupe_counts.get == {
        "kept_events": 3,
        "output_rows": 3,
        "stitched_events": 0,
        "anonymous_kept_events": 0,
    }


def test_order_copy_with_smaller_key_wins(spark: SparkSession) -> None:
    lines = [
        order([{"sku": "b"}], messageId="m", timestamp="2019-02-25T15:55:06Z"),
        order([{"sku": "c"}, {"sku": "d"}], messageId="m", timestamp="2019-02-25T15:55:05Z"),
    ]
    rows = transform(lines_df(spark, lines), MappingConfig()).interactions.collect()
    assert sorted(tuple(r) for r in rows) == [
        ("2941404340", "c", "Order Completed", 1551110105),
        ("2941404340", "d", "Order Completed", 1551110105),
    ]


def test_empty_input(spark: SparkSession) -> None:
    result = transform(spark.createDataFrame([], "value string"), MappingConfig())
    assert result.interactions.collect() == []
    assert result.line_counts.get["input_lines"] == 0
    assert result.dedupe_counts.get == {
        "kept_events": 0,
        "output_rows": 0,
        "stitched_events": 0,
        "anonymous_kept_events": 0,
    }


def test_no_line_kept(spark: SparkSession) -> None:
    # Nothing reaches the de-duplication shuffle: the run's counts must still arrive (and not hang).
    result = transform(lines_df(spark, ["{broken", track(user_id=None), ""]), MappingConfig())
    assert result.interactions.collect() == []
    counts = result.line_counts.get
    assert (counts["input_lines"], counts["kept_before_dedupe"]) == (3, 0)
    assert (counts["corrupt_record"], counts["missing_user_id"], counts["blank_line"]) == (1, 1, 1)
    assert result.dedupe_counts.get == {
        "kept_events": 0,
        "output_rows": 0,
        "stitched_events": 0,
        "anonymous_kept_events": 0,
    }


def test_no_python_udfs_in_the_plan(spark: SparkSession) -> None:
    result = transform(lines_df(spark, [track()]), MappingConfig(item_id_field="product_id"))
    plan = result.interactions._jdf.queryExecution().executedPlan().toString()
    assert "BatchEvalPython" not in plan and "ArrowEvalPython" not in plan
    assert "PythonUDF" not in plan


def test_the_optimizer_does_not_copy_the_parse(spark: SparkSession) -> None:
    # The filter that keeps the mapped events sits above the run's Observation, which Spark does not
    # push a filter through. Pushed below the classification, the filter would carry the whole drop
    # reason, and ~150 copies of each from_json, down to the raw lines: measured 4x slower.
    plan = transform(lines_df(spark, [track()]), MappingConfig()).interactions._jdf.queryExecution()
    written, optimized = (p.toString().count("from_json(") for p in (plan.analyzed(), plan.optimizedPlan()))
    assert optimized == written


def _max_method_sizes(frame) -> list[int]:
    """Bytecode size of the largest method of each whole-stage-codegen stage of the frame's plan."""
    plan = frame._jdf.queryExecution().executedPlan()
    stages = frame.sparkSession._jvm.org.apache.spark.sql.execution.debug.package.codegenStringSeq(plan)
    return [
        stage._3().maxMethodCodeSize()
        for stage in frame.sparkSession._jvm.scala.collection.JavaConverters.seqAsJavaList(stages)
    ]


@pytest.mark.parametrize(
    "config",
    [
        MappingConfig(),
        # Nine events: the longest list Spark still compares one by one (ten or more become a set).
        MappingConfig(
            supported_events=tuple(f"Custom Event {i}" for i in range(9)), item_id_field="product_id"
        ),
        MappingConfig.from_settings("ecommerce", "product_id,sku"),
        MappingConfig.from_settings("ecommerce", "product_id,sku", "price"),
        MappingConfig.from_settings("ecommerce", "product_id,sku", "price", "keep"),
        MappingConfig.from_settings("ecommerce", "product_id,sku", "price", "drop"),
    ],
    ids=["default", "nine-events", "ecommerce-fallback", "ecommerce-fallback-value", "keep", "drop"],
)
@pytest.mark.parametrize("metadata", [False, True], ids=["", "users-items"])
def test_every_codegen_stage_can_be_jit_compiled(
    spark: SparkSession, config: MappingConfig, metadata: bool
) -> None:
    # HotSpot leaves a method over 8,000 bytes of bytecode to the interpreter: a rule that pushes a
    # stage past it makes classifying about twice as slow without failing anything (session.py).
    # Without AQE the plan shows every stage before it runs.
    datasets = (
        DatasetsConfig.from_settings(
            config, "plan,country,ltv=lifetime_value:float", "category,brand,price:float"
        )
        if metadata
        else NO_METADATA
    )
    lines = lines_df(spark, [track()])
    with session_conf(spark, "spark.sql.adaptive.enabled", "false"):
        result = transform(lines, config, datasets)
        # The classification itself: with Users or Items, the frames below read it from the cache.
        frames = [
            classify(lines, config, datasets),
            result.interactions,
            *(o.frame for o in result.metadata().values()),
        ]
        sizes = [size for frame in frames for size in _max_method_sizes(frame)]
    assert len(sizes) >= 5
    assert max(sizes) < HOTSPOT_HUGE_METHOD_BYTES, sizes


def test_byte_order_marks_in_files(spark: SparkSession, tmp_path) -> None:
    # Hadoop's line reader skips a BOM opening a file; the job skips one opening any other line too.
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.json").write_bytes(
        b"\xef\xbb\xbf"
        + track(sku="first").encode()
        + b"\n\xef\xbb\xbf"
        + track(sku="second").encode()
        + b"\n"
    )
    (folder / "b.json").write_bytes(with_bytes(track(user_id="uXX"), "XX", b"\xff") + b"\n")
    rows = classify(read_input(spark, str(folder)).lines, MappingConfig()).collect()
    assert sorted((row.drop_reason or "", row.item_ids and tuple(row.item_ids)) for row in rows) == [
        ("", ("first",)),
        ("", ("second",)),
        ("invalid_user_id", None),
    ]


@pytest.mark.parametrize(("name", "mode", "run"), IDENTITY_CASES, ids=[c[0] for c in IDENTITY_CASES])
def test_identity_contract(spark: SparkSession, name: str, mode: str, run: list) -> None:
    """The whole run in Spark: the kept rows and every reason's count, as the case says line by line."""
    result = transform(lines_df(spark, [line for line, _ in run]), MappingConfig(anonymous_events=mode))
    rows = Counter(tuple(row) for row in result.interactions.collect())
    expected_rows = Counter(
        (user, item, event_type, ts)
        for _, outcome in run
        if not isinstance(outcome, str)
        for user, items, event_type, ts in [outcome]
        for item in items
    )
    assert rows == expected_rows
    line_counts, dedupe_counts = result.counts()
    reasons = Counter(outcome for _, outcome in run if isinstance(outcome, str))
    assert {r: n for r, n in line_counts.items() if r in DROP_REASONS and n} == dict(reasons)
    assert dedupe_counts["kept_events"] == sum(not isinstance(o, str) for _, o in run)
