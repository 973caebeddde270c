"""Publish a run: stage it beside the output, then replace the previous output, report last.

A run writes its CSV to ``<output>.staging-<run id>/data`` and its report to ``.../report.json`` (a
sibling of the output folder, so never inside it nor inside the input). Only once both are complete and
checked does it write a ``_PUBLISHING`` marker there: that is the commit point. From then on:

1. the old report is deleted (no report = a run in progress: readers must wait for it);
2. the old output is replaced by the staged data:
   - ``rename`` (local disk, HDFS): the old folder is renamed into the staging folder, the staged one
     renamed into its place. The output folder is missing only between two renames;
   - ``files`` (S3, where a folder rename is a copy of every object in no useful order): each staged file
     is moved into the output folder (S3's rename of one object: a server-side copy, then a delete), then
     every file of the previous run is deleted. In between, a reader listing the folder sees old and new
     files together: that is the window S3 cannot close;
3. the staged report is moved to the report path, the finished run's marker;
4. the staging folder, with the old output in it, is deleted.

Every step can be redone, so a run that dies after the marker is finished by the next run
(``recover``), and a run that dies before it leaves a staging folder that the next run deletes. A run
that fails before the marker never touches the output folder or its report. One run at a time per
output folder: a second run started while one is publishing would finish that one's publish first, and
one started while another is still staging would delete the other's staging folder.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import SparkSession

from segment_personalize.job_config import ConfigError
from segment_personalize.spark.faults import describe
from segment_personalize.spark.io import filesystem, raw_filesystem, write_text

RENAME, FILES = "rename", "files"
RENAME_SCHEMES = ("file", "hdfs")  # where renaming a folder is one atomic operation
STAGING_INFIX = ".staging-"
MARKER = "_PUBLISHING"

# Hook(step) runs after each step; tests use it to inject faults and crashes at every step.
Hook = Callable[[str], None]
STAGED, MARKED, REPORT_REMOVED = "staged", "marked", "report_removed"
REPORT_IN, CLEANED = "report_in", "cleaned"
OUTPUT_ASIDE, OUTPUT_IN = "output_aside", "output_in"  # rename
FILE_MOVED, FILES_MOVED, OLD_DELETED = "file_moved", "files_moved", "old_deleted"  # files
STEPS = {
    RENAME: (STAGED, MARKED, REPORT_REMOVED, OUTPUT_ASIDE, OUTPUT_IN, REPORT_IN, CLEANED),
    FILES: (STAGED, MARKED, REPORT_REMOVED, FILE_MOVED, FILES_MOVED, OLD_DELETED, REPORT_IN, CLEANED),
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
    data: str  # the CSV folder Spark writes
    report: str  # the staged run report
    marker: str


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


class Publisher:
    """Stages, publishes and recovers runs for one output folder and its report.

    ``strategy`` defaults from the output's scheme; tests pass ``FILES`` on local disk to run the S3 path.
    """

    def __init__(
        self,
        spark: SparkSession,
        output_path: str,
        report_path: str,
        *,
        strategy: str | None = None,
        hook: Hook | None = None,
    ) -> None:
        self.spark = spark
        self.strategy = strategy or strategy_for(output_path)
        if self.strategy not in STEPS:
            raise ValueError(f"unknown publish strategy {self.strategy!r}")
        self.hook = hook or _no_hook
        # The raw local file system: renames and deletes must not go looking for .crc files.
        fs, self.output = filesystem(spark, output_path)
        report_fs, self.report = filesystem(spark, report_path)
        self.fs, self.report_fs = raw_filesystem(fs), raw_filesystem(report_fs)
        self.output = self.fs.makeQualified(self.output)
        self.report = self.report_fs.makeQualified(self.report)
        self._jvm = spark.sparkContext._jvm

    # -- before a run ----------------------------------------------------------------------------
    def preflight(self) -> None:
        """What can be checked on any file system, S3 included, before anything is read."""
        if self.output.getParent() is None:
            raise ConfigError(f"the output path {self.output} is a root; it must be a folder inside it")
        if self.fs.exists(self.output) and self.fs.getFileStatus(self.output).isFile():
            raise ConfigError(f"the output path {self.output} is a file; it must be a folder")
        if self.report_fs.exists(self.report) and self.report_fs.getFileStatus(self.report).isDirectory():
            raise ConfigError(f"the run report path {self.report} is a folder; it must be a file")

    def leftovers(self) -> list[str]:
        """Staging folders of earlier runs of this output, oldest first."""
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
        """Finish what a crashed run had committed to, delete what it had not; one note per leftover."""
        notes = []
        for root in self.leftovers():
            staging = self._staging(root.rsplit(STAGING_INFIX, 1)[1])
            marker = self._path(staging.marker)
            if self.fs.exists(marker):
                files = self._read_marker(marker)
                self._publish_steps(staging, files)
                notes.append(f"finished publishing run {staging.run_id}, which had stopped half-way")
            else:
                self._delete(staging.root)
                notes.append(f"deleted the staging folder of unfinished run {staging.run_id}")
        return notes

    # -- a run ------------------------------------------------------------------------------------
    def stage(self, run_id: str | None = None) -> Staging:
        return self._staging(run_id or new_run_id())

    def final_paths(self, staging: Staging, staged_files: list[str]) -> list[str]:
        """Where the staged files will be once published (what the report lists)."""
        names = [self._path(f).getName() for f in staged_files]
        return sorted(self._child(self.output, name).toString() for name in names)

    def publish(self, staging: Staging, report_text: str) -> None:
        """Replace the output with the staged run; raises PublishError (``committed`` says which side)."""
        try:
            write_text(self.spark, staging.report, report_text)
            files = [s.getPath().getName() for s in self._list_files(self._path(staging.data))]
            self.hook(STAGED)
            # The commit point: from here the next run finishes this one rather than discard it. Written
            # aside and renamed (a local file is visible while being written; an S3 object only whole).
            marker = json.dumps({"run_id": staging.run_id, "files": files})
            write_text(self.spark, staging.marker + ".tmp", marker)
            self._move(self.fs, self._path(staging.marker + ".tmp"), self._path(staging.marker), "mark")
        except Exception as error:
            self.discard(staging)
            raise PublishError(_message(error)) from None
        try:
            self.hook(MARKED)
            self._publish_steps(staging, files)
        except Exception as error:
            raise PublishError(_message(error), committed=True) from None

    def discard(self, staging: Staging) -> None:
        """Best effort: a staging folder left here is deleted by the next run anyway."""
        with contextlib.suppress(Exception):  # the original failure is what the user must see
            self._delete(staging.root)

    # -- the steps, each safe to redo -----------------------------------------------------------
    def _publish_steps(self, staging: Staging, files: list[str]) -> None:
        staged_report = self._path(staging.report)
        if self.fs.exists(staged_report):
            if self.report_fs.exists(self.report):
                self._check(self.report_fs.delete(self.report, False), "delete the old run report")
            self.hook(REPORT_REMOVED)
            if self.strategy == RENAME:
                self._replace_by_rename(staging)
            else:
                self._replace_file_by_file(staging, files)
            parent = self.report.getParent()
            if parent is not None and not self.report_fs.exists(parent):
                self.report_fs.mkdirs(parent)
            self._move_report(staged_report)
        self.hook(REPORT_IN)
        self._delete(staging.root)
        self.hook(CLEANED)

    def _replace_by_rename(self, staging: Staging) -> None:
        data, previous = self._path(staging.data), self._child(self._path(staging.root), "previous")
        if self.fs.exists(data):
            if self.fs.exists(self.output):
                if self.fs.exists(previous):  # set aside already; this is not ours
                    self._check(self.fs.delete(self.output, True), f"delete {self.output}")
                else:
                    self._move(self.fs, self.output, previous, "set the previous output aside")
            self.hook(OUTPUT_ASIDE)
            self._move(self.fs, data, self.output, "move the new output into place")
        self.hook(OUTPUT_IN)

    def _replace_file_by_file(self, staging: Staging, files: list[str]) -> None:
        data = self._path(staging.data)
        if not self.fs.exists(self.output):
            self.fs.mkdirs(self.output)
        if self.fs.exists(data):
            for status in self._list_files(data):
                target = self._child(self.output, status.getPath().getName())
                if self.fs.exists(target):  # a previous attempt copied it and died before the delete
                    self._check(self.fs.delete(target, False), f"replace {target}")
                self._move(self.fs, status.getPath(), target, "move a new output file into place")
                self.hook(FILE_MOVED)
        self.hook(FILES_MOVED)
        keep = set(files)
        for status in self.fs.listStatus(self.output):
            if status.getPath().getName() not in keep:
                self._check(self.fs.delete(status.getPath(), True), f"delete {status.getPath()}")
        self.hook(OLD_DELETED)

    # -- helpers ------------------------------------------------------------------------------------
    def _staging(self, run_id: str) -> Staging:
        root = self.output.toString() + STAGING_INFIX + run_id
        return Staging(run_id, root, root + "/data", root + "/report.json", root + "/" + MARKER)

    def _path(self, path: str):
        return self._jvm.org.apache.hadoop.fs.Path(path)

    def _child(self, parent, name: str):
        return self._jvm.org.apache.hadoop.fs.Path(parent, name)

    def _list_files(self, folder) -> list:
        files = (status for status in self.fs.listStatus(folder) if status.isFile())
        return sorted(files, key=lambda status: status.getPath().getName())

    def _read_marker(self, marker) -> list[str]:
        stream = self.fs.open(marker)
        try:
            text = self._jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8")
        finally:
            stream.close()
        return list(json.loads(text)["files"])

    def _move_report(self, staged_report) -> None:
        if self.fs.getUri().equals(self.report_fs.getUri()):
            self._move(self.fs, staged_report, self.report, "move the run report into place")
            return
        # Another bucket or file system: no rename across them, so copy, then delete the staged one.
        copied = self._jvm.org.apache.hadoop.fs.FileUtil.copy(
            self.fs, staged_report, self.report_fs, self.report, True, True, self.fs.getConf()
        )
        self._check(copied, f"copy the run report {staged_report} to {self.report}")

    def _move(self, fs, source, target, what: str) -> None:
        self._check(fs.rename(source, target), f"{what}: rename {source} to {target}")

    def _delete(self, path: str) -> None:
        target = self._path(path)
        if self.fs.exists(target):
            self._check(self.fs.delete(target, True), f"delete {target}")

    @staticmethod
    def _check(ok: bool, what: str) -> None:
        if not ok:
            raise PublishError(f"could not {what}")
