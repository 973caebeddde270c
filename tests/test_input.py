"""Which input files the job reads, which it reports as skipped, and what listing them costs."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from segment_personalize.spark.io import InputError, read_input

from tests.files import write_gz


def test_data_files_recursively_and_the_rest_skipped(spark: SparkSession, tmp_path: Path) -> None:
    root = tmp_path / "segment-logs"
    write_gz(root / "src" / "1551052800000" / "a.gz", ["a1", "a2"])
    write_gz(root / "src" / "1551139200000" / "deeper" / "b.gz", ["b1"])
    (root / "src" / "c.json").write_text("c1\n")
    (root / "dummy-object.txt").write_text("")
    (root / "src" / "notes.gz.txt").write_text("not data\n")
    # Hadoop bookkeeping: neither read nor reported.
    write_gz(root / "src" / "_tmp.gz", ["hidden"])
    (root / "src" / ".a.gz.crc").write_bytes(b"crc")

    found = read_input(spark, str(root))

    assert [Path(f.removeprefix("file:")).relative_to(root).as_posix() for f in found.data_files] == [
        "src/1551052800000/a.gz",
        "src/1551139200000/deeper/b.gz",
        "src/c.json",
    ]
    skipped = [Path(f.removeprefix("file:")).name for f in found.skipped_files]
    assert skipped == ["dummy-object.txt", "notes.gz.txt"]
    assert sorted(r.value for r in found.lines.collect()) == ["a1", "a2", "b1", "c1"]


def test_a_single_file_path(spark: SparkSession, tmp_path: Path) -> None:
    data, other = tmp_path / "one.gz", tmp_path / "dummy-object.txt"
    write_gz(data, ["x"])
    other.write_text("")
    found = read_input(spark, str(data))
    assert (found.data_files, found.skipped_files) == ((str(data),), ())
    assert [r.value for r in found.lines.collect()] == ["x"]
    skipped = read_input(spark, str(other))
    assert (skipped.data_files, skipped.skipped_files, skipped.lines.count()) == ((), (str(other),), 0)


def test_a_folder_without_data_files_reads_no_line(spark: SparkSession, tmp_path: Path) -> None:
    (tmp_path / "dummy-object.txt").write_text("")
    found = read_input(spark, str(tmp_path))
    assert (found.data_files, len(found.skipped_files), found.lines.count()) == ((), 1, 0)


def test_missing_path(spark: SparkSession, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="input path does not exist"):
        read_input(spark, str(tmp_path / "nope"))


def test_many_files_are_listed_without_a_spark_job(spark: SparkSession, tmp_path: Path) -> None:
    # Handed more than 32 paths, Spark lists them with a job of one task per path: over a second for
    # a few hundred files. (Past 32 folders in one folder it does so too, a task per folder.)
    for hour in range(40):
        write_gz(tmp_path / "src" / f"day-{hour % 2}" / f"{hour}.gz", [f"line {hour}"])
    tracker = spark.sparkContext.statusTracker()
    spark.sparkContext.setJobGroup("listing-40-files", "read_input only")
    try:
        found = read_input(spark, str(tmp_path))
    finally:
        spark.sparkContext.setLocalProperty("spark.jobGroup.id", None)
    assert len(found.data_files) == 40
    assert tracker.getJobIdsForGroup("listing-40-files") == []
