"""SparkSession for runs outside Glue (laptop, tests, benchmarks)."""

from __future__ import annotations

from pyspark.sql import SparkSession


def local_spark_session(
    app_name: str = "segment-personalize", master: str = "local[*]", shuffle_partitions: int | None = None
) -> SparkSession:
    builder = (
        SparkSession.builder.appName(app_name)
        .master(master)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
    )
    if shuffle_partitions is not None:
        builder = builder.config("spark.sql.shuffle.partitions", str(shuffle_partitions))
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session
