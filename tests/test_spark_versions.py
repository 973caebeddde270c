"""Glue 5.1 (Spark 3.5.6) and Glue 6.0 (Spark 4.1.1) run the job with the same semantics.

The suite runs once per version (``make test`` / ``make test GLUE_VERSION=5.1``; CI runs both). Each test
here pins, with exact results, one place where the two Sparks' defaults differ or where the job relies
on a behaviour that a migration guide lists as changed (docs/glue-versions.md has the audit).
"""

from __future__ import annotations

import ast
import os
import tomllib
from pathlib import Path

import pyspark
import pytest
from packaging.specifiers import SpecifierSet
from pyspark.sql import SparkSession
from segment_personalize import rules
from segment_personalize.rules import DropReason, MappingConfig
from segment_personalize.spark import glue
from segment_personalize.spark.io import read_interactions, write_interactions
from segment_personalize.spark.schema import LINE_OPTIONS, event_schema
from segment_personalize.spark.session import JOB_SQL_CONF, SEMANTICS_SQL_CONF
from segment_personalize.spark.transform import TIMESTAMP, classify, sql_string

from tests.spark_support import session_conf

ROOT = Path(__file__).resolve().parent.parent
SPARK_OF_GLUE = {"6.0": "4.1", "5.1": "3.5"}  # Glue 6.0: Spark 4.1.1; Glue 5.1: Spark 3.5.6
SPARK_4 = int(pyspark.__version__.split(".")[0]) >= 4


def classified(spark: SparkSession, lines: list[str]) -> list[tuple[str | None, int | None]]:
    frame = classify(spark.createDataFrame([(line,) for line in lines], "value string"), MappingConfig())
    return [(row["drop_reason"], row[TIMESTAMP]) for row in frame.collect()]


def track_line(user_token: str = '"u1"', timestamp: str = "2024-01-01T00:00:00Z") -> str:
    """A track call with ``user_token`` written into the line as is (JSON text, not a Python value)."""
    head = '{"type":"track","event":"Product Clicked","userId":'
    return f'{head}{user_token},"timestamp":"{timestamp}","properties":{{"sku":"s1"}}}}'


# --- The runtime under test ----------------------------------------------------------------------


def test_the_suite_runs_on_the_spark_of_the_selected_glue_version() -> None:
    """make (and docker-compose.yml) export GLUE_VERSION: a suite that claims 5.1 must really run Spark
    3.5, and 6.0 Spark 4.1. The patch level is requirements/glue-<version>.txt's pin locally; an AWS
    image may carry another (AWS's Glue 5 image was documented with Spark 3.5.4)."""
    version = os.environ.get("GLUE_VERSION")
    if version is None:
        pytest.skip("GLUE_VERSION is not set (run through make test)")
    assert pyspark.__version__.rsplit(".", 1)[0] == SPARK_OF_GLUE[version]


def test_the_job_session_has_the_pinned_semantics(spark: SparkSession) -> None:
    assert SEMANTICS_SQL_CONF == {
        "spark.sql.ansi.enabled": "true",
        "spark.sql.legacy.sizeOfNull": "false",
        "spark.sql.json.enableExactStringParsing": "false",
        "spark.sql.parser.escapedStringLiterals": "false",
    }
    assert SEMANTICS_SQL_CONF.items() <= JOB_SQL_CONF.items()
    assert {key: spark.conf.get(key) for key in JOB_SQL_CONF} == JOB_SQL_CONF


