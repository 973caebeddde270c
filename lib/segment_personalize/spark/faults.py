"""Spark's errors as one line without row data, and Spark's own logging of them switched off.

A failed task's message can carry the row being written: univocity's CSV writer adds
``recordData=[<user id>, <item id>, ...]`` to a write error, and Spark logs it with the stack trace (the
executor, the task's abort, the task set's "Lost task" warning, the writer's abort) and then puts it in
the exception the driver raises. The summary keeps only what names no row: Spark's error class, the file
being read, and the innermost cause when it comes from I/O code (a disk, S3, gzip).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pyspark.sql import SparkSession

# The loggers that print a task's exception, message included; the job prints its own summary instead.
TASK_ERROR_LOGGERS = (
    "org.apache.spark.executor.Executor",  # "Exception in task ..." + trace (the driver's, in local mode)
    "org.apache.spark.util.Utils",  # "Aborting task" + trace
    "org.apache.spark.scheduler.TaskSetManager",  # "Lost task ...: <message>" (a WARN)
    "org.apache.spark.sql.execution.datasources.FileFormatWriter",  # "Aborting job" + trace
    "org.apache.spark.sql.execution.datasources.FileFormatDataWriter",
    "org.apache.spark.internal.io.SparkHadoopWriter",
)
# Messages from these packages name files, disks, buckets and codecs, never a row.
IO_PACKAGES = (
    "java.io.",
    "java.nio.",
    "java.net.",
    "java.util.zip.",
    "org.apache.hadoop.",
    "com.amazonaws.",
    "software.amazon.",
)
# What an unreadable .gz raises: truncated (EOF), not gzip at all, or a damaged block.
GZIP_FAILURES = ("java.io.EOFException", "java.util.zip.ZipException")
_ERROR_CLASS = re.compile(r"\[([A-Z][A-Z0-9_]*(?:\.[A-Z0-9_]+)*)\]")
_READ_FILE = re.compile(r"error while reading file (\S+?)\.?(?:\s|$)")
_ROW_DATA = re.compile(r"(recordData=|Internal state when error was thrown).*", re.DOTALL)
MAX_CAUSE = 300


@dataclass(frozen=True)
class Fault:
    error_class: str | None  # Spark's, e.g. TASK_WRITE_FAILED
    read_file: str | None  # the input file Spark says it failed to read
    cause: str  # the innermost cause, safe to print
    cause_class: str
    from_spark: bool = True  # False: a Python error, e.g. one injected by a test

    @property
    def unreadable_gzip(self) -> bool:
        return self.cause_class in GZIP_FAILURES or (
            self.cause_class == "java.io.IOException" and "gzip" in self.cause.lower()
        )

    def line(self) -> str:
        if not self.from_spark:
            return self.cause
        where = f" [{self.error_class}]" if self.error_class else ""
        return f"Spark failed{where}: {self.cause}"


def quiet_task_errors(spark: SparkSession) -> None:
    """Switch off the driver's loggers that print task errors (executors in a cluster keep their own)."""
    jvm = spark.sparkContext._jvm
    try:
        level = jvm.org.apache.logging.log4j.Level.OFF
        configurator = jvm.org.apache.logging.log4j.core.config.Configurator
        for name in TASK_ERROR_LOGGERS:
            configurator.setLevel(name, level)
    except Exception:  # another logging backend: Spark's logs stay as configured
        pass


def java_chain(error: BaseException) -> list[tuple[str, str]]:
    """(class name, message) of the Java exception behind ``error`` and each of its causes."""
    throwable = getattr(error, "java_exception", None) or getattr(error, "_origin", None)
    chain: list[tuple[str, str]] = []
    while throwable is not None and len(chain) < 32:
        message = throwable.getMessage()
        chain.append((str(throwable.getClass().getName()), "" if message is None else str(message)))
        throwable = throwable.getCause()
    return chain


def _safe_message(text: str) -> str:
    first = _ROW_DATA.sub("", text).strip().splitlines()
    line = first[0].strip() if first else ""
    return line[:MAX_CAUSE] + ("..." if len(line) > MAX_CAUSE else "")


def describe(error: BaseException) -> Fault:
    chain = java_chain(error)
    if not chain:  # a Python-side error: its type, and its first line, which holds no Spark row
        message = _safe_message(str(error))
        name = type(error).__name__
        return Fault(None, None, f"{name}: {message}" if message else name, name, from_spark=False)
    messages = [_ROW_DATA.sub("", message) for _, message in chain]
    error_class = next((m.group(1) for text in messages if (m := _ERROR_CLASS.search(text))), None)
    read_file = next((m.group(1) for text in messages if (m := _READ_FILE.search(text))), None)
    cause_class, cause_message = chain[-1]
    cause = cause_class
    if cause_class.startswith(IO_PACKAGES) and (safe := _safe_message(cause_message)):
        cause = f"{cause_class}: {safe}"
    return Fault(error_class, read_file, cause, cause_class)
