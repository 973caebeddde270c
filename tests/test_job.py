"""The Glue entry script end to end on local files: arguments, output folder, CSV format, run report."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from segment_personalize.job_config import ConfigError, parse_job_args
from segment_personalize.spark.glue import start_spark

from tests.contract_cases import order, track
from tests.files import write_gz

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "jobs"))
import segment_events_to_personalize as job  # noqa: E402

HEADER = "USER_ID,ITEM_ID,EVENT_TYPE,TIMESTAMP"


@pytest.fixture
def segment_logs(tmp_path: Path) -> Path:
    root = tmp_path / "segment-logs"
    write_gz(
        root / "src" / "1551052800000" / "1551110400000.a.gz",
        [
            track(messageId="m1"),
            track(user_id='u,"q"', sku=" spaced ", messageId="m2"),
            track(user_id="multi\nline", messageId="m3"),
            "{not json",
        ],
    )
    write_gz(
        root / "src" / "1551139200000" / "1551142800000.b.gz",
        [track(messageId="m1"), order([{"sku": "a"}, {"sku": "b"}], user_id=2941404341, messageId="m4")],
    )
    (root / "src" / "plain.json").write_text(json.dumps({"type": "identify", "userId": "u9"}) + "\n")
    (root / "dummy-object.txt").write_text("")
    return root


def run_job(*args: str) -> int:
    return job.main(["segment_events_to_personalize.py", "--JOB_NAME", "test", *args])


def read_csv_files(folder: Path) -> tuple[list[str], list[list[str]]]:
    names = sorted(p.name for p in folder.iterdir())
    rows = []
    for name in names:
        with open(folder / name, newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            assert next(reader) == HEADER.split(",")
            rows.extend(reader)
    return names, rows


def test_job_end_to_end(spark: SparkSession, segment_logs: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out" / "interactions"
    assert run_job("--S3_JSON_INPUT_PATH", str(segment_logs), "--S3_CSV_OUTPUT_PATH", str(out)) == 0

    names, rows = read_csv_files(out)
    assert all(n.startswith("part-") and n.endswith(".csv") for n in names)
    assert sorted(rows) == sorted(
        [
            ["2941404340", "ocean-blue-shirt", "Product Clicked", "1551110105"],
            ['u,"q"', " spaced ", "Product Clicked", "1551110105"],
            ["2941404341", "a", "Order Completed", "1551110105"],
            ["2941404341", "b", "Order Completed", "1551110105"],
        ]
    )
    raw = "".join((out / n).read_text() for n in names)
    assert '"u,""q"""' in raw and "\\" not in raw  # RFC 4180 doubling, not Spark's backslash escape

    report = json.loads((tmp_path / "out" / "interactions.report.json").read_text())
    assert report["files"] == {
        "data_files": 3,
        "skipped_files": 1,
        "skipped_examples": [(segment_logs / "dummy-object.txt").as_uri()],
    }
    assert report["input_lines"] == 7
    assert report["kept_events"] == 3
    # A user id holding a line break is invalid: Personalize's import wants one record per line.
    assert {k: v for k, v in report["dropped"].items() if v} == {
        "corrupt_record": 1,
        "not_track": 1,
        "invalid_user_id": 1,
        "duplicate_message_id": 1,
    }
    assert report["output_rows"] == 4
    assert report["output"]["rows"] == 4
    assert report["output"]["distinct_users"] == 3
    assert report["output"]["users_with_2_or_more"] == 1
    assert report["output"]["distinct_items"] == 4
    assert report["accounting"] == {"lines_balance": True, "rows_match_written": True}
    assert report["personalize_minimums"]["ok"] is False

    printed = capsys.readouterr().out
    assert "input lines      7" in printed
    assert "Personalize minimums NOT MET: 4/1000 interactions" in printed


def test_single_file_mode(spark: SparkSession, segment_logs: Path, tmp_path: Path) -> None:
    out = tmp_path / "single"
    args = (
        "--S3_JSON_INPUT_PATH",
        str(segment_logs),
        "--S3_CSV_OUTPUT_PATH",
        str(out),
        "--SINGLE_FILE",
        "true",
    )
    assert run_job(*args) == 0
    names, rows = read_csv_files(out)
    assert names == ["interactions.csv"]
    assert len(rows) == 4


