"""The Glue entry script end to end on local files: arguments, output folder, CSV format, run report."""

from __future__ import annotations

import csv
import gzip
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from segment_personalize.job_config import ConfigError, parse_job_args
from segment_personalize.sample_data import write_segment_logs
from segment_personalize.spark import publish
from segment_personalize.spark.glue import start_spark

from tests.contract_cases import order, track
from tests.files import leftovers, snapshot, write_gz, write_truncated_gz
from tests.test_glue_source import FakeGlueContext

REPO = Path(__file__).resolve().parent.parent
JOB = REPO / "jobs" / "segment_events_to_personalize.py"
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


@pytest.fixture
def published(spark: SparkSession, tmp_path: Path) -> tuple[Path, Path, dict[str, bytes]]:
    """A good run's output folder and report, and their bytes."""
    logs = tmp_path / "good-logs"
    write_gz(logs / "f.gz", [track(messageId="m1"), track(user_id="u2", messageId="m2")])
    out = tmp_path / "o"
    report = tmp_path / "o.report.json"
    assert run_job("--S3_JSON_INPUT_PATH", str(logs), "--S3_CSV_OUTPUT_PATH", str(out)) == 0
    return out, report, snapshot(out, report)


def one_error_line(err: str) -> str:
    """The job's stderr holds one error line and no trace (Spark's WARNs at start-up aside)."""
    assert "Traceback" not in err and "\tat " not in err and "recordData" not in err, err[-3000:]
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, err[-3000:]
    assert not [line for line in err.splitlines() if " ERROR " in line], err[-3000:]
    return errors[0]


def test_no_data_files_exits_2_and_keeps_the_previous_output(published, tmp_path: Path, capfd) -> None:
    out, report, before = published
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "dummy-object.txt").write_text("")
    capfd.readouterr()
    assert run_job("--S3_JSON_INPUT_PATH", str(logs), "--S3_CSV_OUTPUT_PATH", str(out)) == 2
    assert one_error_line(capfd.readouterr().err).startswith(
        f"error: no data files (*.gz, *.json) under {logs}"
    )
    assert snapshot(out, report) == before and leftovers(out) == []


def test_zero_lines_exits_2_and_keeps_the_previous_output(published, tmp_path: Path, capfd) -> None:
    out, report, before = published
    logs = tmp_path / "logs"
    logs.mkdir()
    with gzip.open(logs / "empty.gz", "wb"):
        pass
    capfd.readouterr()
    assert run_job("--S3_JSON_INPUT_PATH", str(logs), "--S3_CSV_OUTPUT_PATH", str(out)) == 2
    line = one_error_line(capfd.readouterr().err)
    assert line.startswith(f"error: the data files under {logs} hold no lines")
    assert snapshot(out, report) == before and leftovers(out) == []


@pytest.mark.parametrize("damage", ["truncated", "not gzip"])
def test_an_unreadable_gz_is_one_line_naming_it(published, tmp_path: Path, capfd, damage: str) -> None:
    out, report, before = published
    logs = tmp_path / "logs"
    write_gz(logs / "a" / "fine.gz", [track(messageId=f"m{i}") for i in range(50)])
    bad = logs / "b" / "bad.gz"
    if damage == "truncated":
        write_truncated_gz(bad, [track(messageId=f"n{i}") for i in range(500)])
    else:
        bad.parent.mkdir(parents=True)
        bad.write_text(track(messageId="plain") + "\n")
    capfd.readouterr()
    assert run_job("--S3_JSON_INPUT_PATH", str(logs), "--S3_CSV_OUTPUT_PATH", str(out)) == 2
    line = one_error_line(capfd.readouterr().err)
    assert line.startswith(f"error: cannot read input file {bad.as_uri()}: "), line
    assert ("EOFException" if damage == "truncated" else "not a gzip file") in line
    assert snapshot(out, report) == before and leftovers(out) == []


def test_a_write_failure_is_one_line_without_row_data(published, tmp_path: Path) -> None:
    """A full disk, as a file size limit: Spark's error then carries the row being written."""
    out, report, before = published
    logs = tmp_path / "sample"
    write_segment_logs(logs, 20000)

    def limit_file_size() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG, as ENOSPC would, instead of a kill
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))

    completed = subprocess.run(
        [sys.executable, str(JOB), "--JOB_NAME", "full", "--S3_JSON_INPUT_PATH", str(logs),
         "--S3_CSV_OUTPUT_PATH", str(out), "--SINGLE_FILE", "true"],
        capture_output=True, text=True, timeout=600, preexec_fn=limit_file_size,
        env={**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable},
    )  # fmt: skip
    assert completed.returncode == 1, completed.stderr[-3000:]
    line = one_error_line(completed.stderr)
    # The CSV write, or a shuffle's spill before it (the identity stitching shuffles): either way the I/O
    # cause, on one line.
    assert line.startswith("error: Spark failed"), line
    assert "java.io.IOException: File too large; nothing was published" in line
    assert not re.search(r"\b29\d{8}\b", completed.stderr + completed.stdout)  # the sample's user ids
    assert snapshot(out, report) == before and leftovers(out) == []


