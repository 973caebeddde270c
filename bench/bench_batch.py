"""Batch benchmark: the Glue job against the workshop's original approach and a scan floor, in one run.

    python bench/bench_batch.py --events 1000000

Three contenders on the same generated Segment data, in the same SparkSession, in --repeat rounds
(best time kept, and the median of the rounds' own job/floor ratios):
  * scan floor  -- read the lines, parse them with the job's read schema and reduce every leaf it
                   reads; writes nothing. No job that reads its input can beat this.
  * job         -- segment_personalize.pipeline.run: the real job, report and read-back check included,
                   under --ANONYMOUS_EVENTS drop (anonymous calls dropped: the job as it was before
                   identity stitching, the baseline the issues compare with).
  * job stitch  -- the same job under the default, --ANONYMOUS_EVENTS stitch: the cost of stitching.
  * job stitch + users/items -- the default job also writing the Users and Items datasets
                   (METADATA_ARGS, as make run does): their cost, against job stitch in the same round.
  * workshop    -- a port of the workshop's glue_etl.py to plain Spark: inferred schema, a count, a
                   Python row filter, another count, repartition(1), fixed-pattern timestamp parse.
With --phases, Spark's event log splits each run's own wall time into the scan stage (the first stage:
list, read, parse and, for the job, classify and pre-sort for the de-duplication), the later stages
(the job's de-duplication + CSV write, its read-back check) and the driver's time outside any stage
(planning, the write's setup and commit, scheduling); it is read from the same runs as the totals, so
it needs no extra runs and drifts with them. With --breakdown, also the job cut after each of its steps
(each writing nothing, the last writing the CSV without the read-back and report). Contenders run in
rounds (each once per round, every other round in reverse order) so that a machine whose speed drifts
slows all of them alike.
Prints wall times, events/s and the ratios the project promises (job <= 0.10 x workshop, <= 1.2 x floor).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from segment_personalize.dataset_config import NO_METADATA, DatasetsConfig
from segment_personalize.job_config import JobConfig
from segment_personalize.pipeline import listed_files_source, run
from segment_personalize.rules import PRODUCTS_FIELD, MappingConfig
from segment_personalize.sample_data import write_segment_logs
from segment_personalize.spark.io import read_input, write_interactions
from segment_personalize.spark.parse import parse_event
from segment_personalize.spark.schema import CORRUPT_RECORD, PROPERTIES_FIELD, SCALAR_FIELDS
from segment_personalize.spark.session import local_spark_session
from segment_personalize.spark.transform import classify, transform

WORKSHOP_EVENTS = ["Product Added", "Order Completed", "Product Clicked"]


def _lines(spark: SparkSession, data: Path) -> DataFrame:
    return read_input(spark, str(data)).lines


# Today's job (identity as the workshop had it: no stitching), the baseline the floor is read with.
DROP = MappingConfig(anonymous_events="drop")


def scan_floor(spark: SparkSession, data: Path, out: Path) -> int:
    config = DROP
    parsed = _lines(spark, data).select(parse_event(F.col("value"), config).alias("e"))
    e, item = F.col("e"), config.item_id_fields[0]
    products = e[PROPERTIES_FIELD][PRODUCTS_FIELD]
    # Every leaf of the job's read schema, each reduced by the cheapest aggregate that reads it.
    leaves = [e[name] for name in (*SCALAR_FIELDS, CORRUPT_RECORD)] + [
        e[PROPERTIES_FIELD][item],
        F.size(products),
        F.array_max(F.transform(products, lambda p: p[item])),
    ]
    reduced = parsed.agg(F.count(F.lit(1)), *(F.max(leaf) for leaf in leaves)).first()
    assert reduced is not None
    return int(reduced[0])


# The Users and Items columns of make run's sample (Makefile SAMPLE_JOB_ARGS).
USER_TRAITS, ITEM_PROPERTIES = (
    "plan,country,lifetime_value:float,interests",
    "category,brand,name,price:float",
)


def _job(spark: SparkSession, data: Path, out: Path, mapping: MappingConfig, metadata: bool = False) -> int:
    datasets = (
        DatasetsConfig.from_settings(mapping, USER_TRAITS, ITEM_PROPERTIES) if metadata else NO_METADATA
    )
    config = JobConfig(
        job_name="bench",
        input_path=str(data),
        output_path=str(out / "job" / "interactions"),
        report_path=str(out / "job" / "interactions.report.json"),
        single_file=False,
        mapping=mapping,
        datasets=datasets,
        users_output_path=str(out / "job" / "users") if metadata else "",
        items_output_path=str(out / "job" / "items") if metadata else "",
    )
    report = run(spark, config, listed_files_source, notes=lambda _: None)
    return int(report["input_lines"])


def job(spark: SparkSession, data: Path, out: Path) -> int:
    """The job under --ANONYMOUS_EVENTS drop: anonymous calls dropped, as before stitching existed."""
    return _job(spark, data, out, DROP)


def job_stitch(spark: SparkSession, data: Path, out: Path) -> int:
    """The job's default: anonymous calls stitched to their users (one more shuffle, spark/identity.py)."""
    return _job(spark, data, out, MappingConfig(anonymous_events="stitch"))


