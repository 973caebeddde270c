"""The job's I/O, through Hadoop's FileSystem API so the same code serves s3:// in Glue and local paths.

Reading lines as text (not spark.read.json) keeps one input line = one record: the JSON reader would
silently skip blank lines and explode a top-level array into several records.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from py4j.protocol import Py4JJavaError
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import LongType, StringType, StructField, StructType

from segment_personalize.rules import CSV_HEADER

DATA_SUFFIXES = (".gz", ".json")
DATA_GLOB = "*.{" + ",".join(suffix.lstrip(".") for suffix in DATA_SUFFIXES) + "}"  # Hadoop glob
SINGLE_FILE_NAME = "interactions.csv"
PROBE_THREADS = 8  # concurrent reads when looking for the unreadable input file

# RFC 4180: quote only where needed, a quote inside a field is doubled (Spark's default escape is a
# backslash, which no RFC 4180 reader understands). Spark trims spaces on write unless told not to,
# which would change ids.
CSV_OPTIONS = {
    "header": "true",
    "quote": '"',
    "escape": '"',
    "ignoreLeadingWhiteSpace": "false",
    "ignoreTrailingWhiteSpace": "false",
    "lineSep": "\n",
    "encoding": "UTF-8",
}
INTERACTIONS_SCHEMA = StructType(
    [
        StructField(CSV_HEADER[0], StringType(), nullable=False),
        StructField(CSV_HEADER[1], StringType(), nullable=False),
        StructField(CSV_HEADER[2], StringType(), nullable=False),
        StructField(CSV_HEADER[3], LongType(), nullable=False),
    ]
)


def interactions_schema(columns: tuple[str, ...] = CSV_HEADER) -> StructType:
    """The written CSV's schema for its columns (MappingConfig.csv_header): EVENT_VALUE, when there, is
    text that may be empty (Personalize allows null there)."""
    extra = [StructField(name, StringType(), nullable=True) for name in columns[len(CSV_HEADER) :]]
    return StructType([*INTERACTIONS_SCHEMA.fields, *extra])


class InputError(Exception):
    """Input that cannot be read; the message is meant for the person running the job."""


@dataclass(frozen=True)
class Input:
    lines: DataFrame  # one row per line, column ``value``
    data_files: tuple[str, ...]
    skipped_files: tuple[str, ...]


def filesystem(spark: SparkSession, path: str):
    """(Hadoop FileSystem, Hadoop Path) for ``path``: local disk, s3:// in Glue, s3a://, hdfs://."""
    jvm = spark.sparkContext._jvm
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
    return hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), hadoop_path


def raw_filesystem(fs):
    """The file system under a checksumming one (local disk): only it lists the .crc files."""
    try:
        return fs.getRawFileSystem()
    except Exception:  # not a ChecksumFileSystem (S3 and friends): nothing hidden
        return fs


def read_input(spark: SparkSession, path: str) -> Input:
    """The lines of every *.gz / *.json file under ``path``, recursively; other files are reported as skipped.

    The reader lists the folder itself, filtered by name (``data_files`` is what it found, so the files
    reported are the files read); a second, unfiltered listing finds the skipped ones. Both run on the
    driver, unless a folder holds more than 32 folders (Spark then lists those with a task per folder).
    Handing Spark a list of files instead makes it check each one again, and for more than 32 paths it
    does that with a Spark job of one task per file: over a second for 338 files here, a tenth of the
    run. Spark's index leaves out _* and .* files (Hadoop bookkeeping such as _SUCCESS and .crc)
    from both listings.
    """
    fs, root = filesystem(spark, path)
    if not fs.exists(root):
        raise InputError(f"input path does not exist: {path}")
    if fs.getFileStatus(root).isFile():
        if root.getName().endswith(DATA_SUFFIXES):
            return Input(spark.read.text(path), (path,), ())
        return Input(spark.createDataFrame([], "value string"), (), (path,))
    lines = spark.read.option("recursiveFileLookup", "true").option("pathGlobFilter", DATA_GLOB).text(path)
    data = tuple(sorted(lines.inputFiles()))
    everything = spark.read.option("recursiveFileLookup", "true").text(path).inputFiles()
    return Input(lines, data, tuple(sorted(set(everything) - set(data))))


