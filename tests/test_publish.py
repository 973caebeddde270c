"""Publishing a run: its outputs and report are the last good run, or the new one, never a mix.

One run publishes the interactions folder, other datasets' folders (users, items) and extra files (the
schema JSON files), then the report. Faults (an exception) and crashes (a BaseException that skips every
handler, as a kill would) are injected at every step of both strategies: ``rename`` (local disk) and
``files`` (S3's, exercised here on local disk), with one dataset and with three datasets and two files.
Then real ``kill -9``s of the job at several points.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlparse

import pytest
from pyspark.sql import SparkSession
from segment_personalize import job_config
from segment_personalize.job_config import ConfigError, check_output_paths, parse_job_args
from segment_personalize.personalize_schema import INTERACTIONS, USERS, schema_file_path
from segment_personalize.pipeline import run
from segment_personalize.spark import publish
from segment_personalize.spark.faults import describe
from segment_personalize.spark.publish import (
    CLEANED,
    FILE_IN,
    FILE_MOVED,
    FILES,
    FILES_MOVED,
    MARKED,
    OLD_DELETED,
    OUTPUT_ASIDE,
    OUTPUT_IN,
    RENAME,
    REPORT_IN,
    REPORT_REMOVED,
    STAGED,
    STEPS,
    Publisher,
    PublishError,
)

from tests.contract_cases import track
from tests.files import leftovers, snapshot, write_gz

REPO = Path(__file__).resolve().parent.parent
JOB = REPO / "jobs" / "segment_events_to_personalize.py"
STAGING_PREFIX = "out/interactions.staging-"


class Crash(BaseException):
    """Stands for the process dying: no handler of the job sees it."""


def local(path: str) -> Path:
    return Path(urlparse(path).path)


@dataclass(frozen=True)
class Layout:
    """Where one run publishes, under ``root``: one dataset, or three datasets and two files."""

    root: Path
    datasets: dict[str, Path] = field(default_factory=dict)
    files: tuple[Path, ...] = ()

    @property
    def out(self) -> Path:
        return self.root / "out" / "interactions"

    @property
    def report(self) -> Path:
        return self.root / "out" / "interactions.report.json"

    def publisher(self, spark: SparkSession, **options) -> Publisher:
        datasets = {name: str(path) for name, path in self.datasets.items()}
        files = [str(f) for f in self.files]
        return Publisher(spark, str(self.out), str(self.report), datasets=datasets, files=files, **options)


def one_dataset(root: Path) -> Layout:
    return Layout(root)


def three_datasets(root: Path) -> Layout:
    # users beside the interactions (the default), items in another folder (any path is allowed).
    out = root / "out" / "interactions"
    return Layout(
        root,
        {"users": root / "out" / "users", "items": root / "elsewhere" / "items"},
        (Path(schema_file_path(str(out), INTERACTIONS)), Path(schema_file_path(str(out), USERS))),
    )


LAYOUTS = {"one": one_dataset, "three": three_datasets}


@dataclass(frozen=True)
class Run:
    data: dict[str, dict[str, str]]  # dataset -> {file name: text}
    files: tuple[str, ...]  # the extra files' texts, in the layout's order
    report: str


RUN_A = Run(
    {"interactions": {"part-a.csv": "A\n"}, "users": {"part-a.csv": "UA\n"}, "items": {"part-a.csv": "IA\n"}},
    ('{"schema": "A1"}\n', '{"schema": "A2"}\n'),
    '{"run": "A"}\n',
)
RUN_B = Run(
    {
        "interactions": {"part-b1.csv": "B1\n", "part-b2.csv": "B2\n"},
        "users": {"part-b.csv": "UB\n"},
        "items": {"part-b1.csv": "IB1\n", "part-a.csv": "IB2\n"},  # a name the previous run used too
    },
    ('{"schema": "B1"}\n', '{"schema": "B2"}\n'),
    '{"run": "B"}\n',
)
RUN_C = Run(
    {"interactions": {"part-c.csv": "C\n"}, "users": {"part-c.csv": "UC\n"}, "items": {"part-c.csv": "IC\n"}},
    ('{"schema": "C1"}\n', '{"schema": "C2"}\n'),
    '{"run": "C"}\n',
)


def stage_by_hand(publisher: Publisher, layout: Layout, run: Run):
    staging = publisher.stage()
    for name in ("interactions", *layout.datasets):
        folder = local(staging.data_for(name))
        folder.mkdir(parents=True)
        for file_name, text in run.data[name].items():
            (folder / file_name).write_text(text)
    return staging


def publish_by_hand(publisher: Publisher, layout: Layout, run: Run) -> None:
    files = {str(path): text for path, text in zip(layout.files, run.files, strict=False)}
    publisher.publish(stage_by_hand(publisher, layout, run), run.report, files=files)


def tree(root: Path) -> dict[str, bytes | None]:
    """Every folder (None) and file (its bytes) under root, by relative path: exact listings and contents."""
    return {
        str(p.relative_to(root)): (None if p.is_dir() else p.read_bytes()) for p in sorted(root.rglob("*"))
    }


def outside_staging(found: dict[str, bytes | None]) -> dict[str, bytes | None]:
    return {path: content for path, content in found.items() if not path.startswith(STAGING_PREFIX)}


def expected(layout: Layout, run: Run) -> dict[str, bytes | None]:
    """The tree once ``run`` is published and nothing else is there."""
    files: dict[Path, bytes] = {layout.report: run.report.encode()}
    for name, folder in {"interactions": layout.out, **layout.datasets}.items():
        files.update({folder / file_name: text.encode() for file_name, text in run.data[name].items()})
    files.update({path: text.encode() for path, text in zip(layout.files, run.files, strict=False)})
    found: dict[str, bytes | None] = {}
    for path, content in files.items():
        found[str(path.relative_to(layout.root))] = content
        for parent in path.relative_to(layout.root).parents[:-1]:
            found[str(parent)] = None
    return dict(sorted(found.items()))


def steps_of(strategy: str, layout_kind: str, run: Run = RUN_B) -> list[str]:
    """The hook calls of a publish, in order: datasets (interactions first), then files, then the report."""
    layout = LAYOUTS[layout_kind](Path("/"))
    steps = [STAGED, MARKED, REPORT_REMOVED]
    for name in ("interactions", *layout.datasets):
        if strategy == RENAME:
            steps += [OUTPUT_ASIDE, OUTPUT_IN]
        else:
            steps += [FILE_MOVED] * len(run.data[name]) + [FILES_MOVED, OLD_DELETED]
    return steps + [FILE_IN] * len(layout.files) + [REPORT_IN, CLEANED]


def fail_at_call(index: int, error: BaseException):
    calls: list[str] = []

    def hook(step: str) -> None:
        calls.append(step)
        if len(calls) - 1 == index:
            raise error

    return hook


CASES = [
    pytest.param(
        layout, strategy, index, kind, first, id=f"{layout}-{strategy}-{index}-{step}-{kind}{first_id}"
    )
    for layout in LAYOUTS
    for strategy in STEPS
    for index, step in enumerate(steps_of(strategy, layout))
    for kind, first, first_id in (("fault", False, ""), ("crash", False, ""), ("crash", True, "-first"))
]


@pytest.mark.parametrize(("layout_kind", "strategy", "index", "kind", "first_run"), CASES)
def test_a_fault_or_crash_at_each_step(
    spark: SparkSession,
    tmp_path: Path,
    layout_kind: str,
    strategy: str,
    index: int,
    kind: str,
    first_run: bool,
) -> None:
    layout = LAYOUTS[layout_kind](tmp_path)
    steady = layout.publisher(spark, strategy=strategy)
    if not first_run:
        publish_by_hand(steady, layout, RUN_A)
        assert tree(tmp_path) == expected(layout, RUN_A)
    else:  # the staging folder is made beside the interactions folder: its parent is not ours to undo
        layout.out.parent.mkdir()
    before = tree(tmp_path)

    error = Crash() if kind == "crash" else OSError("injected")
    failing = layout.publisher(spark, strategy=strategy, hook=fail_at_call(index, error))
    committed = index >= steps_of(strategy, layout_kind).index(MARKED)
    if kind == "crash":
        with pytest.raises(Crash):
            publish_by_hand(failing, layout, RUN_B)
    else:
        with pytest.raises(PublishError) as raised:
            publish_by_hand(failing, layout, RUN_B)
        assert raised.value.committed is committed

    # At rest: the last good run, the new one, or outputs without their report (a run in progress).
    at_rest = tree(tmp_path)
    report = str(layout.report.relative_to(tmp_path))
    assert outside_staging(at_rest) in (before, expected(layout, RUN_B)) or report not in at_rest
    if not committed:  # nothing outside the staging folder changed, to the byte
        assert outside_staging(at_rest) == before
        assert bool(leftovers(layout.out)) == (kind == "crash")  # a fault cleans up at once

    # The next run finishes a committed run (every dataset and file) and drops an uncommitted one.
    notes = steady.recover()
    assert tree(tmp_path) == (expected(layout, RUN_B) if committed else before)
    last = index == len(steps_of(strategy, layout_kind)) - 1
    assert len(notes) == (0 if last or (kind == "fault" and not committed) else 1)

    publish_by_hand(steady, layout, RUN_C)
    assert tree(tmp_path) == expected(layout, RUN_C)


@pytest.mark.parametrize("strategy", [RENAME, FILES])
@pytest.mark.parametrize("layout_kind", list(LAYOUTS))
def test_the_steps_in_order(spark: SparkSession, tmp_path: Path, strategy: str, layout_kind: str) -> None:
    """The data folders first, then the extra files, the report last; what the cases above count on."""
    layout = LAYOUTS[layout_kind](tmp_path)
    seen: list[str] = []
    publish_by_hand(layout.publisher(spark, strategy=strategy, hook=seen.append), layout, RUN_B)
    assert seen == steps_of(strategy, layout_kind)
    assert tree(tmp_path) == expected(layout, RUN_B)


@pytest.mark.parametrize("strategy", [RENAME, FILES])
def test_recovery_follows_the_marker_not_the_configuration(
    spark: SparkSession, tmp_path: Path, strategy: str
) -> None:
    layout = three_datasets(tmp_path)
    publish_by_hand(layout.publisher(spark, strategy=strategy), layout, RUN_A)
    with pytest.raises(Crash):
        publish_by_hand(
            layout.publisher(spark, strategy=strategy, hook=fail_at_call(2, Crash())), layout, RUN_B
        )
    # The next run is configured with the interactions alone: it still finishes users, items and files.
    notes = one_dataset(tmp_path).publisher(spark, strategy=strategy).recover()
    assert len(notes) == 1 and notes[0].startswith("finished publishing run")
    assert tree(tmp_path) == expected(layout, RUN_B)


@pytest.mark.parametrize("strategy", [RENAME, FILES])
def test_a_dataset_no_longer_configured_is_left_alone(
    spark: SparkSession, tmp_path: Path, strategy: str
) -> None:
    three, one = three_datasets(tmp_path), one_dataset(tmp_path)
    publish_by_hand(three.publisher(spark, strategy=strategy), three, RUN_A)
    publish_by_hand(one.publisher(spark, strategy=strategy), one, RUN_B)
    found = expected(three, RUN_A)
    found.update(expected(one, RUN_B))
    del found["out/interactions/part-a.csv"]
    assert tree(tmp_path) == dict(sorted(found.items()))


def test_a_run_finished_from_a_single_dataset_marker(spark: SparkSession, tmp_path: Path) -> None:
    """A staging folder committed by the earlier, single-dataset publisher (marker: run id and files)."""
    layout = one_dataset(tmp_path)
    publisher = layout.publisher(spark)
    publish_by_hand(publisher, layout, RUN_A)
    staging = stage_by_hand(publisher, layout, RUN_B)
    local(staging.report).write_text(RUN_B.report)
    files = sorted(RUN_B.data["interactions"])
    local(staging.marker).write_text(json.dumps({"run_id": staging.run_id, "files": files}))
    assert len(three_datasets(tmp_path).publisher(spark).recover()) == 1
    assert tree(tmp_path) == expected(layout, RUN_B)


@pytest.mark.parametrize("missing", ["items", "file"])
def test_a_run_with_something_not_staged_publishes_nothing(
    spark: SparkSession, tmp_path: Path, missing: str
) -> None:
    layout = three_datasets(tmp_path)
    publisher = layout.publisher(spark)
    publish_by_hand(publisher, layout, RUN_A)
    before = tree(tmp_path)
    staging = stage_by_hand(publisher, layout, RUN_B)
    files = {str(layout.files[0]): "x\n", str(layout.files[1]): "y\n"}
    if missing == "items":
        for part in local(staging.data_for("items")).iterdir():
            part.unlink()
        local(staging.data_for("items")).rmdir()
        match = "nothing was staged for the items dataset"
    else:
        del files[str(layout.files[1])]
        match = "users.schema.json was not staged"
    with pytest.raises(PublishError, match=match) as raised:
        publisher.publish(staging, RUN_B.report, files=files)
    assert raised.value.committed is False
    assert tree(tmp_path) == before


def test_files_can_be_written_to_their_staged_path(spark: SparkSession, tmp_path: Path) -> None:
    layout = three_datasets(tmp_path)
    publisher = layout.publisher(spark)
    staging = stage_by_hand(publisher, layout, RUN_B)
    local(staging.file_for(str(layout.files[0]))).parent.mkdir(parents=True, exist_ok=True)
    local(staging.file_for(str(layout.files[0]))).write_text(RUN_B.files[0])
    publisher.publish(staging, RUN_B.report, files={str(layout.files[1]): RUN_B.files[1]})
    assert tree(tmp_path) == expected(layout, RUN_B)
    with pytest.raises(PublishError, match="is not a file this run publishes"):
        publisher.publish(stage_by_hand(publisher, layout, RUN_C), RUN_C.report, files={"other.json": "{}"})


@pytest.mark.parametrize("strategy", [RENAME, FILES])
def test_publishing_replaces_the_output_and_the_report_lists_it(
    spark: SparkSession, tmp_path: Path, strategy: str
) -> None:
    out, report = tmp_path / "o" / "interactions", tmp_path / "reports" / "run.json"
    publisher = Publisher(spark, str(out), str(report), strategy=strategy)
    for run_ in (RUN_A, RUN_B):
        staging = publisher.stage()
        local(staging.data).mkdir(parents=True)
        for name, text in run_.data["interactions"].items():
            (local(staging.data) / name).write_text(text)
        publisher.publish(staging, run_.report)
    assert sorted(p.name for p in out.iterdir()) == ["part-b1.csv", "part-b2.csv"]
    assert report.read_text() == RUN_B.report
    assert leftovers(out) == [] and sorted(p.name for p in report.parent.iterdir()) == ["run.json"]
    assert publisher.final_paths(staging, [staging.data + "/part-b1.csv"]) == [f"file:{out}/part-b1.csv"]


def test_strategy_follows_the_scheme() -> None:
    assert publish.strategy_for("build/out") == RENAME
    assert publish.strategy_for("file:///tmp/out") == RENAME
    assert publish.strategy_for("s3://bucket/out/") == FILES
    assert publish.strategy_for("s3a://bucket/out/") == FILES


def test_staging_is_beside_the_output(spark: SparkSession, tmp_path: Path) -> None:
    layout = three_datasets(tmp_path)
    publisher = layout.publisher(spark)
    staging = publisher.stage("RUN")
    root = tmp_path / "out" / "interactions.staging-RUN"
    assert local(staging.root) == root
    assert local(staging.data) == local(staging.data_for("interactions")) == root / "data"
    assert local(staging.data_for("items")) == root / "data.items"
    assert [local(staging.file_for(str(f))) for f in layout.files] == [
        root / "files" / "0-interactions.schema.json",
        root / "files" / "1-users.schema.json",
    ]
    with pytest.raises(KeyError):
        staging.data_for("events")
    assert publisher.final_paths(staging, [staging.data_for("items") + "/p.csv"], "items") == [
        f"file:{tmp_path}/elsewhere/items/p.csv"
    ]


@pytest.mark.parametrize("name", ["interactions", "Users", "", "a-b"])
def test_other_datasets_need_a_plain_name(spark: SparkSession, tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="cannot name another dataset"):
        Publisher(spark, str(tmp_path / "i"), str(tmp_path / "r.json"), datasets={name: str(tmp_path / "x")})


def test_preflight_of_the_other_outputs_and_files(spark: SparkSession, tmp_path: Path) -> None:
    layout = three_datasets(tmp_path)
    layout.publisher(spark).preflight()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "users").write_text("x\n")
    with pytest.raises(ConfigError, match=r"the users output path .* is a file; it must be a folder"):
        layout.publisher(spark).preflight()
    (tmp_path / "out" / "users").unlink()
    layout.files[1].mkdir()
    with pytest.raises(ConfigError, match=r"users.schema.json of a file published with the run is a folder"):
        layout.publisher(spark).preflight()


# -- the path checks before Spark starts ----------------------------------------------------------------


def outputs(**changed: str) -> dict[str, str]:
    return {"interactions": "s3://b/out/interactions", "users": "s3://b/out/users", **changed}


GOOD_FILES = ("s3://b/out/interactions.schema.json", "s3://b/out/users.schema.json")
REPORT = "s3://b/out/interactions.report.json"


IN = "s3://b/in"
REFUSED = [
    (
        IN,
        outputs(users="s3://b/in/users"),
        REPORT,
        (),
        "the users output path s3://b/in/users is inside the input",
    ),
    (
        "s3://b/out/users/raw",
        outputs(),
        REPORT,
        (),
        "the users output path s3://b/out/users contains the input",
    ),
    (
        IN,
        outputs(users="s3://b/out/interactions/users"),
        REPORT,
        (),
        "the users output folder s3://b/out/interactions/users is inside the interactions output folder",
    ),
    (
        IN,
        outputs(items="s3a://b/out"),
        REPORT,
        (),
        "the interactions output folder s3://b/out/interactions is inside the items output folder s3a://b/out",
    ),
    (IN, outputs(items="s3://b/out/users/"), REPORT, (), "s3://b/out/users/ is also the users output path"),
    (IN, outputs(users="s3://b/out/interactions.staging-x/u"), REPORT, (), "inside the staging folders"),
    (IN, outputs(), "s3://b/out/users/r.json", (), "report path s3://b/out/users/r.json is inside the users"),
    (IN, outputs(), REPORT, ("s3://b/out/users/u.json",), "file s3://b/out/users/u.json is inside the users"),
    (IN, outputs(), REPORT, ("s3://b/in/x.json",), "the published file s3://b/in/x.json is inside the input"),
    (IN, outputs(), REPORT, (REPORT,), "is also the run report path"),
    (IN, outputs(), REPORT, (GOOD_FILES[0], GOOD_FILES[0]), "is also the published file"),
]


@pytest.mark.parametrize(("input_path", "outs", "report", "files", "message"), REFUSED)
def test_check_output_paths_refuses(input_path, outs, report, files, message) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        check_output_paths(input_path, outs, report, files)


def test_check_output_paths_accepts_siblings_and_any_folder() -> None:
    check_output_paths("s3://b/in", outputs(items="s3://other/items"), REPORT, GOOD_FILES)
    check_output_paths("s3://b/in", {"interactions": "s3://b/out/interactions"}, REPORT)


def test_check_output_paths_on_local_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    local_outputs = {"interactions": str(out / "interactions"), "users": str(out / "users")}
    files = [str(out / "users.schema.json")]
    check_output_paths(str(tmp_path / "in"), local_outputs, str(out / "r.json"), files)
    out.mkdir()
    (out / "users").write_text("x\n")
    with pytest.raises(ConfigError, match=r"the users output path .* is a file; it must be a folder"):
        check_output_paths(str(tmp_path / "in"), local_outputs, str(out / "r.json"), files)
    (out / "users").unlink()
    (out / "users.schema.json").mkdir()
    with pytest.raises(
        ConfigError, match=r"the published file .*users.schema.json is a folder; it must be a file"
    ):
        check_output_paths(str(tmp_path / "in"), local_outputs, str(out / "r.json"), files)
    (out / "users.schema.json").rmdir()
    (out / "users").mkdir()
    # Root ignores permission bits, so stand in for a read-only folder.
    monkeypatch.setattr(job_config, "_writable", lambda folder: folder != out / "users")
    with pytest.raises(ConfigError, match=r"the users output folder .* is not writable"):
        check_output_paths(str(tmp_path / "in"), local_outputs, str(out / "r.json"), files)
    monkeypatch.setattr(job_config, "_writable", lambda folder: folder != out)
    with pytest.raises(ConfigError, match="cannot write beside the interactions output folder"):
        check_output_paths(str(tmp_path / "in"), local_outputs, str(out / "r.json"), files)


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