def job_metadata(spark: SparkSession, data: Path, out: Path) -> int:
    """The default job writing the Users and Items datasets too (one read, the shared rows persisted)."""
    return _job(spark, data, out, MappingConfig(anonymous_events="stitch"), metadata=True)


def _workshop_filter(row) -> bool:
    # The workshop's filter_function, verbatim in spirit: key presence and the event list.
    record = row.asDict(recursive=True)
    return (
        "anonymousId" in record
        and record.get("userId") is not None
        and record.get("properties") is not None
        and record["properties"].get("sku") is not None
        and record.get("event") in WORKSHOP_EVENTS
    )


def workshop(spark: SparkSession, data: Path, out: Path) -> int:
    # On Spark 3 the workshop's fixed .SSS'Z' pattern fails the whole job at the first timestamp with
    # another number of fraction digits (SparkUpgradeException); the legacy parser is the usual "fix".
    spark.conf.set("spark.sql.legacy.timeParserPolicy", "LEGACY")
    raw = spark.read.json(str(data / "*" / "*" / "*.gz"))  # schema inferred: one full pass on its own
    total = raw.count()
    print(f"    workshop: input record count {total}", file=sys.stderr)
    interactions = spark.createDataFrame(raw.rdd.filter(_workshop_filter), raw.schema)
    print(f"    workshop: filtered record count {interactions.count()}", file=sys.stderr)
    mapped = interactions.select(
        F.col("anonymousId").alias("ANONYMOUS_ID"),
        F.col("userId").cast("string").alias("USER_ID"),
        F.col("properties.sku").cast("string").alias("ITEM_ID"),
        F.col("event").alias("EVENT_TYPE"),
        F.col("timestamp").alias("TIMESTAMP_ISO"),
    ).repartition(1)
    mapped = mapped.withColumn("TIMESTAMP", F.unix_timestamp("TIMESTAMP_ISO", "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"))
    mapped.write.mode("overwrite").option("header", "true").csv(str(out / "workshop"))
    spark.conf.unset("spark.sql.legacy.timeParserPolicy")
    return total


def _noop(frame: DataFrame) -> None:
    frame.write.format("noop").mode("overwrite").save()


# --breakdown: the job cut after each step, to show where its time over the floor goes.
def parse_only(spark: SparkSession, data: Path, out: Path) -> None:
    _noop(_lines(spark, data).select(parse_event(F.col("value"), DROP)))


def classified(spark: SparkSession, data: Path, out: Path) -> None:
    _noop(classify(_lines(spark, data), DROP))


