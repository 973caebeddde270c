"""SparkSession for runs outside Glue (laptop, tests, benchmarks)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from pyspark import SparkConf
from pyspark.sql import SparkSession

# HotSpot does not JIT-compile a method of more than 8,000 bytes of bytecode, while Spark keeps a
# whole-stage-codegen stage up to 65,535: in between, the stage runs in the interpreter. Merging the
# job's two classification stages into one (9,907 bytes) made classifying twice as slow; at this limit
# Spark falls back to per-operator code instead, as its own docs advise on HotSpot. The job's stages
# stay below it (tests/test_transform.py pins that), so this only guards against a cliff.
HOTSPOT_HUGE_METHOD_BYTES = 8000  # HotSpot's HugeMethodLimit: no JIT for a longer method
JOB_SQL_CONF = {"spark.sql.codegen.hugeMethodLimit": str(HOTSPOT_HUGE_METHOD_BYTES)}


def local_spark_session(
    app_name: str = "segment-personalize",
    master: str | None = None,
    shuffle_partitions: int | None = None,
    extra_conf: Mapping[str, str] | None = None,
) -> SparkSession:
    """``master`` None keeps what spark-submit configured, and is local[*] under plain python."""
    builder = (
        SparkSession.builder.appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
    )
    for key, value in {**JOB_SQL_CONF, **(extra_conf or {})}.items():
        builder = builder.config(key, value)
    if master is not None:
        builder = builder.master(master)
    elif not SparkConf().contains("spark.master"):
        builder = builder.master("local[*]")
    # Spark's 200 default makes every map task of a laptop-sized run write 200 shuffle blocks; the
    # dedupe shuffle is the only one, and AQE still coalesces what is too small.
    partitions = shuffle_partitions or max(4, 2 * (os.cpu_count() or 2))
    builder = builder.config("spark.sql.shuffle.partitions", str(partitions))
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session