def test_the_glue_path_pins_the_same_settings(spark: SparkSession, monkeypatch: pytest.MonkeyPatch) -> None:
    """In Glue the session comes from GlueContext, with Glue's defaults: start_spark pins the same conf."""
    import awsglue.context

    class FakeGlueContext:  # the real one needs Glue's JVM classes
        def __init__(self, sc: object) -> None:
            self.spark_session = spark

    def submitted_conf() -> pyspark.SparkConf:  # as under spark-submit in Glue: a master is set
        return pyspark.SparkConf().set("spark.master", "local[2]")

    monkeypatch.setattr(awsglue.context, "GlueContext", FakeGlueContext)
    monkeypatch.setattr(glue, "SparkConf", submitted_conf)
    # Start from the other values, as a session with Spark 3.5's (or a job's own) settings would have.
    for key, value in {
        "spark.sql.ansi.enabled": "false",
        "spark.sql.legacy.sizeOfNull": "true",
        "spark.sql.json.enableExactStringParsing": "true",
    }.items():
        spark.conf.set(key, value)
    try:
        session, glue_context = glue.start_spark("glue-path")
        assert isinstance(glue_context, FakeGlueContext)
        assert session is spark
        assert {key: spark.conf.get(key) for key in JOB_SQL_CONF} == JOB_SQL_CONF
    finally:
        for key, value in JOB_SQL_CONF.items():
            spark.conf.set(key, value)


# --- ANSI mode: casts and arithmetic ---------------------------------------------------------------


def test_ansi_is_in_force_so_an_unguarded_cast_would_fail_the_run(spark: SparkSession) -> None:
    with pytest.raises(Exception, match="CAST_INVALID_INPUT"):
        spark.sql("SELECT CAST('ab' AS INT)").collect()


# (timestamp text, (drop reason, epoch seconds)): one classification for all, as a run would do it.
TIMESTAMP_CASES = [
    ("2024-01-01T00:00:00Z", (None, 1704067200)),
    ("2024-01-01T00:00:00.999999999+05:30", (None, 1704067200 - 19800)),
    ("2024-01-01T00:00:00-18:00", (None, 1704067200 + 64800)),
    ("0001-01-01T00:00:00+18:00", (None, -62135596800 - 64800)),
    ("9999-12-31T23:59:59-18:00", (None, 253402300799 + 64800)),
    ("2024-02-29T12:00:00", (None, 1709208000)),
    # Each of these would raise under ANSI if the job cast it without checking it first.
    ("2023-02-29T00:00:00Z", (DropReason.INVALID_TIMESTAMP.value, None)),  # no Feb 29: try_cast
    ("2024-01-01T00:00:00+ab:cd", (DropReason.INVALID_TIMESTAMP.value, None)),  # offset not digits
    ("2024-01-01T00:00:00+18:01", (DropReason.INVALID_TIMESTAMP.value, None)),  # beyond Java's range
    ("2024-01-01 00:00:00Z", (DropReason.INVALID_TIMESTAMP.value, None)),
    ("yesterday", (DropReason.INVALID_TIMESTAMP.value, None)),
    ("", (DropReason.INVALID_TIMESTAMP.value, None)),
]


def test_timestamps_that_a_plain_cast_would_raise_on_are_guarded(spark: SparkSession) -> None:
    got = classified(spark, [track_line(timestamp=text) for text, _ in TIMESTAMP_CASES])
    assert got == [expected for _, expected in TIMESTAMP_CASES]
    assert [rules.parse_timestamp(text) for text, _ in TIMESTAMP_CASES] == [
        s for _, (_, s) in TIMESTAMP_CASES
    ]


@pytest.mark.parametrize("policy", ["EXCEPTION", "CORRECTED"])  # Spark 3.5's and Spark 4's defaults
def test_timestamps_do_not_depend_on_the_time_parser_policy(spark: SparkSession, policy: str) -> None:
    """Spark 4 changed spark.sql.legacy.timeParserPolicy's default (EXCEPTION -> CORRECTED); the job
    parses no datetime pattern, so it does not pin it: this shows the results do not move."""
    times = ["2024-01-01T00:00:00.5-03:00", "1970-01-01T00:00:00Z", "2023-02-29T00:00:00Z"]
    with session_conf(spark, "spark.sql.legacy.timeParserPolicy", policy):
        got = classified(spark, [track_line(timestamp=t) for t in times])
    assert got == [(None, 1704078000), (None, 0), (DropReason.INVALID_TIMESTAMP.value, None)]


# --- size(null) -----------------------------------------------------------------------------------


