"""One run of the job: read the input, transform, stage the CSV, check it, publish it and its report.

I/O stays here and in spark/io.py and spark/publish.py; the transform itself is pure
(segment_personalize.spark.transform). The previous output is replaced only by a complete, checked run:
anything that fails before publishing leaves it and its report as they were.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from segment_personalize.items import ITEMS_HEADER
from segment_personalize.job_config import JobConfig
from segment_personalize.report import build_report
from segment_personalize.spark.faults import describe
from segment_personalize.spark.io import (
    DATA_SUFFIXES,
    InputError,
    find_unreadable_gzip,
    read_input,
    read_interactions,
    read_metadata,
    write_interactions,
)
from segment_personalize.spark.publish import INTERACTIONS, Hook, Publisher, PublishError, Staging
from segment_personalize.spark.stats import interaction_stats, metadata_stats
from segment_personalize.spark.transform import Transformed, transform
from segment_personalize.users import USERS_HEADER

# Returns the lines to map and what the report should say about input files.
LineSource = Callable[[SparkSession, JobConfig], tuple[DataFrame, dict[str, Any]]]

SKIPPED_EXAMPLES = 5
# Each metadata dataset's (id header, columns).
METADATA_COLUMNS = {
    "users": lambda datasets: (USERS_HEADER, datasets.user_traits),
    "items": lambda datasets: (ITEMS_HEADER, datasets.item_properties),
}
UNCHANGED = "nothing was published; the previous output and its report are unchanged"


class NothingNew(Exception):  # not an error: a bookmarked run with no new input
    """A bookmarked run found no new lines since the last run."""


class RunFailed(Exception):
    """The run failed; the message is one line for the person running the job, without row data."""

    def __init__(self, message: str, report: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.report = report


def listed_files_source(spark: SparkSession, config: JobConfig) -> tuple[DataFrame, dict[str, Any]]:
    found = read_input(spark, config.input_path)
    if not found.data_files:
        suffixes = ", ".join("*" + s for s in DATA_SUFFIXES)
        raise InputError(f"no data files ({suffixes}) under {config.input_path}; {UNCHANGED}")
    files = {
        "data_files": len(found.data_files),
        "skipped_files": len(found.skipped_files),
        "skipped_examples": list(found.skipped_files[:SKIPPED_EXAMPLES]),
    }
    return found.lines, files


def run(
    spark: SparkSession,
    config: JobConfig,
    source: LineSource = listed_files_source,
    *,
    strategy: str | None = None,
    hook: Hook | None = None,
    notes: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Publish one run and return its report; raises InputError (bad input), NothingNew, RunFailed."""
    schema_files = config.schema_files()
    publisher = Publisher(
        spark,
        config.output_path,
        config.report_path,
        datasets={name: path for name, path in config.outputs().items() if name != INTERACTIONS},
        files=tuple(schema_files),
        strategy=strategy,
        hook=hook,
    )
    publisher.preflight()
    try:
        for note in publisher.recover():
            notes(note)
    except Exception as error:
        raise RunFailed(f"could not clean up after an earlier run: {_summary(error)}") from None
    lines, files = source(spark, config)
    staging = publisher.stage()
    try:
        report = _stage(spark, config, lines, files, publisher, staging)
    except Exception:
        publisher.discard(staging)
        raise
    try:
        publisher.publish(staging, json.dumps(report, indent=2, sort_keys=False) + "\n", schema_files)
    except PublishError as error:
        if not error.committed:
            raise RunFailed(f"publishing failed: {error}; {UNCHANGED}") from None
        raise RunFailed(
            f"publishing stopped half-way: {error}; the new output is complete in {staging.root}: "
            "run the job again to finish publishing it"
        ) from None
    return report


def _stage(
    spark: SparkSession,
    config: JobConfig,
    lines: DataFrame,
    files: dict[str, Any],
    publisher: Publisher,
    staging: Staging,
) -> dict[str, Any]:
    """Write and check the run in its staging folder; returns the report of what is staged."""
    result = transform(lines, config.mapping, config.datasets)
    try:
        return _stage_datasets(spark, config, files, publisher, staging, result)
    finally:
        result.release()


def _stage_datasets(
    spark: SparkSession,
    config: JobConfig,
    files: dict[str, Any],
    publisher: Publisher,
    staging: Staging,
    result: Transformed,
) -> dict[str, Any]:
    try:
        written = write_interactions(result.interactions, staging.data, config.single_file)
        # The first write read the input and kept what these need: they read only that.
        metadata_written = {
            name: write_interactions(output.frame, staging.data_for(name), config.single_file, f"{name}.csv")
            for name, output in result.metadata().items()
        }
    except Exception as error:
        raise _write_failure(spark, config, error) from None
    # Only after the write succeeded: an Observation whose action failed would wait forever.
    line_counts, dedupe_counts = result.counts()
    if not int(line_counts.get("input_lines", 0)):
        if files.get("bookmarked"):
            raise NothingNew("no new Segment files since the last run; nothing was published")
        raise InputError(f"the data files under {config.input_path} hold no lines; {UNCHANGED}")
    try:
        interactions = read_interactions(spark, staging.data, config.mapping.csv_header)
        output = interaction_stats(interactions)
        sections = {}
        for name, written_files in metadata_written.items():
            header, columns = METADATA_COLUMNS[name](config.datasets)
            frame = read_metadata(spark, staging.data_for(name), (header, *(c.name for c in columns)))
            section = metadata_stats(interactions, frame, columns, result.metadata()[name].counts())
            sections[name] = {
                "output_path": config.outputs()[name],
                **section,
                "files": publisher.final_paths(staging, written_files, name),
            }
    except Exception as error:
        raise RunFailed(f"reading the staged output back failed: {_summary(error)}; {UNCHANGED}") from None
    report = build_report(
        job=config.describe(),
        files=files,
        line_counts=line_counts,
        dedupe_counts=dedupe_counts,
        output={**output, "files": publisher.final_paths(staging, written)},
    )
    for name, section in sections.items():
        report[name] = section
        report["accounting"][f"{name}_rows_match_written"] = section["rows"] == section["rows_written"]
        report["accounting"][f"{name}_ids_present"] = section["rows_without_id"] == 0
    report["schema_files"] = sorted(config.schema_files())
    report["run_id"] = staging.run_id
    if not all(report["accounting"].values()):
        message = f"input lines and output rows do not add up (see the counts above); {UNCHANGED}"
        raise RunFailed(message, report)
    return report


def _write_failure(spark: SparkSession, config: JobConfig, error: Exception) -> Exception:
    """The staged write failed: an unreadable input file (named) is bad input; anything else a failed run."""
    fault = describe(error)
    if fault.read_file is not None:
        return InputError(f"cannot read input file {fault.read_file}: {fault.cause}; {UNCHANGED}")
    if fault.unreadable_gzip:
        try:
            unreadable = find_unreadable_gzip(spark, config.input_path)
        except Exception:
            unreadable = None
        if unreadable is not None:
            return InputError(f"cannot read input file {unreadable}: {fault.cause}; {UNCHANGED}")
    return RunFailed(f"{fault.line()}; {UNCHANGED}")


def _summary(error: Exception) -> str:
    return str(error) if isinstance(error, PublishError) else describe(error).line()