def test_configured_events_and_item_field(spark: SparkSession, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    write_gz(logs / "f.gz", [track(event="Product Viewed", properties={"product_id": "p-7", "sku": "s"})])
    out = tmp_path / "o"
    args = ["--S3_JSON_INPUT_PATH", str(logs), "--S3_CSV_OUTPUT_PATH", str(out)]
    assert run_job(*args, "--SUPPORTED_EVENTS", "Product Viewed", "--ITEM_ID_FIELD", "product_id") == 0
    assert read_csv_files(out)[1] == [["2941404340", "p-7", "Product Viewed", "1551110105"]]


def test_empty_input_writes_header_only(spark: SparkSession, tmp_path: Path, capsys) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "dummy-object.txt").write_text("")
    out = tmp_path / "o"
    assert run_job("--S3_JSON_INPUT_PATH", str(logs), "--S3_CSV_OUTPUT_PATH", str(out)) == 0
    assert read_csv_files(out)[1] == []
    report = json.loads((tmp_path / "o.report.json").read_text())
    assert (report["input_lines"], report["output_rows"]) == (0, 0)
    assert report["accounting"] == {"lines_balance": True, "rows_match_written": True}


def test_missing_input_path_is_a_clear_error(spark: SparkSession, tmp_path: Path, capsys) -> None:
    missing = tmp_path / "nope"
    assert run_job("--S3_JSON_INPUT_PATH", str(missing), "--S3_CSV_OUTPUT_PATH", str(tmp_path / "o")) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: input path does not exist:") and "nope" in err
    assert "Traceback" not in err


def test_missing_parameters_are_a_clear_error(capsys) -> None:
    assert job.main(["job.py", "--JOB_NAME", "x", "--S3_JSON_INPUT_PATH", "in"]) == 2
    err = capsys.readouterr().err
    assert "--S3_CSV_OUTPUT_PATH" in err and err.startswith("error:")


@pytest.mark.parametrize(
    ("input_path", "output_path", "extra", "message"),
    [
        ("s3://b/logs", "s3://b/logs/out", [], "inside the input path"),
        ("s3://b/logs/2019", "s3a://b/logs/", [], "contains the input path"),
        (
            "s3://b/logs",
            "s3://b/out",
            ["--RUN_REPORT_PATH", "s3://b/out/r.json"],
            "inside the CSV output folder",
        ),
        ("s3://b/logs", "s3://b/out", ["--SINGLE_FILE", "maybe"], "--SINGLE_FILE must be true or false"),
        ("s3://b/logs", "s3://b/out", ["--ITEM_ID_FIELD", "id"], "item_id_field must be one of"),
        ("s3://b/logs", "s3://b/out", ["--SUPPORTED_EVENTS", " , "], "at least one"),
        (
            "s3://b/logs",
            "s3://b/out",
            ["--SUPPORTED_EVENTS", ",".join(f"E{i}" for i in range(11))],
            "11 event types; Personalize allows at most 10",
        ),
        ("s3://b/logs", "s3://b/out", ["--SUPPORTED_EVENTS", "Product Viewed="], "empty event type"),
        ("s3://b/logs", "s3://b/out", ["--ITEM_ID_FIELD", "product_id,sku,sku"], "without repeats"),
        ("s3://b/logs", "s3://b/out", ["--EVENT_VALUE_FIELD", " "], "event_value_field must name"),
        ("s3://b/logs", "s3://b/out", ["--EVENT_VALUE_FIELD", "price.usd"], "no '.'"),
    ],
)
def test_bad_parameters(input_path: str, output_path: str, extra: list[str], message: str) -> None:
    argv = [
        "job.py",
        "--JOB_NAME",
        "j",
        "--S3_JSON_INPUT_PATH",
        input_path,
        "--S3_CSV_OUTPUT_PATH",
        output_path,
    ]
    with pytest.raises(ConfigError, match=message):
        parse_job_args([*argv, *extra])