def test_the_report_path_is_a_folder(spark: SparkSession, segment_logs: Path, tmp_path: Path, capfd) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    out = tmp_path / "o"
    args = ["--S3_JSON_INPUT_PATH", str(segment_logs), "--S3_CSV_OUTPUT_PATH", str(out)]
    assert run_job(*args, "--RUN_REPORT_PATH", str(folder)) == 2
    assert one_error_line(capfd.readouterr().err) == (
        f"error: the run report path {folder} is a folder; it must be a file"
    )
    assert not out.exists() and leftovers(out) == []


def test_the_output_path_is_a_file(spark: SparkSession, segment_logs: Path, tmp_path: Path, capfd) -> None:
    out = tmp_path / "o.csv"
    out.write_text("keep me\n")
    assert run_job("--S3_JSON_INPUT_PATH", str(segment_logs), "--S3_CSV_OUTPUT_PATH", str(out)) == 2
    assert (
        one_error_line(capfd.readouterr().err)
        == f"error: the output path {out} is a file; it must be a folder"
    )
    assert out.read_text() == "keep me\n"


def _read_only(folder: Path) -> list[str]:
    """A command prefix under which ``folder`` is read-only: chmod does not stop root, a mount does."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return []
    script = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" "$0" && exec "$@"'
    prefix = ["unshare", "-rm", "sh", "-c", script, str(folder)]
    if shutil.which("unshare") is None or subprocess.run([*prefix, "true"], capture_output=True).returncode:
        pytest.skip("no way to make a folder read-only for root here (unshare -rm not permitted)")
    return prefix


def test_a_read_only_output_folder(published, tmp_path: Path) -> None:
    out, report, before = published
    logs = tmp_path / "good-logs"
    prefix = _read_only(out)
    try:
        completed = subprocess.run(
            [*prefix, sys.executable, str(JOB), "--JOB_NAME", "ro", "--S3_JSON_INPUT_PATH", str(logs),
             "--S3_CSV_OUTPUT_PATH", str(out)],
            capture_output=True, text=True, timeout=600,
            env={**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable},
        )  # fmt: skip
    finally:
        out.chmod(0o755)
    assert completed.returncode == 2, completed.stderr[-3000:]
    assert one_error_line(completed.stderr) == f"error: the output folder {out} is not writable"
    assert snapshot(out, report) == before and leftovers(out) == []


@pytest.mark.parametrize(
    ("step", "message"),
    [
        (publish.STAGED, "error: publishing failed: OSError: injected; nothing was published"),
        (publish.OUTPUT_ASIDE, "error: publishing stopped half-way: OSError: injected; the new output is"),
    ],
)
def test_a_fault_while_publishing(published, segment_logs: Path, capfd, step: str, message: str) -> None:
    out, report, before = published

    def hook(at: str) -> None:
        if at == step:
            raise OSError("injected")

    capfd.readouterr()
    args = ["--S3_JSON_INPUT_PATH", str(segment_logs), "--S3_CSV_OUTPUT_PATH", str(out)]
    assert job.main(["job.py", "--JOB_NAME", "t", *args], publish_hook=hook) == 1
    assert one_error_line(capfd.readouterr().err).startswith(message)
    if step == publish.STAGED:
        assert snapshot(out, report) == before and leftovers(out) == []
    else:  # committed: no report until the next run finishes it
        assert report.name not in snapshot(out, report) and leftovers(out)
        assert run_job(*args) == 0
        assert len(read_csv_files(out)[1]) == 4 and leftovers(out) == []  # the multi-line user id is invalid


class FakeGlueJob:
    commits = 0

    def commit(self) -> None:
        self.commits += 1


def test_a_bookmarked_run_with_nothing_new(
    spark: SparkSession, published, monkeypatch: pytest.MonkeyPatch, capfd
) -> None:
    out, report, before = published
    glue = FakeGlueContext(spark, spark.createDataFrame([], "struct<>"))
    glue_job = FakeGlueJob()
    monkeypatch.setattr(job, "start_spark", lambda name: (spark, glue))
    monkeypatch.setattr(job, "start_job", lambda context, name, args: glue_job)
    capfd.readouterr()
    argv = ["--S3_JSON_INPUT_PATH", "s3://b/segment-logs/", "--S3_CSV_OUTPUT_PATH", str(out)]
    assert run_job(*argv, "--job-bookmark-option", "job-bookmark-enable") == 0
    captured = capfd.readouterr()
    assert "no new Segment files since the last run; nothing was published" in captured.out
    assert "error:" not in captured.err
    assert glue_job.commits == 1
    assert snapshot(out, report) == before and leftovers(out) == []


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
        "anonymous_events": "stitch",
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