def deduplicated(spark: SparkSession, data: Path, out: Path) -> None:
    _noop(transform(_lines(spark, data), DROP).interactions)


def written(spark: SparkSession, data: Path, out: Path) -> None:
    interactions = transform(_lines(spark, data), DROP).interactions
    write_interactions(interactions, str(out / "breakdown"), single_file=False)


Contender = Callable[[SparkSession, Path, Path], object]
Interval = tuple[float, float]  # a stage's submission and completion, epoch ms

PHASES = ("driver, outside any stage", "scan stage", "later stages")


def _run_group(name: str, attempt: int) -> str:
    return f"{name}|{attempt}"


def timed_rounds(contenders: dict[str, Contender], spark, data, out, repeat: int) -> dict[str, list[float]]:
    """Wall times of each contender, one run of every contender per round.

    This machine's speed drifts (up to 2x within minutes), so each round runs every contender, and
    every other round runs them in reverse order: a slow spell then hits all of them alike. Each run is
    its own Spark job group, so that the event log can tell its stages apart (--phases).
    """
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for attempt in range(repeat):
        order = list(contenders) if attempt % 2 == 0 else list(reversed(contenders))
        for name in order:
            spark.sparkContext.setJobGroup(_run_group(name, attempt), name)
            start = time.perf_counter()
            contenders[name](spark, data, out)
            elapsed = time.perf_counter() - start
            times[name].append(elapsed)
            print(f"  round {attempt + 1}  {name:<28} {elapsed:7.1f} s", file=sys.stderr)
    return times


def stage_intervals(event_log: Path) -> dict[str, list[Interval]]:
    """When each stage that ran was submitted and completed, by job group, from a Spark event log."""
    group_of_stage: dict[int, str | None] = {}
    intervals: dict[str, list[Interval]] = defaultdict(list)
    with event_log.open() as lines:
        for line in lines:
            event = json.loads(line)
            if event["Event"] == "SparkListenerJobStart":
                group = event.get("Properties", {}).get("spark.jobGroup.id")
                for stage in event["Stage Infos"]:
                    group_of_stage[stage["Stage ID"]] = group
            elif event["Event"] == "SparkListenerStageCompleted":
                info = event["Stage Info"]
                group = group_of_stage.get(info["Stage ID"])
                if group and "Submission Time" in info:  # a skipped stage has none
                    intervals[group].append((info["Submission Time"], info["Completion Time"]))
    return intervals


def _covered_ms(intervals: list[Interval]) -> float:
    covered, end = 0.0, float("-inf")
    for start, stop in sorted(intervals):
        covered += max(0.0, stop - max(start, end))
        end = max(end, stop)
    return covered


def phases(wall_s: float, intervals: list[Interval]) -> dict[str, float]:
    """A run's wall time split into PHASES, in seconds: the first stage is the scan stage."""
    busy = _covered_ms(intervals) / 1000
    first_start, first_end = min(intervals, default=(0.0, 0.0))
    scan = (first_end - first_start) / 1000
    return dict(zip(PHASES, (wall_s - busy, scan, busy - scan), strict=True))


def print_phases(times: dict[str, list[float]], intervals: dict[str, list[Interval]]) -> None:
    medians: dict[str, dict[str, float]] = {}
    for name, walls in times.items():
        runs = [phases(wall, intervals[_run_group(name, attempt)]) for attempt, wall in enumerate(walls)]
        medians[name] = {"wall": statistics.median(walls)}
        medians[name] |= {phase: statistics.median(run[phase] for run in runs) for phase in PHASES}
    if {"job", "scan floor"} <= medians.keys():
        floor, job = medians["scan floor"], medians["job"]
        medians["job - scan floor"] = {key: job[key] - floor[key] for key in job}
    columns = ("wall", *PHASES)
    print("\nWhere each run's wall time goes (s, median of the rounds; Spark's event log of the same runs)")
    print("| contender | " + " | ".join(columns) + " |\n|---|" + "---:|" * len(columns))
    for name, split in medians.items():
        print(f"| {name} | " + " | ".join(f"{split[key]:.2f}" for key in columns) + " |")


