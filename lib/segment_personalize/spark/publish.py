"""Publish a run: stage every dataset beside the output, then replace the previous outputs, report last.

One run publishes several datasets and files together. The interactions output folder is the anchor:
the run is staged in ``<interactions>.staging-<run id>/`` beside it (never inside an output nor inside
the input), whatever folders the other datasets go to:

- ``data/``: the interactions CSV; ``data.<name>/``: each other dataset's (``users``, ``items``), written
  there by Spark (``Staging.data_for(name)``), published to its own folder (a sibling by default, any
  path allowed);
- ``files/<n>-<name>``: extra files published with the run, e.g. the Personalize schema JSON files
  (``Staging.file_for(target)``, or ``publish(..., files={target: text})``);
- ``report.json``: the run report.

Only once everything is complete and checked does the run write a ``_PUBLISHING`` marker there: that is
the commit point. The marker records what is being published (each dataset's target folder and file
names, each file's target, the report path), so the next run finishes it from the marker alone, even if
its own configuration names other datasets or paths. From then on:

1. the old report is deleted (no report = a run in progress: readers must wait for it);
2. each dataset's old output is replaced by its staged data, the interactions first:
   - ``rename`` (local disk, HDFS): the old folder is renamed into the staging folder, the staged one
     renamed into its place. Each output folder is missing only between two renames;
   - ``files`` (S3, where a folder rename is a copy of every object in no useful order): each staged file
     is moved into the output folder (S3's rename of one object: a server-side copy, then a delete), then
     every file of the previous run is deleted. In between, a reader listing the folder sees old and new
     files together: that is the window S3 cannot close;
   a dataset on another file system or bucket than the staging folder is copied there, then deleted;
3. each extra file replaces its previous version (deleted, then the staged one moved in);
4. the staged report is moved to the report path, the finished run's marker;
5. the staging folder, with the old outputs in it, is deleted.

Every step can be redone, so a run that dies after the marker is finished by the next run
(``recover``), and a run that dies before it leaves a staging folder that the next run deletes. A run
that fails before the marker changes nothing outside its staging folder. A dataset's folder that did not
exist is created. A dataset published by an earlier run but not configured in this one is left alone:
its folder keeps the earlier run's data, which the new report no longer describes (delete it by hand if
it is no longer wanted). One run at a time per interactions folder: a second run started while one is
publishing would finish that one's publish first, and one started while another is still staging would
delete the other's staging folder.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pyspark.sql import SparkSession

from segment_personalize.job_config import STAGING_INFIX, ConfigError
from segment_personalize.spark.faults import describe
from segment_personalize.spark.io import filesystem, raw_filesystem, write_text

RENAME, FILES = "rename", "files"
RENAME_SCHEMES = ("file", "hdfs")  # where renaming a folder is one atomic operation
MARKER = "_PUBLISHING"
INTERACTIONS = "interactions"  # the anchor dataset: the output_path the Publisher is made with
DATASET_NAME = re.compile(r"[a-z][a-z0-9_]*")

# Hook(step) runs after each step (a step of one dataset or file runs once for each of them); tests use it
# to inject faults and crashes at every point.
Hook = Callable[[str], None]
STAGED, MARKED, REPORT_REMOVED = "staged", "marked", "report_removed"
FILE_IN, REPORT_IN, CLEANED = "file_in", "report_in", "cleaned"  # FILE_IN: once per extra file
OUTPUT_ASIDE, OUTPUT_IN = "output_aside", "output_in"  # rename, once per dataset
FILE_MOVED, FILES_MOVED, OLD_DELETED = "file_moved", "files_moved", "old_deleted"  # files, per dataset
STEPS = {
    RENAME: (STAGED, MARKED, REPORT_REMOVED, OUTPUT_ASIDE, OUTPUT_IN, FILE_IN, REPORT_IN, CLEANED),
    FILES: (
        STAGED,
        MARKED,
        REPORT_REMOVED,
        FILE_MOVED,
        FILES_MOVED,
        OLD_DELETED,
        FILE_IN,
        REPORT_IN,
        CLEANED,
    ),
}


class PublishError(Exception):
    """A step of publishing failed; the message names it and the paths.

    ``committed``: the run had passed its commit point, so the next run finishes publishing it.
    """

    def __init__(self, message: str, committed: bool = False) -> None:
        super().__init__(message)
        self.committed = committed


@dataclass(frozen=True)
class Staging:
    run_id: str
    root: str  # <output>.staging-<run id>
    data: str  # the interactions CSV folder Spark writes
    report: str  # the staged run report
    marker: str
    datasets: tuple[tuple[str, str], ...] = ()  # (dataset, staged folder) of the other datasets
    files: tuple[tuple[str, str], ...] = ()  # (target path as configured, staged file)

    def data_for(self, dataset: str) -> str:
        """The folder Spark writes ``dataset`` to."""
        if dataset == INTERACTIONS:
            return self.data
        for name, folder in self.datasets:
            if name == dataset:
                return folder
        raise KeyError(f"{dataset!r} is not a dataset of this run")

    def file_for(self, target: str) -> str:
        """Where to write the extra file published to ``target`` (as the Publisher was given it)."""
        for path, staged in self.files:
            if path == target:
                return staged
        raise KeyError(f"{target!r} is not a file of this run")


# What the marker records: everything the next run needs to finish publishing, config aside.
@dataclass(frozen=True)
class _Dataset:
    name: str
    target: str  # the output folder, qualified
    staged: str  # the staged folder, relative to the staging root
    aside: str  # where the rename strategy sets the previous output aside, relative too
    files: tuple[str, ...] = ()  # the staged file names (the files strategy keeps only these)


@dataclass(frozen=True)
class _File:
    target: str  # qualified
    staged: str  # relative to the staging root


@dataclass(frozen=True)
class _Plan:
    datasets: tuple[_Dataset, ...]  # the interactions first
    files: tuple[_File, ...]
    report: str  # qualified

    def to_json(self, run_id: str) -> str:
        return json.dumps(
            {
                "run_id": run_id,
                "report": self.report,
                "datasets": [
                    {
                        "name": d.name,
                        "path": d.target,
                        "staged": d.staged,
                        "aside": d.aside,
                        "files": list(d.files),
                    }
                    for d in self.datasets
                ],
                "files": [{"path": f.target, "staged": f.staged} for f in self.files],
            }
        )

    @staticmethod
    def from_json(doc: dict[str, Any]) -> _Plan:
        datasets = tuple(
            _Dataset(d["name"], d["path"], d["staged"], d["aside"], tuple(d["files"]))
            for d in doc["datasets"]
        )
        return _Plan(datasets, tuple(_File(f["path"], f["staged"]) for f in doc["files"]), doc["report"])


def new_run_id() -> str:
    """Sortable by start time, unique across concurrent starts."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(4)


