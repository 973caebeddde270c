"""Input through GlueContext, so that job bookmarks apply: re-runs read only new Segment files.

Used only inside Glue with ``--job-bookmark-option job-bookmark-enable``; elsewhere the job lists and
reads files itself (spark/io.py). The read is a raw-line CSV read: a separator of U+0001 (which JSON
text never holds unescaped) and no quote character keep every line whole in one column, so the job sees
the same ``value`` lines as spark.read.text and maps them with the same expressions.
"""

from __future__ import annotations

from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql.types import StringType, StructField, StructType

TRANSFORMATION_CTX = "segment_events"
LINES_SCHEMA = StructType([StructField("value", StringType())])


def read_lines_bookmarked(glue_context: Any, input_path: str) -> DataFrame:
    frame = glue_context.create_dynamic_frame.from_options(
        connection_type="s3",
        connection_options={"paths": [input_path], "recurse": True, "exclusions": '["**dummy-object.txt"]'},
        format="csv",
        format_options={"separator": "\u0001", "quoteChar": -1, "withHeader": False},
        transformation_ctx=TRANSFORMATION_CTX,
    )
    lines = frame.toDF()
    if not lines.columns:  # nothing new since the last bookmark
        return glue_context.spark_session.createDataFrame([], LINES_SCHEMA)
    return lines.select(lines[lines.columns[0]].cast("string").alias("value"))