def bench_data(workdir: Path, events: int) -> Path:
    """The generated Segment logs the benchmarks share, made once per size."""
    data = workdir / f"segment-logs-{events}"
    if not (data / "dummy-object.txt").exists():
        print(f"generating {events} Segment calls under {data} ...", file=sys.stderr)
        shutil.rmtree(data, ignore_errors=True)
        write_segment_logs(data, events)
    return data


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the best run of each is reported")
    parser.add_argument("--workdir", type=Path, default=Path("build/bench"))
    parser.add_argument("--skip-workshop", action="store_true", help="leave out the slow workshop port")
    parser.add_argument(
        "--breakdown", action="store_true", help="also time the job cut after each of its steps"
    )
    parser.add_argument(
        "--phases", action="store_true", help="split each run's time into driver, scan stage, later stages"
    )
    args = parser.parse_args(argv)

    data = bench_data(args.workdir, args.events)
    out = args.workdir / "out"
    event_logs = (args.workdir / "eventlog").resolve()
    extra_conf = {}
    if args.phases:
        shutil.rmtree(event_logs, ignore_errors=True)
        event_logs.mkdir(parents=True)
        extra_conf = {"spark.eventLog.enabled": "true", "spark.eventLog.dir": event_logs.as_uri()}
    spark = local_spark_session(app_name="bench", master="local[2]", extra_conf=extra_conf)
    size_mb = sum(p.stat().st_size for p in data.rglob("*.gz")) / 1e6

    job(spark, data, out)  # warm-up: JIT, file listing caches
    job_stitch(spark, data, out)
    contenders: dict[str, Contender] = {
        "scan floor": scan_floor,
        "job": job,
        "job stitch": job_stitch,
        "job stitch + users/items": job_metadata,
    }
    if args.breakdown:
        contenders |= {
            "job to the parse only": parse_only,
            "job to classify": classified,
            "job to de-duplicate + explode": deduplicated,
            "job to the CSV write": written,
        }
    times = timed_rounds(contenders, spark, data, out, args.repeat)
    if not args.skip_workshop:
        times |= timed_rounds({"workshop": workshop}, spark, data, out, 1)
    spark.stop()

    best = {name: min(runs) for name, runs in times.items()}
    # The same round's job and floor ran next to each other: their ratio is the least drift-prone.
    paired = statistics.median(j / f for j, f in zip(times["job"], times["scan floor"], strict=True))
    print(f"\n{args.events:,} Segment calls, {size_mb:.0f} MB gzipped, local[2], best of {args.repeat}")
    print("| contender | wall time (s) | events/s |\n|---|---:|---:|")
    for name, seconds in best.items():
        print(f"| {name} | {seconds:.1f} | {args.events / seconds:,.0f} |")
    print(f"\njob / scan floor = {best['job'] / best['scan floor']:.2f} (best of each; goal <= 1.20)")
    print(f"job / scan floor = {paired:.2f} (median of the {args.repeat} rounds' own ratios)")
    for name in contenders:
        if name.startswith("job "):
            own = statistics.median(j / f for j, f in zip(times[name], times["scan floor"], strict=True))
            print(f"{name} / scan floor = {own:.2f} (median of the rounds' own ratios)")
    metadata = statistics.median(
        m / j for m, j in zip(times["job stitch + users/items"], times["job stitch"], strict=True)
    )
    print(f"job stitch + users/items / job stitch = {metadata:.2f} (median of the rounds' own ratios)")
    if "workshop" in best:
        print(f"job / workshop   = {best['job'] / best['workshop']:.3f} (goal <= 0.10)")
    if args.phases:
        (event_log,) = event_logs.iterdir()
        print_phases({name: times[name] for name in contenders}, stage_intervals(event_log))


if __name__ == "__main__":
    main()
