"""SparkSession for runs outside Glue (laptop, tests, benchmarks)."""

from __future__ import annotations

from pyspark import SparkConf
from pyspark.sql import SparkSession


def local_spark_session(
    app_name: str = "segment-personalize", master: str | None = None, shuffle_partitions: int | None = None
) -> SparkSession:
    """``master`` None keeps what spark-submit configured, and is local[*] under plain python."""
    builder = (
        SparkSession.builder.appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
    )
    if master is not None:
        builder = builder.master(master)
    elif not SparkConf().contains("spark.master"):
        builder = builder.master("local[*]")
    if shuffle_partitions is not None:
        builder = builder.config("spark.sql.shuffle.partitions", str(shuffle_partitions))
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session
