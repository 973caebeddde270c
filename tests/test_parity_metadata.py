"""Property: the Spark job's Users and Items datasets are the pure-Python reference's (run_metadata.py),
for every identity mode, and configuring them leaves the interactions and their counts as they were."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyspark.sql import SparkSession
from segment_personalize.dataset_config import DatasetsConfig
from segment_personalize.metadata import MetadataTable
from segment_personalize.rules import MappingConfig
from segment_personalize.run_metadata import run_metadata
from segment_personalize.spark.transform import transform

from tests.contract_cases import METADATA_CASES, METADATA_ITEM_PROPERTIES, METADATA_USER_TRAITS
from tests.strategies import metadata_lines
from tests.test_parity_engines import as_text
from tests.test_transform import lines_df

USER_TRAITS = "plan,ltv=lifetime_value:float,tags,PLAN_AGAIN=plan"
ITEM_PROPERTIES = "category,price:float,rank:int"


def _cells(table: MetadataTable) -> list[tuple[str | None, ...]]:
    return [tuple(cell or None for cell in row) for row in table.csv_rows()]


def _spark_cells(frame) -> list[tuple[str | None, ...]]:
    return sorted(tuple(row) for row in frame.collect())


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(
    lines=st.lists(metadata_lines(), min_size=1, max_size=40),
    mode=st.sampled_from(["stitch", "keep", "drop"]),
    priced=st.booleans(),
)
def test_users_and_items_are_the_reference(
    spark: SparkSession, lines: list[str | bytes], mode: str, priced: bool
) -> None:
    config = MappingConfig.from_settings(event_value_field="price" if priced else None, anonymous_events=mode)
    datasets = DatasetsConfig.from_settings(config, USER_TRAITS, ITEM_PROPERTIES)
    frame = lines_df(spark, lines)
    result = transform(frame, config, datasets)
    try:
        interactions = Counter(tuple(r) for r in result.interactions.collect())
        assert result.users is not None and result.items is not None
        users, items = _spark_cells(result.users.frame), _spark_cells(result.items.frame)
        counts = result.counts()
        user_counts, item_counts = result.users.counts(), result.items.counts()
    finally:
        result.release()
    python_users, python_items = run_metadata(
        [as_text(line) for line in lines], config, datasets.user_traits, datasets.item_properties
    )
    assert python_users is not None and python_items is not None
    assert users == _cells(python_users)
    assert items == _cells(python_items)
    assert user_counts == {**python_users.metrics(), "rows_written": len(python_users.rows)}
    assert item_counts == {**python_items.metrics(), "rows_written": len(python_items.rows)}
    # The interactions and every count are those of the run without metadata.
    plain = transform(frame, config)
    assert interactions == Counter(tuple(r) for r in plain.interactions.collect())
    assert counts == plain.counts()


@pytest.mark.parametrize(
    ("name", "mode", "lines", "users", "items"), METADATA_CASES, ids=[c[0] for c in METADATA_CASES]
)
def test_contract_cases(
    spark: SparkSession, name: str, mode: str, lines: list[str], users: list[Any], items: list[Any]
) -> None:
    """Each *Users and items* case of the contract doc, in both engines."""
    config = MappingConfig.from_settings(anonymous_events=mode)
    datasets = DatasetsConfig.from_settings(config, METADATA_USER_TRAITS, METADATA_ITEM_PROPERTIES)
    python_users, python_items = run_metadata(lines, config, datasets.user_traits, datasets.item_properties)
    assert python_users is not None and python_items is not None
    assert (_cells(python_users), _cells(python_items)) == (users, items)
    result = transform(lines_df(spark, lines), config, datasets)
    try:
        assert result.users is not None and result.items is not None
        assert (_spark_cells(result.users.frame), _spark_cells(result.items.frame)) == (users, items)
    finally:
        result.release()
