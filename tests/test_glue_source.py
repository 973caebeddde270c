"""The bookmarked reader's contract with GlueContext (only runnable inside Glue; faked here)."""

from __future__ import annotations

from types import SimpleNamespace

from pyspark.sql import SparkSession
from segment_personalize.spark.glue_source import TRANSFORMATION_CTX, read_lines_bookmarked


class FakeGlueContext:
    def __init__(self, spark: SparkSession, frame) -> None:
        self.spark_session = spark
        self.calls: list[dict] = []

        def from_options(**kwargs):
            self.calls.append(kwargs)
            return SimpleNamespace(toDF=lambda: frame)

        self.create_dynamic_frame = SimpleNamespace(from_options=from_options)


def test_reads_raw_lines_with_a_transformation_ctx(spark: SparkSession) -> None:
    lines = ['{"type":"track","event":"Product Added"}', '{"a":"x,y"}']
    glue = FakeGlueContext(spark, spark.createDataFrame([(line,) for line in lines], "col0 string"))
    frame = read_lines_bookmarked(glue, "s3://bucket/segment-logs/")
    assert [r.value for r in frame.collect()] == lines and frame.columns == ["value"]
    (call,) = glue.calls
    assert call["transformation_ctx"] == TRANSFORMATION_CTX
    assert call["connection_options"]["paths"] == ["s3://bucket/segment-logs/"]
    assert call["connection_options"]["recurse"] is True
    assert call["format"] == "csv" and call["format_options"]["separator"] == "\u0001"


def test_nothing_new_since_the_bookmark_is_an_empty_frame(spark: SparkSession) -> None:
    glue = FakeGlueContext(spark, spark.createDataFrame([], "struct<>"))
    frame = read_lines_bookmarked(glue, "s3://bucket/segment-logs/")
    assert frame.columns == ["value"] and frame.count() == 0