def write_interactions(
    interactions: DataFrame, output_path: str, single_file: bool, single_file_name: str = SINGLE_FILE_NAME
) -> list[str]:
    """Write the CSV folder and leave nothing in it but CSV data files; returns their paths. Users and
    Items are written the same way (``single_file_name``: users.csv, items.csv).

    The job gives it a fresh staging folder (spark/publish.py), never the published output: Spark's
    overwrite deletes a folder before writing it, so a failed write would leave nothing behind.
    """
    spark = interactions.sparkSession
    spark.sparkContext._jsc.hadoopConfiguration().set(
        "mapreduce.fileoutputcommitter.marksuccessfuljobs", "false"
    )
    fs, root = filesystem(spark, output_path)
    fs.setWriteChecksum(False)
    frame = interactions.coalesce(1) if single_file else interactions
    frame.write.mode("overwrite").options(**CSV_OPTIONS).csv(output_path)

    fs = raw_filesystem(fs)
    kept: list = []
    for status in fs.listStatus(root):
        file_path = status.getPath()
        name = file_path.getName()
        if name.startswith("part-") and name.endswith(".csv") and status.isFile():
            kept.append(file_path)
        else:
            # Personalize imports every object under the prefix; its tolerance of others is undocumented.
            fs.delete(file_path, True)
    if single_file and len(kept) == 1:
        target = root.suffix("/" + single_file_name)
        fs.rename(kept[0], target)
        kept = [target]
    return sorted(p.toString() for p in kept)


def read_interactions(
    spark: SparkSession, output_path: str, columns: tuple[str, ...] = CSV_HEADER
) -> DataFrame:
    """Read the written CSV back as Personalize will: header, RFC 4180 quoting, fields may span lines."""
    return (
        spark.read.schema(interactions_schema(columns))
        .options(**CSV_OPTIONS, multiLine="true", mode="FAILFAST")
        .csv(output_path)
    )


def read_metadata(spark: SparkSession, output_path: str, columns: tuple[str, ...]) -> DataFrame:
    """A written Users or Items CSV read back as Personalize reads it: every column text, empty cells null."""
    schema = StructType([StructField(name, StringType(), nullable=True) for name in columns])
    return (
        spark.read.schema(schema).options(**CSV_OPTIONS, multiLine="true", mode="FAILFAST").csv(output_path)
    )


def write_text(spark: SparkSession, path: str, text: str) -> None:
    fs, target = filesystem(spark, path)
    fs.setWriteChecksum(False)  # no .crc beside the report on local disk
    stream = fs.create(target, True)
    try:
        stream.write(bytearray(text.encode("utf-8")))
    finally:
        stream.close()


def _gunzips(spark: SparkSession, path: str) -> bool:
    """Decompress the file to its end in the JVM (Hadoop's codec, as Spark reads it); False if that fails."""
    jvm = spark.sparkContext._jvm
    fs, file_path = filesystem(spark, path)
    codec = jvm.org.apache.hadoop.io.compress.CompressionCodecFactory(fs.getConf()).getCodec(file_path)
    try:
        stream = fs.open(file_path)
        if codec is not None:
            stream = codec.createInputStream(stream)
        jvm.org.apache.hadoop.io.IOUtils.copyBytes(
            stream, jvm.java.io.OutputStream.nullOutputStream(), 1 << 16, True
        )
    except Py4JJavaError:
        return False
    return True


def find_unreadable_gzip(spark: SparkSession, path: str) -> str | None:
    """The first *.gz under ``path`` that does not decompress to its end, or None.

    Spark 4 names the file it failed to read; Spark 3.5 (Glue 5.1) does not for a truncated one, so after
    such a failure the job looks for it, reading the .gz files again on the driver (a few at a time).
    """
    files = [f for f in read_input(spark, path).data_files if f.endswith(".gz")]
    with ThreadPoolExecutor(max_workers=PROBE_THREADS) as pool:
        for file, ok in zip(files, pool.map(lambda f: _gunzips(spark, f), files), strict=True):
            if not ok:
                return file
    return None
