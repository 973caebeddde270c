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

from segment_personalize.job_config import ConfigError, JobConfig, check_local_paths, parse_job_args
from segment_personalize.pipeline import NothingNew, RunFailed, listed_files_source, run
from segment_personalize.report import format_report
from segment_personalize.spark.faults import describe, quiet_task_errors
from segment_personalize.spark.glue import start_job, start_spark
from segment_personalize.spark.io import InputError
from segment_personalize.spark.publish import Hook

# Exit codes: 0 published (or nothing new under bookmarks), 1 the run failed, 2 bad input or parameters.
FAILED, BAD_INPUT = 1, 2


def _source(glue_context, config: JobConfig):
    if config.bookmarks and glue_context is not None:
        from segment_personalize.spark.glue_source import read_lines_bookmarked

        def bookmarked(spark, cfg):
            return read_lines_bookmarked(glue_context, cfg.input_path), {"bookmarked": True}

        return bookmarked
    return listed_files_source


def _error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


def main(argv: list[str], *, publish_hook: Hook | None = None) -> int:
    """Run the job; every fault ends in one line on stderr and an exit code, never a traceback.

    ``publish_hook`` (tests only) is called after each publish step, to inject faults and crashes.
    """
    try:
        config = parse_job_args(argv)
        check_local_paths(config)  # before Spark starts: local paths can be checked for free
    except ConfigError as error:
        _error(str(error))
        return BAD_INPUT
    job = None
    try:
        spark, glue_context = start_spark(config.job_name)
        quiet_task_errors(spark)
        job = start_job(glue_context, config.job_name, dict(config.raw_args))
        report = run(spark, config, _source(glue_context, config), hook=publish_hook)
    except NothingNew as nothing:
        print(nothing)
        if job is not None:
            job.commit()  # the bookmark moves past what it saw: nothing, or only empty files
        return 0
    except (ConfigError, InputError) as error:
        _error(str(error))
        return BAD_INPUT
    except RunFailed as error:
        if error.report is not None:
            print(format_report(error.report))
        _error(str(error))
        return FAILED
    except Exception as error:  # Spark, py4j, Glue: one line without row data, not the trace
        _error(describe(error).line())
        return FAILED
    print(format_report(report))
    print(f"published: {config.output_path} (run {report['run_id']})")
    print(f"run report: {config.report_path}")
    if job is not None:
        job.commit()
    return 0


if __name__ == "__main__":
    status = main(sys.argv)
    if status:
        sys.exit(status)
