"""Publishing a run: the output folder and its report are the last good run, or the new one, never a mix.

Faults (an exception) and crashes (a BaseException that skips every handler, as a kill would) are
injected after each publish step, for both strategies: ``rename`` (local disk) and ``files`` (S3's,
exercised here on local disk). Then real ``kill -9``s of the job at several points.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlparse

import pytest
from pyspark.sql import SparkSession
from segment_personalize.job_config import ConfigError, parse_job_args
from segment_personalize.pipeline import run
from segment_personalize.spark import publish
from segment_personalize.spark.faults import describe
from segment_personalize.spark.publish import FILES, RENAME, STEPS, Publisher, PublishError

from tests.contract_cases import track
from tests.files import leftovers, snapshot, write_gz

REPO = Path(__file__).resolve().parent.parent
JOB = REPO / "jobs" / "segment_events_to_personalize.py"
COMMITTED_FROM = publish.MARKED  # the first step after the commit point


class Crash(BaseException):
    """Stands for the process dying: no handler of the job sees it."""


def local(path: str) -> Path:
    return Path(urlparse(path).path)


def stage_by_hand(publisher: Publisher, files: dict[str, str]):
    staging = publisher.stage()
    data = local(staging.data)
    data.mkdir(parents=True)
    for name, text in files.items():
        (data / name).write_text(text)
    return staging


def publish_by_hand(publisher: Publisher, files: dict[str, str], report: str) -> None:
    publisher.publish(stage_by_hand(publisher, files), report)


def fail_at(step: str, error: BaseException):
    def hook(at: str) -> None:
        if at == step:
            raise error

    return hook


RUN_A = ({"part-a.csv": "A\n"}, '{"run": "A"}\n')
RUN_B = ({"part-b1.csv": "B1\n", "part-b2.csv": "B2\n"}, '{"run": "B"}\n')
RUN_C = ({"part-c.csv": "C\n"}, '{"run": "C"}\n')


def expected(out: Path, run: tuple[dict[str, str], str]) -> dict[str, bytes]:
    files, report = run
    found = {f"{out.name}/{name}": text.encode() for name, text in files.items()}
    return {**found, out.name + ".report.json": report.encode()}


CASES = [
    (strategy, step, kind, first)
    for strategy, steps in STEPS.items()
    for step in steps
    for kind, first in (("fault", False), ("crash", False), ("crash", True))
]


@pytest.mark.parametrize(("strategy", "step", "kind", "first_run"), CASES)
def test_a_fault_or_crash_at_each_step(
    spark: SparkSession, tmp_path: Path, strategy: str, step: str, kind: str, first_run: bool
) -> None:
    out = tmp_path / "interactions"
    report = tmp_path / "interactions.report.json"
    steady = Publisher(spark, str(out), str(report), strategy=strategy)
    before: dict[str, bytes] = {}
    if not first_run:
        publish_by_hand(steady, *RUN_A)
        before = expected(out, RUN_A)
        assert snapshot(out, report) == before

    error = Crash() if kind == "crash" else OSError("injected")
    failing = Publisher(spark, str(out), str(report), strategy=strategy, hook=fail_at(step, error))
    committed = STEPS[strategy].index(step) >= STEPS[strategy].index(COMMITTED_FROM)
    if kind == "crash":
        with pytest.raises(Crash):
            publish_by_hand(failing, *RUN_B)
    else:
        with pytest.raises(PublishError) as raised:
            publish_by_hand(failing, *RUN_B)
        assert raised.value.committed is committed

    # At rest: the last good run, the new one, or a folder without its report (a run in progress).
    at_rest = snapshot(out, report)
    assert at_rest in (before, expected(out, RUN_B)) or report.name not in at_rest
    if not committed:
        assert at_rest == before
        assert bool(leftovers(out)) == (kind == "crash")  # a fault cleans up at once

    # The next run finishes a committed run and drops an uncommitted one.
    notes = steady.recover()
    assert snapshot(out, report) == (expected(out, RUN_B) if committed else before)
    assert leftovers(out) == []
    assert len(notes) == (0 if step == publish.CLEANED or (kind == "fault" and not committed) else 1)

    publish_by_hand(steady, *RUN_C)
    assert snapshot(out, report) == expected(out, RUN_C)
    assert leftovers(out) == []


@pytest.mark.parametrize("strategy", [RENAME, FILES])
def test_publishing_replaces_the_output_and_the_report_lists_it(
    spark: SparkSession, tmp_path: Path, strategy: str
) -> None:
    out, report = tmp_path / "o" / "interactions", tmp_path / "reports" / "run.json"
    publisher = Publisher(spark, str(out), str(report), strategy=strategy)
    publish_by_hand(publisher, *RUN_A)
    publish_by_hand(publisher, *RUN_B)
    assert sorted(p.name for p in out.iterdir()) == ["part-b1.csv", "part-b2.csv"]
    assert report.read_text() == RUN_B[1]
    assert leftovers(out) == [] and sorted(p.name for p in report.parent.iterdir()) == ["run.json"]


def test_strategy_follows_the_scheme() -> None:
    assert publish.strategy_for("build/out") == RENAME
    assert publish.strategy_for("file:///tmp/out") == RENAME
    assert publish.strategy_for("s3://bucket/out/") == FILES
    assert publish.strategy_for("s3a://bucket/out/") == FILES


def test_staging_is_beside_the_output(spark: SparkSession, tmp_path: Path) -> None:
    out = tmp_path / "interactions"
    staging = Publisher(spark, str(out), str(tmp_path / "r.json")).stage("RUN")
    assert local(staging.root) == tmp_path / "interactions.staging-RUN"
    assert local(staging.data).parent == local(staging.root)


# -- the whole job -------------------------------------------------------------------------------------


def logs(folder: Path, users: range) -> Path:
    write_gz(folder / "src" / "day" / "hour.gz", [track(user_id=f"u{u}", messageId=f"m{u}") for u in users])
    return folder


def config(input_path: Path, out: Path):
    return parse_job_args(
        [
            "job.py",
            "--JOB_NAME",
            "t",
            "--S3_JSON_INPUT_PATH",
            str(input_path),
            "--S3_CSV_OUTPUT_PATH",
            str(out),
        ]
    )


def published_users(out: Path) -> list[str]:
    rows = [line for f in sorted(out.iterdir()) for line in f.read_text().splitlines()[1:]]
    return sorted(row.split(",")[0] for row in rows)


def assert_report_describes_the_folder(out: Path) -> dict:
    report = json.loads(out.with_name(out.name + ".report.json").read_text())
    assert sorted(local(f) for f in report["output"]["files"]) == sorted(out.iterdir())
    assert report["output"]["rows"] == len(published_users(out))
    return report


@pytest.mark.parametrize("strategy", [RENAME, FILES])
def test_the_job_publishes_with_either_strategy(spark: SparkSession, tmp_path: Path, strategy: str) -> None:
    out = tmp_path / "interactions"
    first = run(spark, config(logs(tmp_path / "a", range(3)), out), strategy=strategy, notes=print)
    second = run(spark, config(logs(tmp_path / "b", range(10, 15)), out), strategy=strategy, notes=print)
    assert published_users(out) == [f"u{u}" for u in range(10, 15)]
    report = assert_report_describes_the_folder(out)
    assert report["run_id"] == second["run_id"] != first["run_id"]
    assert leftovers(out) == []


def _job_process(argv: list[str], pause_at: str | None = None, flag: Path | None = None) -> subprocess.Popen:
    """The job in a process of its own; ``pause_at`` stops it after that publish step, ``flag`` says so."""
    code = (
        "import sys, time, pathlib\n"
        f"sys.path.insert(0, {str(REPO / 'jobs')!r})\n"
        "import segment_events_to_personalize as job\n"
        "def hook(step):\n"
        f"    if step == {pause_at!r}:\n"
        f"        pathlib.Path({str(flag)!r}).touch()\n"
        "        time.sleep(600)\n"
        f"sys.exit(job.main({['job.py', *argv]!r}, publish_hook=hook))\n"
    )
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable}
    return subprocess.Popen(
        [sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def _kill_when(process: subprocess.Popen, seen) -> None:
    deadline = time.monotonic() + 240
    while not seen():
        assert process.poll() is None, "the job ended before the point to kill it at"
        assert time.monotonic() < deadline, "the job never reached the point to kill it at"
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()


def _args(input_path: Path, out: Path) -> list[str]:
    return ["--JOB_NAME", "kill", "--S3_JSON_INPUT_PATH", str(input_path), "--S3_CSV_OUTPUT_PATH", str(out)]


@pytest.mark.parametrize(
    "point",
    [
        "staging appears",  # Spark is writing the new run (the other uncommitted steps: see above)
        publish.OUTPUT_ASIDE,  # marked; old report gone, old folder set aside, new one not yet in place
    ],
)
def test_kill_9_at_several_points(spark: SparkSession, tmp_path: Path, point: str) -> None:
    out = tmp_path / "interactions"
    report = out.with_name("interactions.report.json")
    run(spark, config(logs(tmp_path / "a", range(3)), out), notes=print)
    good = snapshot(out, report)

    flag = tmp_path / "paused"
    pause = None if point == "staging appears" else point
    process = _job_process(_args(logs(tmp_path / "b", range(10, 500)), out), pause, flag)
    if pause is None:
        _kill_when(process, lambda: bool(leftovers(out)))
    else:
        _kill_when(process, flag.exists)

    at_rest = snapshot(out, report)
    committed = point == publish.OUTPUT_ASIDE
    if committed:  # the window: no report, so no reader takes the folder for a finished run
        assert report.name not in at_rest and not out.exists()
    else:
        assert at_rest == good
    assert leftovers(out)

    # Running again repairs it: the killed run is finished if it was committed, dropped if not.
    notes: list[str] = []
    Publisher(spark, str(out), str(report)).recover()
    if committed:
        assert published_users(out) == sorted(f"u{u}" for u in range(10, 500))
        assert_report_describes_the_folder(out)
    else:
        assert snapshot(out, report) == good
    assert leftovers(out) == []

    run(spark, config(tmp_path / "a", out), notes=notes.append)
    assert published_users(out) == ["u0", "u1", "u2"]
    assert_report_describes_the_folder(out)
    assert leftovers(out) == []


def test_the_next_run_cleans_up_after_a_kill(spark: SparkSession, tmp_path: Path) -> None:
    out = tmp_path / "interactions"
    run(spark, config(logs(tmp_path / "a", range(3)), out), notes=print)
    leftover = Publisher(spark, str(out), str(tmp_path / "interactions.report.json")).stage(
        "20000101T000000Z-dead"
    )
    local(leftover.data).mkdir(parents=True)
    (local(leftover.data) / "part-x.csv").write_text("USER_ID\n")
    notes: list[str] = []
    run(spark, config(tmp_path / "a", out), notes=notes.append)
    assert notes == ["deleted the staging folder of unfinished run 20000101T000000Z-dead"]
    assert leftovers(out) == []


def test_preflight_on_any_file_system(spark: SparkSession, tmp_path: Path) -> None:
    """What the job checks through Hadoop's API once Spark runs (the only way for s3:// paths)."""
    a_file, a_folder = tmp_path / "o.csv", tmp_path / "reports"
    a_file.write_text("x\n")
    a_folder.mkdir()
    with pytest.raises(ConfigError, match="is a file; it must be a folder"):
        Publisher(spark, str(a_file), str(tmp_path / "r.json")).preflight()
    with pytest.raises(ConfigError, match="is a folder; it must be a file"):
        Publisher(spark, str(tmp_path / "o"), str(a_folder)).preflight()
    Publisher(spark, str(tmp_path / "o"), str(tmp_path / "r.json")).preflight()