def test_size_of_null_is_null(spark: SparkSession) -> None:
    row = spark.sql("SELECT size(CAST(NULL AS ARRAY<STRING>)) AS n, size(array()) AS zero").first()
    assert (row["n"], row["zero"]) == (None, 0)


def test_an_event_without_products_has_no_product_skips(spark: SparkSession) -> None:
    """The product counts take size() of a null products[] for a non-order event: guarded to 0."""
    frame = classify(spark.createDataFrame([(track_line(),)], "value string"), MappingConfig())
    skips = [c for c in frame.columns if c.startswith("n_")]
    assert [tuple(row) for row in frame.select("drop_reason", "item_ids", *skips).collect()] == [
        (None, ["s1"], *([0] * len(skips)))
    ]


# --- JSON: how a token is rendered into a string column, corrupt records, partial results ---------

# A non-string token read into a StringType column, as the rules expect to see it (rules.py).
RENDERED = [
    ("1e3", "1000.0"),
    ("1.0e3", "1000.0"),
    ("1E+3", "1000.0"),
    ("1.50", "1.5"),
    ("-0", "0"),
    ("1e400", '"Infinity"'),
    ('{ "a" : 1 }', '{"a":1}'),
    ("[1, 2 ]", "[1,2]"),
    ("true", "true"),
    ("12345678901234567890", "12345678901234567890"),
    ("100", "100"),
]


def test_from_json_renders_tokens_as_the_rules_expect(spark: SparkSession) -> None:
    lines = [track_line(token) for token, _ in RENDERED]
    frame = spark.createDataFrame([(line,) for line in lines], "value string")
    parsed = frame.selectExpr(f"from_json(value, '{event_schema(MappingConfig()).simpleString()}') AS j")
    assert [row["j"]["userId"] for row in parsed.collect()] == [text for _, text in RENDERED]


def test_the_json_reader_renders_tokens_the_same_way(spark: SparkSession, tmp_path: Path) -> None:
    """spark.read.json would read 1e3 as '1e3' on Spark 4 by default: pinned to from_json's rendering."""
    (tmp_path / "in.json").write_text("".join(track_line(token) + "\n" for token, _ in RENDERED))
    frame = spark.read.schema(event_schema(MappingConfig())).json(str(tmp_path / "in.json"))
    assert [row["userId"] for row in frame.collect()] == [text for _, text in RENDERED]


@pytest.mark.skipif(not SPARK_4, reason="exact string parsing exists from Spark 4.0")
def test_without_the_pin_spark_4_reads_tokens_as_written(spark: SparkSession, tmp_path: Path) -> None:
    (tmp_path / "in.json").write_text(track_line("1e3") + "\n")
    with session_conf(spark, "spark.sql.json.enableExactStringParsing", "true"):
        frame = spark.read.schema(event_schema(MappingConfig())).json(str(tmp_path / "in.json"))
        assert frame.first()["userId"] == "1e3"


def test_float_and_container_ids_are_invalid_and_integers_kept(spark: SparkSession) -> None:
    verdicts = [reason for reason, _ in classified(spark, [track_line(token) for token, _ in RENDERED])]
    invalid = DropReason.INVALID_USER_ID.value
    assert verdicts == [invalid] * 4 + [None] + [invalid] * 4 + [None, None]
    python = [rules.map_line(track_line(token), MappingConfig()) for token, _ in RENDERED]
    assert [getattr(outcome, "reason", None) for outcome in python] == verdicts


