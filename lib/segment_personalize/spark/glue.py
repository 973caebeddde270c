"""Glue when we are in Glue, plain Spark elsewhere.

GlueContext and Job need the Glue JVM classes. The awsglue Python package imports fine anywhere, but
outside Glue (or the Glue image) constructing a GlueContext fails with
``'JavaPackage' object is not callable``: that is the signal to fall back to a plain SparkSession.
"""

from __future__ import annotations

from typing import Any

from pyspark import SparkConf, SparkContext
from pyspark.sql import SparkSession

from segment_personalize.spark.session import JOB_SQL_CONF, local_spark_session


def start_spark(app_name: str) -> tuple[SparkSession, Any | None]:
    """(session, glue_context or None)."""
    conf = SparkConf()
    if not conf.contains("spark.master"):  # plain `python job.py`: no spark-submit, no Glue
        return local_spark_session(app_name=app_name), None
    sc = SparkContext.getOrCreate(conf)
    try:
        from awsglue.context import GlueContext

        glue_context = GlueContext(sc)
    except (ImportError, TypeError):
        return local_spark_session(app_name=app_name), None
    session = glue_context.spark_session
    # Glue's session has Spark's defaults for its version (ANSI off in 5.1, on in 6.0) plus the job's
    # --conf: the job's SQL semantics are pinned here as on a laptop, so both Glue versions run the same.
    for key, value in JOB_SQL_CONF.items():
        session.conf.set(key, value)
    return session, glue_context


def start_job(glue_context: Any | None, job_name: str, args: dict[str, str]) -> Any | None:
    """Glue's Job (bookmarks, run tracking) when in Glue; None elsewhere."""
    if glue_context is None:
        return None
    from awsglue.job import Job

    job = Job(glue_context)
    job.init(job_name, args)
    return job