def test_a_fault_summary_never_carries_row_data() -> None:
    class Throwable:
        def __init__(self, name: str, message: str, cause=None) -> None:
            self.name, self.message, self.cause = name, message, cause

        def getClass(self):  # py4j names
            return SimpleNamespace(getName=lambda: self.name)

        def getMessage(self):
            return self.message

        def getCause(self):
            return self.cause

    row = "recordData=[2942315025, black-shirt, Order Completed, 1551318449]"
    chain = Throwable(
        "org.apache.spark.SparkException",
        f"Job aborted: [TASK_WRITE_FAILED] Task failed\nInternal state when error was thrown: {row}",
        Throwable(
            "com.univocity.parsers.common.TextWritingException",
            f"Error writing row.\nInternal state when error was thrown: recordCount=1, {row}",
            Throwable("java.io.IOException", f"No space left on device {row}"),
        ),
    )
    fault = describe(SimpleNamespace(java_exception=chain))
    assert fault.line() == "Spark failed [TASK_WRITE_FAILED]: java.io.IOException: No space left on device"
    # A cause outside I/O code is named by its class only: its message may quote a row.
    other = describe(SimpleNamespace(java_exception=Throwable("java.lang.IllegalStateException", "u42 bad")))
    assert other.line() == "Spark failed: java.lang.IllegalStateException"