LINES_PARSED = [
    # (line, userId, properties, corrupt?) with the read schema and the job's options
    (track_line(), "u1", {"sku": "s1", "products": None}, False),
    ('{"userId":"u"} {"x":1}', "u", None, False),  # Spark stops after the first value (rules.parse_line too)
    ('{"userId":"u","userId":"v"}', "v", None, False),  # the last duplicate key wins
    ('{"USERID":"u"}', None, None, False),  # field names are case-sensitive in JSON
    ('{"userId":"a\\ud800b"}', "a?b", None, False),  # a lone surrogate becomes '?'
    # Partial results (spark.sql.json.enablePartialResults, on in both): the fields that fit are kept
    # and the line is marked corrupt, so the job reads it again with properties as text.
    ('{"userId":"u","properties":{"products":"nope","sku":"s"}}', "u", {"sku": "s", "products": None}, True),
    ('{"userId":"u","properties":"{\\"sku\\":\\"s\\"}"}', "u", None, True),
    ('[{"userId":"x"}]', None, None, True),
    ("null", None, None, True),
    ("42", None, None, True),
    ('{"userId": NaN}', None, None, True),
    ("{'userId': 'u'}", None, None, True),
    ('{"userId":"u",}', None, None, True),
]


def test_from_json_corrupt_records_and_partial_results(spark: SparkSession) -> None:
    frame = spark.createDataFrame([(line,) for line, *_ in LINES_PARSED], "value string")
    parsed = frame.selectExpr(
        "value",
        f"from_json(value, '{event_schema(MappingConfig()).simpleString()}', "
        f"map({', '.join(sql_string(k) + ', ' + sql_string(v) for k, v in LINE_OPTIONS.items())})) AS j",
    ).collect()
    got = [
        (
            row["value"],
            row["j"]["userId"],
            row["j"]["properties"].asDict() if row["j"]["properties"] else None,
            row["j"]["_corrupt_record"] == row["value"],
        )
        for row in parsed
    ]
    assert got == LINES_PARSED


def test_a_blank_line_parses_to_null(spark: SparkSession) -> None:
    frame = spark.createDataFrame([("",), (" ",)], "value string")
    schema = event_schema(MappingConfig()).simpleString()
    assert [row["j"] for row in frame.selectExpr(f"from_json(value, '{schema}') AS j").collect()] == [
        None,
        None,
    ]


# --- String functions and literals the expressions use -----------------------------------------------


def test_string_functions_the_rules_are_built_from(spark: SparkSession) -> None:
    row = spark.sql(
        "SELECT btrim(' \\t x \\r\\n', ' \\t\\r\\n') AS trimmed,"
        " char_length('é𝄞') AS chars, octet_length('é𝄞') AS bytes,"
        " 'x' RLIKE '^(?:x)\\\\z' AS whole, 'x\\n' RLIKE '^(?:x)\\\\z' AS before_newline,"
        " 'a\\\\b' AS backslash, '\\'' AS quote,"
        " locate('-', '2024-01-01T00:00:00-05:00', 12) AS offset_at, substring('ab', -5, 2) AS short,"
        " array_distinct(array('b', 'a', 'b')) AS distinct_items, 'Ab' = 'ab' AS folded"
    ).first()
    assert row.asDict() == {
        "trimmed": "x",
        "chars": 2,
        "bytes": 6,
        "whole": True,
        "before_newline": False,
        "backslash": "a\\b",
        "quote": "'",
        "offset_at": 20,
        "short": "",
        "distinct_items": ["b", "a"],
        "folded": False,
    }


# --- CSV: what is written and read back --------------------------------------------------------------


def test_csv_written_and_read_back_exactly(spark: SparkSession, tmp_path: Path) -> None:
    rows = [
        ("u,1", 'i"2', "e\n3", 1),
        (" lead", "trail ", "\tt", 2),
        ("é𝄞", "a\\b", "x\r\ny", 3),
        ("#c", "'q'", '"', 4),
        ("n\\N", "null", "NaN", -5),
    ]
    frame = spark.createDataFrame(rows, "USER_ID string, ITEM_ID string, EVENT_TYPE string, TIMESTAMP bigint")
    output = str(tmp_path / "interactions")
    [written] = write_interactions(frame, output, single_file=True)
    assert written.endswith("/interactions.csv")
    assert (tmp_path / "interactions" / "interactions.csv").read_bytes().decode("utf-8") == (
        "USER_ID,ITEM_ID,EVENT_TYPE,TIMESTAMP\n"
        '"u,1","i""2","e\n3",1\n'
        " lead,trail ,\tt,2\n"
        'é𝄞,a\\b,"x\r\ny",3\n'
        '"#c",\'q\',"""",4\n'
        "n\\N,null,NaN,-5\n"
    )
    assert [tuple(row) for row in read_interactions(spark, output).collect()] == rows