def strategy_for(output_path: str) -> str:
    scheme = output_path.split("://", 1)[0] if "://" in output_path else "file"
    return RENAME if scheme.split(":")[0] in RENAME_SCHEMES else FILES


def _no_hook(step: str) -> None:
    pass


def _message(error: Exception) -> str:
    if isinstance(error, PublishError):
        return str(error)
    return describe(error).line()


def _staged_names(name: str) -> tuple[str, str]:
    if name == INTERACTIONS:
        return "data", "previous"
    return f"data.{name}", f"previous.{name}"


class Publisher:
    """Stages, publishes and recovers runs: the interactions folder, its report, other datasets, files.

    ``datasets`` maps each other dataset's name (``users``) to its output folder; ``files`` are the
    paths of extra files published with the run (the schema JSON files). Both default to none: one
    output folder and its report. ``strategy`` defaults from the interactions output's scheme; tests pass
    ``FILES`` on local disk to run the S3 path.
    """

    def __init__(
        self,
        spark: SparkSession,
        output_path: str,
        report_path: str,
        *,
        datasets: Mapping[str, str] | None = None,
        files: Sequence[str] = (),
        strategy: str | None = None,
        hook: Hook | None = None,
    ) -> None:
        self.spark = spark
        self.strategy = strategy or strategy_for(output_path)
        if self.strategy not in STEPS:
            raise ValueError(f"unknown publish strategy {self.strategy!r}")
        self.hook = hook or _no_hook
        self._jvm = spark.sparkContext._jvm
        # The raw local file system: renames and deletes must not go looking for .crc files.
        self.fs, self.output = self._qualify(output_path)
        self.report_fs, self.report = self._qualify(report_path)
        self.datasets = dict(datasets or {})
        for name in self.datasets:
            if name == INTERACTIONS or not DATASET_NAME.fullmatch(name):
                raise ValueError(f"{name!r} cannot name another dataset: lower case letters, digits, _")
        if len(set(files)) != len(files):
            raise ValueError("an extra file is listed twice")
        self.files = tuple(files)
        self._targets = {name: self._qualify(path)[1] for name, path in self.datasets.items()}

    # -- before a run ----------------------------------------------------------------------------
    def preflight(self) -> None:
        """What can be checked on any file system, S3 included, before anything is read."""
        outputs = [("output path", self.output.toString())]
        outputs += [(f"{name} output path", path) for name, path in self.datasets.items()]
        for what, path in outputs:
            fs, folder = self._qualify(path)
            if folder.getParent() is None:
                raise ConfigError(f"the {what} {folder} is a root; it must be a folder inside it")
            if fs.exists(folder) and fs.getFileStatus(folder).isFile():
                raise ConfigError(f"the {what} {folder} is a file; it must be a folder")
        if self.report_fs.exists(self.report) and self.report_fs.getFileStatus(self.report).isDirectory():
            raise ConfigError(f"the run report path {self.report} is a folder; it must be a file")
        for path in self.files:
            fs, target = self._qualify(path)
            if fs.exists(target) and fs.getFileStatus(target).isDirectory():
                raise ConfigError(f"the path {target} of a file published with the run is a folder")

    def leftovers(self) -> list[str]:
        """Staging folders of earlier runs of this output (all their datasets and files), oldest first."""
        parent = self.output.getParent()
        if not self.fs.exists(parent):
            return []
        prefix = self.output.getName() + STAGING_INFIX
        return sorted(
            status.getPath().toString()
            for status in self.fs.listStatus(parent)
            if status.isDirectory() and status.getPath().getName().startswith(prefix)
        )

    def recover(self) -> list[str]:
        """Finish what a crashed run had committed to, delete what it had not; one note per leftover.

        A committed run is finished from its marker: the datasets, files and report it named, whatever
        this run's configuration says.
        """
        notes = []
        for root in self.leftovers():
            run_id = root.rsplit(STAGING_INFIX, 1)[1]
            root_path = self._path(root)
            marker = self._child(root_path, MARKER)
            if self.fs.exists(marker):
                self._publish_steps(root_path, self._read_plan(marker))
                notes.append(f"finished publishing run {run_id}, which had stopped half-way")
            else:
                self._delete(root)
                notes.append(f"deleted the staging folder of unfinished run {run_id}")
        return notes

    # -- a run ------------------------------------------------------------------------------------
    def stage(self, run_id: str | None = None) -> Staging:
        run_id = run_id or new_run_id()
        root = self.output.toString() + STAGING_INFIX + run_id
        plan = self._plan()
        return Staging(
            run_id,
            root,
            root + "/data",
            root + "/report.json",
            root + "/" + MARKER,
            datasets=tuple((d.name, f"{root}/{d.staged}") for d in plan.datasets[1:]),
            files=tuple((path, f"{root}/{f.staged}") for path, f in zip(self.files, plan.files, strict=True)),
        )

    def final_paths(
        self, staging: Staging, staged_files: list[str], dataset: str = INTERACTIONS
    ) -> list[str]:
        """Where the staged files of ``dataset`` will be once published (what the report lists)."""
        folder = self.output if dataset == INTERACTIONS else self._targets[dataset]
        names = [self._path(f).getName() for f in staged_files]
        return sorted(self._child(folder, name).toString() for name in names)

    def publish(self, staging: Staging, report_text: str, files: Mapping[str, str] | None = None) -> None:
        """Replace the outputs with the staged run; raises PublishError (``committed`` says which side).

        ``files``: {target: text} of extra files to stage now (others must be at ``staging.file_for``).
        Every dataset and extra file of this Publisher must be staged, or nothing is published.
        """
        root = self._path(staging.root)
        try:
            for target in files or {}:
                if target not in self.files:
                    raise PublishError(f"{target} is not a file this run publishes")
            write_text(self.spark, staging.report, report_text)
            for target, text in (files or {}).items():
                write_text(self.spark, staging.file_for(target), text)
            plan = self._listed(root, self._plan())
            self.hook(STAGED)
            # The commit point: from here the next run finishes this one rather than discard it. Written
            # aside and renamed (a local file is visible while being written; an S3 object only whole).
            write_text(self.spark, staging.marker + ".tmp", plan.to_json(staging.run_id))
            self._move(
                self.fs, self._path(staging.marker + ".tmp"), self.fs, self._path(staging.marker), "mark"
            )
        except Exception as error:
            self.discard(staging)
            raise PublishError(_message(error)) from None
        try:
            self.hook(MARKED)
            self._publish_steps(root, plan)
        except Exception as error:
            raise PublishError(_message(error), committed=True) from None

    def discard(self, staging: Staging) -> None:
        """Best effort: a staging folder left here is deleted by the next run anyway."""
        with contextlib.suppress(Exception):  # the original failure is what the user must see
            self._delete(staging.root)

    # -- the steps, each safe to redo -----------------------------------------------------------
    def _publish_steps(self, root, plan: _Plan) -> None:
        staged_report = self._child(root, "report.json")
        report_fs, report = self._qualify(plan.report)
        if self.fs.exists(staged_report):
            if report_fs.exists(report):
                self._check(report_fs.delete(report, False), "delete the old run report")
            self.hook(REPORT_REMOVED)
            for dataset in plan.datasets:
                if self.strategy == RENAME:
                    self._replace_by_rename(root, dataset)
                else:
                    self._replace_file_by_file(root, dataset)
            for file in plan.files:
                self._replace_file(root, file)
                self.hook(FILE_IN)
            self._make_parent(report_fs, report)
            self._move(self.fs, staged_report, report_fs, report, "move the run report into place")
        self.hook(REPORT_IN)
        self._delete(root.toString())
        self.hook(CLEANED)

    def _replace_by_rename(self, root, dataset: _Dataset) -> None:
        fs, output = self._qualify(dataset.target)
        data, previous = self._child(root, dataset.staged), self._child(root, dataset.aside)
        if self.fs.exists(data):
            if fs.exists(output):
                if self.fs.exists(previous):  # set aside already; this is not ours
                    self._check(fs.delete(output, True), f"delete {output}")
                else:
                    what = f"set the previous {dataset.name} output aside"
                    self._move(fs, output, self.fs, previous, what)
            self.hook(OUTPUT_ASIDE)
            self._make_parent(fs, output)
            self._move(self.fs, data, fs, output, f"move the new {dataset.name} output into place")
        self.hook(OUTPUT_IN)

    def _replace_file_by_file(self, root, dataset: _Dataset) -> None:
        fs, output = self._qualify(dataset.target)
        data = self._child(root, dataset.staged)
        if not fs.exists(output):
            fs.mkdirs(output)
        if self.fs.exists(data):
            for status in self._list_files(self.fs, data):
                target = self._child(output, status.getPath().getName())
                if fs.exists(target):  # a previous attempt copied it and died before the delete
                    self._check(fs.delete(target, False), f"replace {target}")
                self._move(
                    self.fs, status.getPath(), fs, target, f"move a new {dataset.name} file into place"
                )
                self.hook(FILE_MOVED)
        self.hook(FILES_MOVED)
        keep = set(dataset.files)
        for status in fs.listStatus(output):
            if status.getPath().getName() not in keep:
                self._check(fs.delete(status.getPath(), True), f"delete {status.getPath()}")
        self.hook(OLD_DELETED)

    def _replace_file(self, root, file: _File) -> None:
        fs, target = self._qualify(file.target)
        staged = self._child(root, file.staged)
        if self.fs.exists(staged):  # else moved in already
            if fs.exists(target):
                self._check(fs.delete(target, False), f"delete the previous {target}")
            self._make_parent(fs, target)
            self._move(self.fs, staged, fs, target, f"move {target} into place")

    # -- helpers ------------------------------------------------------------------------------------
    def _plan(self) -> _Plan:
        """This Publisher's datasets and files, staged names included (file names come with _listed)."""
        datasets = [_Dataset(INTERACTIONS, self.output.toString(), *_staged_names(INTERACTIONS))]
        datasets += [
            _Dataset(name, self._targets[name].toString(), *_staged_names(name)) for name in self.datasets
        ]
        files = []
        for index, path in enumerate(self.files):
            target = self._qualify(path)[1]
            files.append(_File(target.toString(), f"files/{index}-{target.getName()}"))
        return _Plan(tuple(datasets), tuple(files), self.report.toString())

    def _listed(self, root, plan: _Plan) -> _Plan:
        """The plan with each dataset's staged file names; PublishError if anything is not staged."""
        datasets = []
        for dataset in plan.datasets:
            folder = self._child(root, dataset.staged)
            if not self.fs.exists(folder) or not self.fs.getFileStatus(folder).isDirectory():
                raise PublishError(f"nothing was staged for the {dataset.name} dataset in {folder}")
            names = tuple(s.getPath().getName() for s in self._list_files(self.fs, folder))
            datasets.append(_Dataset(dataset.name, dataset.target, dataset.staged, dataset.aside, names))
        for file in plan.files:
            staged = self._child(root, file.staged)
            if not self.fs.exists(staged) or not self.fs.getFileStatus(staged).isFile():
                raise PublishError(f"{file.target} was not staged (expected at {staged})")
        return _Plan(tuple(datasets), plan.files, plan.report)

    def _read_plan(self, marker) -> _Plan:
        stream = self.fs.open(marker)
        try:
            doc = json.loads(self._jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8"))
        finally:
            stream.close()
        if "datasets" in doc:
            return _Plan.from_json(doc)
        # A marker of the single-dataset format: {"run_id", "files"}, for this Publisher's output and report.
        interactions = _Dataset(
            INTERACTIONS, self.output.toString(), *_staged_names(INTERACTIONS), tuple(doc["files"])
        )
        return _Plan((interactions,), (), self.report.toString())

    def _qualify(self, path: str):
        """(raw Hadoop FileSystem, qualified Hadoop Path) for a path string."""
        fs, hadoop_path = filesystem(self.spark, path)
        fs = raw_filesystem(fs)
        return fs, fs.makeQualified(hadoop_path)

    def _path(self, path: str):
        return self._jvm.org.apache.hadoop.fs.Path(path)

    def _child(self, parent, name: str):
        return self._jvm.org.apache.hadoop.fs.Path(parent, name)

    @staticmethod
    def _list_files(fs, folder) -> list:
        files = (status for status in fs.listStatus(folder) if status.isFile())
        return sorted(files, key=lambda status: status.getPath().getName())

    @staticmethod
    def _make_parent(fs, path) -> None:
        parent = path.getParent()
        if parent is not None and not fs.exists(parent):
            fs.mkdirs(parent)

    def _move(self, source_fs, source, target_fs, target, what: str) -> None:
        if source_fs.getUri().equals(target_fs.getUri()):
            self._check(source_fs.rename(source, target), f"{what}: rename {source} to {target}")
            return
        # Another bucket or file system: no rename across them, so copy, then delete the source.
        copied = self._jvm.org.apache.hadoop.fs.FileUtil.copy(
            source_fs, source, target_fs, target, True, True, source_fs.getConf()
        )
        self._check(copied, f"{what}: copy {source} to {target}")

    def _delete(self, path: str) -> None:
        target = self._path(path)
        if self.fs.exists(target):
            self._check(self.fs.delete(target, True), f"delete {target}")

    @staticmethod
    def _check(ok: bool, what: str) -> None:
        if not ok:
            raise PublishError(f"could not {what}")
