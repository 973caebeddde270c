"""One run of the job: list and read the input, transform, write CSV, check it, write the report.

I/O stays here and in spark/io.py; the transform itself is pure (segment_personalize.spark.transform).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from segment_personalize.job_config import JobConfig
from segment_personalize.report import build_report
from segment_personalize.spark.io import (
    read_input,
    read_interactions,
    write_interactions,
    write_text,
)
from segment_personalize.spark.stats import interaction_stats
from segment_personalize.spark.transform import transform

# Returns the lines to map and what the report should say about input files.
LineSource = Callable[[SparkSession, JobConfig], tuple[DataFrame, dict[str, Any]]]

SKIPPED_EXAMPLES = 5


def listed_files_source(spark: SparkSession, config: JobConfig) -> tuple[DataFrame, dict[str, Any]]:
    found = read_input(spark, config.input_path)
    files = {
        "data_files": len(found.data_files),
        "skipped_files": len(found.skipped_files),
        "skipped_examples": list(found.skipped_files[:SKIPPED_EXAMPLES]),
    }
    return found.lines, files


def run(spark: SparkSession, config: JobConfig, source: LineSource = listed_files_source) -> dict[str, Any]:
    lines, files = source(spark, config)
    result = transform(lines, config.mapping)
    written = write_interactions(result.interactions, config.output_path, config.single_file)
    # Only after the write succeeded: an Observation whose action failed would wait forever.
    line_counts, dedupe_counts = result.line_counts.get, result.dedupe_counts.get
    output = interaction_stats(read_interactions(spark, config.output_path, config.mapping.csv_header))
    report = build_report(
        job=config.describe(),
        files=files,
        line_counts=line_counts,
        dedupe_counts=dedupe_counts,
        output={**output, "files": written},
    )
    write_text(spark, config.report_path, json.dumps(report, indent=2, sort_keys=False) + "\n")
    return report
