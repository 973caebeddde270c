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

# The SQL semantics the job's expressions are written for, pinned so that Glue 5.1 (Spark 3.5.6) and
# Glue 6.0 (Spark 4.1.1) run the same ones whatever their defaults; docs/glue-versions.md has the audit
# and tests/test_spark_versions.py pins each one on both versions.
SEMANTICS_SQL_CONF = {
    # Off by default in Spark 3.5, on in Spark 4. On for both: a cast or arithmetic the job did not guard
    # then fails the run with one error instead of turning into a null, which would silently drop or
    # miscount lines. The expressions are written for it (try_cast; a cast only where a regex checked
    # the text first).
    "spark.sql.ansi.enabled": "true",
    # size(null) is -1 in Spark 3.5 without ANSI and null under ANSI: null, whatever ANSI says.
    "spark.sql.legacy.sizeOfNull": "false",
    # Spark 4's JSON data source reads a non-string token into a string column as written (1e3); Spark
    # 3.5, and from_json on both, re-render it (1000.0), which is what rules.py's rules are phrased on.
    # Spark 3.5 does not know the key and ignores it.
    "spark.sql.json.enableExactStringParsing": "false",
    # transform.sql_string escapes for the parser's reading of backslashes in string literals.
    "spark.sql.parser.escapedStringLiterals": "false",
}
# The run report's counts ride on Observations (spark/transform.py). When a shuffle stage turns out empty
# (no line kept, no anonymous event), adaptive execution swaps the rest of the plan for an empty
# relation, the Observations in it included, and their counts never arrive (Spark 4 fails the read of
# them, Spark 3.5 waits for ever). An empty stage costs nothing to run, so the swap is turned off.
AQE_EXCLUDED_RULES = "org.apache.spark.sql.execution.adaptive.AQEPropagateEmptyRelation"
JOB_SQL_CONF = {
    "spark.sql.codegen.hugeMethodLimit": str(HOTSPOT_HUGE_METHOD_BYTES),
    "spark.sql.adaptive.optimizer.excludedRules": AQE_EXCLUDED_RULES,
    **SEMANTICS_SQL_CONF,
}


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
