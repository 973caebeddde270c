"""AWS Glue job: raw Segment events (S3 destination export) -> Amazon Personalize interactions CSV.

The same file runs in three places:
  * AWS Glue 6.0 (Spark 4.1) or 5.1 (Spark 3.5), same semantics on both (docs/glue-versions.md): job
    parameters --S3_JSON_INPUT_PATH, --S3_CSV_OUTPUT_PATH (+ optional ones, see README), with lib/
    shipped as --extra-py-files segment_personalize.zip;
  * the Glue docker image: spark-submit jobs/segment_events_to_personalize.py --JOB_NAME ... ;
  * a laptop: python jobs/segment_events_to_personalize.py --JOB_NAME ... (pip-installed pyspark).
All logic lives in the segment_personalize package; this script only wires the edges.
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import segment_personalize  # noqa: F401  (installed, or shipped via --extra-py-files)
except ImportError:  # a checkout, e.g. the repo mounted into the Glue image
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lib"))

from segment_personalize.job_config import ConfigError, JobConfig, parse_job_args
from segment_personalize.pipeline import listed_files_source, run
from segment_personalize.report import format_report
from segment_personalize.spark.glue import start_job, start_spark
from segment_personalize.spark.io import InputError


def _source(glue_context, config: JobConfig):
    if config.bookmarks and glue_context is not None:
        from segment_personalize.spark.glue_source import read_lines_bookmarked

        def bookmarked(spark, cfg):
            return read_lines_bookmarked(glue_context, cfg.input_path), {"bookmarked": True}

        return bookmarked
    return listed_files_source


def main(argv: list[str]) -> int:
    try:
        config = parse_job_args(argv)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    spark, glue_context = start_spark(config.job_name)
    job = start_job(glue_context, config.job_name, dict(config.raw_args))
    try:
        report = run(spark, config, _source(glue_context, config))
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(format_report(report))
    print(f"run report: {config.report_path}")
    if not all(report["accounting"].values()):
        print("error: input lines and output rows do not add up; see the run report", file=sys.stderr)
        return 1
    if job is not None:
        job.commit()
    return 0


if __name__ == "__main__":
    status = main(sys.argv)
    if status:
        sys.exit(status)
