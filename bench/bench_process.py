"""Whole-process benchmark: the job as Glue starts it (a fresh JVM per run), on both Glue versions.

    python bench/bench_process.py --events 1000000 --repeat 3

A Glue run is a new driver JVM: start-up, class loading and a cold JIT are part of what a user waits
for, and bench_batch.py (one warm SparkSession) hides them. Here every run is its own
``spark-submit --master local[2]`` of the real entry script, from each Glue version's virtualenv
(``.venv/glue-<version>``, made by ``make setup GLUE_VERSION=<version>``), on the same generated data:
  * floor -- a fresh process that lists, reads and parses the input with the job's read schema and
             reduces every leaf it reads (bench_batch.scan_floor), writing nothing;
  * job drop   -- ``spark-submit jobs/segment_events_to_personalize.py --ANONYMOUS_EVENTS drop``: the job
                  without identity stitching, as it was before it;
  * job stitch -- the same with the default, ``--ANONYMOUS_EVENTS stitch``: what stitching costs.
With ``--baseline REV``, also ``job before``: the job of git revision REV (checked out once under the
work dir) with its own default parameters, on the same data -- "no slower than before" measured in the same
run rather than read from an old table.
Rounds alternate the order of versions and contenders so that a drifting machine hits all alike, and
the ratios printed are medians of each round's own pairs (job/floor per version, 6.0/5.1 per contender).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
JOB_SCRIPT = ROOT / "jobs" / "segment_events_to_personalize.py"
VERSIONS = ("6.0", "5.1")
METADATA = "job stitch + users/items"
CONTENDERS = ("floor", "job drop", "job stitch", METADATA)
JOBS = {"job drop": "drop", "job stitch": "stitch", METADATA: "stitch"}  # contender -> --ANONYMOUS_EVENTS


def venv_python(version: str) -> Path:
    return ROOT / ".venv" / f"glue-{version}" / "bin" / "python"


BEFORE = "job before"


def baseline_tree(workdir: Path, revision: str) -> Path:
    """A checkout of ``revision`` (its jobs/ and lib/), made once."""
    tree = workdir / f"baseline-{revision}"
    if not (tree / "jobs").exists():
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), revision], check=True
        )
    return tree


def command(version: str, contender: str, data: Path, out: Path, baseline: Path | None = None) -> list[str]:
    spark_submit = venv_python(version).parent / "spark-submit"
    base = [str(spark_submit), "--master", "local[2]", "--conf", "spark.ui.enabled=false"]
    if contender == "floor":
        return [*base, str(Path(__file__).resolve()), "--floor", str(data)]
    if contender == BEFORE:
        assert baseline is not None
        return [
            *base,
            str(baseline / "jobs" / JOB_SCRIPT.name),
            "--JOB_NAME",
            "bench-before",
            "--S3_JSON_INPUT_PATH",
            str(data),
            "--S3_CSV_OUTPUT_PATH",
            str(out / f"glue-{version}-before" / "interactions"),
        ]
    return [
        *base,
        str(JOB_SCRIPT),
        "--JOB_NAME",
        "bench-process",
        "--S3_JSON_INPUT_PATH",
        str(data),
        "--S3_CSV_OUTPUT_PATH",
        str(out / f"glue-{version}" / "interactions"),
        "--ANONYMOUS_EVENTS",
        JOBS[contender],
        *(metadata_args() if contender == METADATA else []),
    ]


def metadata_args() -> list[str]:
    from bench_batch import ITEM_PROPERTIES, USER_TRAITS

    return ["--USER_TRAITS", USER_TRAITS, "--ITEM_PROPERTIES", ITEM_PROPERTIES]


def timed(cmd: list[str], version: str, lib: Path | None = None) -> float:
    env = {**os.environ, "PYSPARK_PYTHON": str(venv_python(version)), "SPARK_LOCAL_IP": "127.0.0.1"}
    if lib is not None:  # ahead of the virtualenv's editable install of this checkout
        env["PYTHONPATH"] = str(lib)
    env["PYSPARK_DRIVER_PYTHON"] = env["PYSPARK_PYTHON"]
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        raise SystemExit(f"error: {' '.join(cmd[:1])} ... exited {done.returncode}:\n{tail}")
    return seconds


def floor(data: str) -> None:
    """The floor's process body: bench_batch.scan_floor in a session of its own."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_batch import scan_floor
    from segment_personalize.spark.session import local_spark_session

    spark = local_spark_session(app_name="bench-floor")
    scan_floor(spark, Path(data), Path(data))
    spark.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=ROOT / "build" / "bench")
    parser.add_argument("--versions", default=",".join(VERSIONS), help="comma-separated Glue versions")
    parser.add_argument("--baseline", metavar="REV", help="also time the job of this git revision")
    parser.add_argument("--floor", metavar="DATA", help=argparse.SUPPRESS)  # a floor run's own process
    args = parser.parse_args(argv)
    if args.floor:
        floor(args.floor)
        return

    versions = tuple(v.strip() for v in args.versions.split(",") if v.strip())
    missing = [v for v in versions if not venv_python(v).exists()]
    if missing:
        names = ", ".join(missing)
        raise SystemExit(f"error: no virtualenv for Glue {names}: run make setup GLUE_VERSION=<version>")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_batch import bench_data

    data = bench_data(args.workdir, args.events)
    out = args.workdir / "process-out"
    size_mb = sum(p.stat().st_size for p in data.rglob("*.gz")) / 1e6

    baseline = baseline_tree(args.workdir.resolve(), args.baseline) if args.baseline else None
    contenders = (*CONTENDERS, BEFORE) if baseline else CONTENDERS
    runs: dict[tuple[str, str], list[float]] = {(v, c): [] for v in versions for c in contenders}
    for round_no in range(args.repeat):
        order = [(v, c) for v in versions for c in contenders]
        for version, contender in order if round_no % 2 == 0 else reversed(order):
            lib = baseline / "lib" if baseline is not None and contender == BEFORE else None
            seconds = timed(command(version, contender, data, out, baseline), version, lib)
            runs[version, contender].append(seconds)
            print(f"round {round_no + 1}: Glue {version} {contender}: {seconds:.1f} s", file=sys.stderr)

    print(f"\n{args.events:,} Segment calls, {size_mb:.0f} MB gzipped, spark-submit --master local[2],")
    print(f"one fresh process per run, {args.repeat} rounds (best and median of the runs)")
    print("| Glue | contender | best (s) | median (s) |\n|---|---|---:|---:|")
    for (version, contender), seconds in runs.items():
        print(f"| {version} | {contender} | {min(seconds):.1f} | {statistics.median(seconds):.1f} |")
    print()
    for version in versions:
        for job in (*JOBS, *((BEFORE,) if baseline else ())):
            ratio = statistics.median(
                j / f for j, f in zip(runs[version, job], runs[version, "floor"], strict=True)
            )
            print(f"Glue {version}: {job} / floor = {ratio:.2f} (median of the rounds' own ratios)")
    for version in versions:
        ratio = statistics.median(
            m / j for m, j in zip(runs[version, METADATA], runs[version, "job stitch"], strict=True)
        )
        print(f"Glue {version}: {METADATA} / job stitch = {ratio:.2f} (median of the rounds' own ratios)")
    if len(versions) == 2:
        new, old = versions
        for contender in contenders:
            ratio = statistics.median(
                n / o for n, o in zip(runs[new, contender], runs[old, contender], strict=True)
            )
            print(f"{contender}: Glue {new} / Glue {old} = {ratio:.2f}")


if __name__ == "__main__":
    main()
