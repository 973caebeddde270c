"""Batch benchmark: the Glue job against the workshop's original approach and a scan floor, in one run.

    python bench/bench_batch.py --events 1000000

Three contenders on the same generated Segment data, in the same SparkSession, in --repeat rounds
(best time kept, and the median of the rounds' own job/floor ratios):
  * scan floor  -- read the lines, parse them with the job's read schema and reduce every leaf it
                   reads; writes nothing. No job that reads its input can beat this.
  * job         -- segment_personalize.pipeline.run: the real job, report and read-back check included.
  * workshop    -- a port of the workshop's glue_etl.py to plain Spark: inferred schema, a count, a
                   Python row filter, another count, repartition(1), fixed-pattern timestamp parse.
With --breakdown, also the job cut after each of its steps (each writing nothing, the last writing the
CSV without the read-back and report), to show where the time over the floor goes. Contenders run in
rounds (each once per round, every other round in reverse order) so that a machine whose speed drifts
slows all of them alike.
Prints wall times, events/s and the ratios the project promises (job <= 0.10 x workshop, <= 1.2 x floor).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from segment_personalize.job_config import JobConfig
from segment_personalize.pipeline import listed_files_source, run
from segment_personalize.rules import PRODUCTS_FIELD, MappingConfig
from segment_personalize.sample_data import write_segment_logs
from segment_personalize.spark.io import read_input, write_interactions
from segment_personalize.spark.schema import CORRUPT_RECORD, PROPERTIES_FIELD, SCALAR_FIELDS
from segment_personalize.spark.session import local_spark_session
from segment_personalize.spark.transform import classify, parse_event, transform

WORKSHOP_EVENTS = ["Product Added", "Order Completed", "Product Clicked"]


def _lines(spark: SparkSession, data: Path) -> DataFrame:
    return read_input(spark, str(data)).lines


def scan_floor(spark: SparkSession, data: Path, out: Path) -> int:
    config = MappingConfig()
    parsed = _lines(spark, data).select(parse_event(F.col("value"), config).alias("e"))
    e, item = F.col("e"), config.item_id_field
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


def job(spark: SparkSession, data: Path, out: Path) -> int:
    config = JobConfig(
        job_name="bench",
        input_path=str(data),
        output_path=str(out / "job"),
        report_path=str(out / "job.report.json"),
        single_file=False,
        mapping=MappingConfig(),
    )
    report = run(spark, config, listed_files_source)
    return int(report["input_lines"])


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
    _noop(_lines(spark, data).select(parse_event(F.col("value"), MappingConfig())))


def classified(spark: SparkSession, data: Path, out: Path) -> None:
    _noop(classify(_lines(spark, data), MappingConfig()))


def deduplicated(spark: SparkSession, data: Path, out: Path) -> None:
    _noop(transform(_lines(spark, data), MappingConfig()).interactions)


def written(spark: SparkSession, data: Path, out: Path) -> None:
    interactions = transform(_lines(spark, data), MappingConfig()).interactions
    write_interactions(interactions, str(out / "breakdown"), single_file=False)


Contender = Callable[[SparkSession, Path, Path], object]


def timed_rounds(contenders: dict[str, Contender], spark, data, out, repeat: int) -> dict[str, list[float]]:
    """Wall times of each contender, one run of every contender per round.

    This machine's speed drifts (up to 2x within minutes), so each round runs every contender, and
    every other round runs them in reverse order: a slow spell then hits all of them alike.
    """
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for attempt in range(repeat):
        order = list(contenders) if attempt % 2 == 0 else list(reversed(contenders))
        for name in order:
            start = time.perf_counter()
            contenders[name](spark, data, out)
            elapsed = time.perf_counter() - start
            times[name].append(elapsed)
            print(f"  round {attempt + 1}  {name:<28} {elapsed:7.1f} s", file=sys.stderr)
    return times


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
    args = parser.parse_args(argv)

    data = args.workdir / f"segment-logs-{args.events}"
    if not (data / "dummy-object.txt").exists():
        print(f"generating {args.events} Segment calls under {data} ...", file=sys.stderr)
        shutil.rmtree(data, ignore_errors=True)
        write_segment_logs(data, args.events)
    out = args.workdir / "out"
    spark = local_spark_session(app_name="bench", master="local[2]")
    size_mb = sum(p.stat().st_size for p in data.rglob("*.gz")) / 1e6

    job(spark, data, out)  # warm-up: JIT, file listing caches
    contenders: dict[str, Contender] = {"scan floor": scan_floor, "job": job}
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
    if "workshop" in best:
        print(f"job / workshop   = {best['job'] / best['workshop']:.3f} (goal <= 0.10)")


if __name__ == "__main__":
    main()
