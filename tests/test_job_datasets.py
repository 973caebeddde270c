"""The job writing the whole dataset group: Users and Items beside the interactions, from one read of
the input, with their schemas, report sections and the same publishing rules."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import DataFrame, SparkSession
from segment_personalize.dataset_config import DatasetsConfig
from segment_personalize.job_config import parse_job_args
from segment_personalize.pipeline import listed_files_source, run
from segment_personalize.rules import MappingConfig

from tests.contract_cases import T2, identify, order, track
from tests.files import write_gz
from tests.test_job import run_job

TRAITS, PROPERTIES = "plan,ltv=lifetime_value:float", "category,PRICE=price:float"
LINES = [
    identify({"plan": "free", "lifetime_value": 10}, user_id="u1"),
    identify({"plan": "pro", "lifetime_value": "n/a"}, user_id="u1", timestamp=T2),
    identify({"plan": "basic"}, user_id=None, anonymousId="a1"),  # stitched to u2 below
    track(user_id="u1", properties={"sku": "s1", "category": "shoes", "price": 19.99}),
    track(user_id="u2", anonymousId="a1", properties={"sku": "s2", "price": "5"}),
    order(
        [{"sku": "s1", "category": "boots"}, {"sku": "s3", "category": ["x", "y"]}],
        user_id="u3",
        timestamp=T2,
    ),
    json.dumps({"type": "page", "userId": "u4"}),
]


def _rows(folder: Path) -> tuple[list[str], list[list[str]]]:
    header, rows = [], []
    for path in sorted(folder.iterdir()):
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            header = next(reader)
            rows.extend(reader)
    return header, sorted(rows)


def _tree(*roots: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for root in roots for p in sorted(root.rglob("*")) if p.is_file()}


def _args(source: Path, out: Path, *extra: str) -> list[str]:
    return ["--S3_JSON_INPUT_PATH", str(source), "--S3_CSV_OUTPUT_PATH", str(out), *extra]


@pytest.fixture
def source(tmp_path: Path) -> Path:
    write_gz(tmp_path / "in" / "day" / "a.gz", LINES)
    return tmp_path / "in"


def test_the_whole_dataset_group(spark: SparkSession, source: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out" / "interactions"
    args = _args(source, out, "--USER_TRAITS", TRAITS, "--ITEM_PROPERTIES", PROPERTIES)
    assert run_job(*args) == 0

    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "interactions",
        "interactions.report.json",
        "interactions.schema.json",
        "items",
        "items.schema.json",
        "users",
        "users.schema.json",
    ]
    assert _rows(tmp_path / "out" / "users") == (
        ["USER_ID", "plan", "ltv"],
        [["u1", "pro", "10"], ["u2", "basic", ""]],
    )
    # s1: the later order's boots (T2) over the product's shoes; price only from the first event.
    assert _rows(tmp_path / "out" / "items") == (
        ["ITEM_ID", "category", "PRICE"],
        [["s1", "boots", "19.99"], ["s2", "", "5"], ["s3", "x|y", ""]],
    )
    # The schemas are the ones deploy creates from the same settings.
    mapping = MappingConfig()
    expected = DatasetsConfig.from_settings(mapping, TRAITS, PROPERTIES).schemas(mapping).texts()
    for kind, name in (("INTERACTIONS", "interactions"), ("USERS", "users"), ("ITEMS", "items")):
        assert (tmp_path / "out" / f"{name}.schema.json").read_text() == expected[kind] + "\n"

    report = json.loads((tmp_path / "out" / "interactions.report.json").read_text())
    assert report["output_rows"] == 4
    assert report["users"] == {
        "output_path": str(tmp_path / "out" / "users"),
        "rows": 2,
        "rows_written": 2,
        "rows_without_id": 0,
        "columns": ["plan", "ltv"],
        "filled": {"plan": 2, "ltv": 1},
        "interactions": 4,
        "interactions_with_metadata": 2,  # u1's and u2's; u3's order has no user row
        "share_with_metadata": 0.5,
        "records": 3,
        "values_not_fitting": 1,
        "not_fitting": {"plan": 0, "ltv": 1},
        "files": report["users"]["files"],
    }
    assert all(f.startswith(f"file:{tmp_path}/out/users/part-") for f in report["users"]["files"])
    assert {k: report["items"][k] for k in ("rows", "filled", "interactions_with_metadata", "records")} == {
        "rows": 3,
        "filled": {"category": 2, "PRICE": 2},
        "interactions_with_metadata": 4,
        "records": 4,
    }
    assert all(report["accounting"].values())
    assert set(report["accounting"]) == {
        "lines_balance",
        "rows_match_written",
        "users_rows_match_written",
        "users_ids_present",
        "items_rows_match_written",
        "items_ids_present",
    }
    assert report["schema_files"] == sorted(
        str(tmp_path / "out" / f"{name}.schema.json") for name in ("interactions", "items", "users")
    )
    printed = capsys.readouterr().out
    assert (
        "  users            2 rows (plan 2, ltv 1 filled); 2/4 interactions' users have one (50.0%)"
        in printed
    )


def test_without_metadata_only_the_interactions_and_their_schema(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "out" / "interactions"
    assert run_job(*_args(source, out)) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "interactions",
        "interactions.report.json",
        "interactions.schema.json",
    ]
    report = json.loads((tmp_path / "out" / "interactions.report.json").read_text())
    assert "users" not in report and "items" not in report


def test_the_input_is_read_once(spark: SparkSession, source: Path, tmp_path: Path) -> None:
    """Three datasets from one scan: every line passes the (test-only) counting UDF exactly once."""
    counter = spark.sparkContext.accumulator(0)

    def seen(value):  # no type hints: pyspark would take them for a pandas UDF's
        counter.add(1)
        return value

    from pyspark.sql.functions import col, udf

    counting = udf(seen, "string")

    def counted_source(session: SparkSession, config) -> tuple[DataFrame, dict[str, Any]]:
        lines, files = listed_files_source(session, config)
        return lines.select(counting(col("value")).alias("value")), files

    out = tmp_path / "out" / "interactions"
    config = parse_job_args(
        [
            "job",
            "--JOB_NAME",
            "t",
            *_args(source, out, "--USER_TRAITS", TRAITS, "--ITEM_PROPERTIES", PROPERTIES),
        ]
    )
    report = run(spark, config, counted_source, notes=lambda _: None)
    assert report["users"]["rows"] == 2 and report["items"]["rows"] == 3
    assert counter.value == len(LINES)


def test_own_folders_and_a_failed_run_leaves_all_three(source: Path, tmp_path: Path, capfd) -> None:
    out = tmp_path / "out" / "interactions"
    users, items = tmp_path / "elsewhere" / "u", tmp_path / "elsewhere" / "i"
    metadata = ["--USER_TRAITS", TRAITS, "--ITEM_PROPERTIES", PROPERTIES]
    args = _args(source, out, *metadata, "--USERS_OUTPUT_PATH", str(users), "--ITEMS_OUTPUT_PATH", str(items))
    assert run_job(*args) == 0
    assert _rows(users)[1][0] == ["u1", "pro", "10"]
    before = _tree(tmp_path / "out", tmp_path / "elsewhere")

    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no data files here")
    args = _args(empty, out, *metadata, "--USERS_OUTPUT_PATH", str(users), "--ITEMS_OUTPUT_PATH", str(items))
    assert run_job(*args) == 2
    assert _tree(tmp_path / "out", tmp_path / "elsewhere") == before
    assert "no data files" in capfd.readouterr().err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--USER_TRAITS", "plan:bool"], "--USER_TRAITS: 'plan:bool' has type 'bool'"),
        (["--USER_TRAITS", "USER_ID"], "--USER_TRAITS: 'USER_ID' is a reserved field of the USERS dataset"),
        (
            ["--ITEM_PROPERTIES", "products"],
            "--ITEM_PROPERTIES: source 'products' is a field the job reads as a list",
        ),
        (["--ITEM_PROPERTIES", "Sku"], "--ITEM_PROPERTIES: sources 'sku' and 'Sku' differ only in case"),
        (["--USERS_OUTPUT_PATH", "x"], "--USERS_OUTPUT_PATH is given but --USER_TRAITS is not"),
        (
            ["--ITEM_PROPERTIES", "category", "--PERSONALIZE_DOMAIN", "ECOMMERCE"],
            "an ECOMMERCE Items dataset needs PRICE and CATEGORY_L1",
        ),
        (
            ["--USER_TRAITS", "plan", "--USERS_OUTPUT_PATH", "{out}/users"],
            "the users output folder {out}/users is inside the interactions output folder",
        ),
    ],
)
def test_bad_dataset_parameters(source: Path, tmp_path: Path, capfd, extra: list[str], message: str) -> None:
    out = tmp_path / "out" / "interactions"
    extra = [e.replace("{out}", str(out)) for e in extra]
    assert run_job(*_args(source, out, *extra)) == 2
    err = capfd.readouterr().err
    assert err.count("\n") == 1 and message.replace("{out}", str(out)) in err
    assert not (tmp_path / "out").exists()