# --- Python 3.13 (Glue 6.0) while this machine runs 3.11 -------------------------------------------

# Modules that Python 3.13 no longer has: PEP 594's dead batteries and lib2to3 (removed in 3.13), and
# what 3.12 removed before them (distutils, imp, asynchat, asyncore, smtpd).
REMOVED_BY_313 = frozenset(
    {
        *("aifc", "audioop", "cgi", "cgitb", "chunk", "crypt", "imghdr", "mailcap", "msilib", "nis"),
        *("nntplib", "ossaudiodev", "pipes", "sndhdr", "spwd", "sunau", "telnetlib", "uu", "xdrlib"),
        *("lib2to3", "tkinter.tix", "distutils", "imp", "asynchat", "asyncore", "smtpd"),
    }
)
SKIPPED_DIRS = {".venv", ".git", "build", "dist", "node_modules", ".ruff_cache", ".pytest_cache"}


def _python_files() -> list[Path]:
    found = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [name for name in dirs if name not in SKIPPED_DIRS]  # never walk the virtualenvs
        found += [Path(folder, name) for name in files if name.endswith(".py")]
    return sorted(found)


def _imported(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _removed(name: str) -> bool:
    return any(name == gone or name.startswith(gone + ".") for gone in REMOVED_BY_313)


def test_no_python_file_imports_a_module_removed_by_python_313() -> None:
    files = _python_files()
    assert ROOT / "jobs" / "segment_events_to_personalize.py" in files
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            filter(_removed, _imported(ast.parse(path.read_text(), str(path))))
        )
        for path in files
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_removed_module_check_sees_every_import_form() -> None:
    tree = ast.parse(
        "import cgi\nfrom distutils.core import setup\nfrom os import path\nimport imghdr as x\n"
    )
    assert sorted(filter(_removed, _imported(tree))) == [
        "cgi",
        "distutils.core",
        "distutils.core.setup",
        "imghdr",
    ]


def test_the_package_admits_python_311_to_313_and_lints_for_the_oldest() -> None:
    """ruff's target is the oldest Python the package admits: newer syntax would break Glue 5.1."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    admitted = SpecifierSet(pyproject["project"]["requires-python"])
    assert [version for version in ("3.10", "3.11", "3.12", "3.13") if version in admitted] == [
        "3.11",
        "3.12",
        "3.13",
    ]
    assert pyproject["tool"]["ruff"]["target-version"] == "py311"


# --- Glue 6.0's parameter parsing ---------------------------------------------------------------------


def test_an_abbreviated_parameter_is_refused_as_glue_6_does() -> None:
    """Glue 6.0's getResolvedOptions no longer takes --S3_JSON_INPUT for --S3_JSON_INPUT_PATH; the
    5.1.0 library used here (and in Glue 5.1) still would. The job refuses it on both, in one line."""
    from segment_personalize.job_config import ConfigError, parse_job_args

    argv = ["job.py", "--JOB_NAME", "j", "--S3_JSON_INPUT", "in", "--S3_CSV_OUTPUT_PATH", "out"]
    with pytest.raises(ConfigError) as refused:
        parse_job_args(argv)
    assert str(refused.value) == "--S3_JSON_INPUT is not a job parameter: write --S3_JSON_INPUT_PATH in full"
    with pytest.raises(ConfigError, match="--S3 is not a job parameter: write --S3_JSON_INPUT_PATH or "):
        parse_job_args(["job.py", "--JOB_NAME", "j", "--S3", "x"])
    full = parse_job_args([*argv[:3], "--S3_JSON_INPUT_PATH", "in", *argv[5:], "--JOB_ID", "j_1"])
    assert (full.input_path, full.output_path) == ("in", "out")