def test_glue_console_arguments() -> None:
    # What Glue passes: our parameters plus its own, in any order.
    argv = [
        "script.py",
        "--JOB_ID", "j_123",
        "--job-bookmark-option", "job-bookmark-enable",
        "--S3_CSV_OUTPUT_PATH", "s3://bucket/transformed/",
        "--JOB_RUN_ID", "jr_456",
        "--TempDir", "s3://aws-glue-temporary/",
        "--enable-metrics", "true",
        "--JOB_NAME", "SegmentEventsJsonToCsv",
        "--S3_JSON_INPUT_PATH", "s3://bucket/segment-logs/",
        "--SUPPORTED_EVENTS", "Product Added, Order Completed",
    ]  # fmt: skip
    config = parse_job_args(argv)
    assert config.describe() == {
        "job_name": "SegmentEventsJsonToCsv",
        "input_path": "s3://bucket/segment-logs/",
        "output_path": "s3://bucket/transformed/",
        "report_path": "s3://bucket/transformed.report.json",
        "single_file": False,
        "supported_events": ["Product Added", "Order Completed"],
        "event_types": {"Product Added": "Product Added", "Order Completed": "Order Completed"},
        "item_id_field": "sku",
        "event_value_field": None,
        "bookmarks": True,
    }


def test_outside_glue_falls_back_to_plain_spark(spark: SparkSession) -> None:
    from awsglue.context import GlueContext

    with pytest.raises(TypeError, match="'JavaPackage' object is not callable"):
        GlueContext(spark.sparkContext)
    session, glue_context = start_spark("test")
    assert glue_context is None and session is spark


def test_spark_submit(segment_logs: Path, tmp_path: Path) -> None:
    """The Glue image's way: spark-submit the script with job parameters."""
    out = tmp_path / "submitted"
    completed = subprocess.run(
        [
            str(Path(sys.executable).parent / "spark-submit"),
            "--master",
            "local[1]",
            "--conf",
            "spark.ui.enabled=false",
            str(REPO / "jobs" / "segment_events_to_personalize.py"),
            "--JOB_NAME",
            "submitted",
            "--S3_JSON_INPUT_PATH",
            str(segment_logs),
            "--S3_CSV_OUTPUT_PATH",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable},
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert "output rows      4 in" in completed.stdout
    assert len(read_csv_files(out)[1]) == 4


def test_renamed_event_types_and_item_fallback(spark: SparkSession, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    write_gz(
        logs / "f.gz",
        [
            track(event="Product Viewed", properties={"product_id": "p-7", "sku": "s"}),
            track(event="Cart Viewed", properties={"products": [{"sku": "s-1"}, {"product_id": "p-2"}]}),
        ],
    )
    out = tmp_path / "o"
    args = ["--S3_JSON_INPUT_PATH", str(logs), "--S3_CSV_OUTPUT_PATH", str(out)]
    assert run_job(*args, "--SUPPORTED_EVENTS", "ecommerce", "--ITEM_ID_FIELD", "product_id,sku") == 0
    assert sorted(read_csv_files(out)[1]) == [
        ["2941404340", "p-2", "Checkout", "1551110105"],
        ["2941404340", "p-7", "View", "1551110105"],
        ["2941404340", "s-1", "Checkout", "1551110105"],
    ]


def test_event_value_column(spark: SparkSession, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    write_gz(
        logs / "f.gz",
        [
            track(properties={"sku": "s", "price": 1e7}),
            order([{"sku": "a", "price": "19.90"}, {"sku": "b", "price": "n/a"}], messageId="m1"),
        ],
    )
    out, report = tmp_path / "o", tmp_path / "r.json"
    args = [
        "--S3_JSON_INPUT_PATH",
        str(logs),
        "--S3_CSV_OUTPUT_PATH",
        str(out),
        "--RUN_REPORT_PATH",
        str(report),
    ]
    assert run_job(*args, "--EVENT_VALUE_FIELD", "price") == 0
    names = sorted(p.name for p in out.iterdir())
    rows = []
    for name in names:
        with open(out / name, newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            assert next(reader) == [*HEADER.split(","), "EVENT_VALUE"]
            rows.extend(reader)
    assert sorted(rows) == [
        ["2941404340", "a", "Order Completed", "1551110105", "19.9"],
        ["2941404340", "b", "Order Completed", "1551110105", ""],
        ["2941404340", "s", "Product Clicked", "1551110105", "10000000"],
    ]
    written = json.loads(report.read_text())
    assert written["rows_without_value"] == 1
    assert written["accounting"]["rows_match_written"] is True
    assert written["job"]["event_value_field"] == "price"
