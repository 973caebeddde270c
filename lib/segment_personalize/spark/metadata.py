"""Users and Items metadata as Spark native expressions, built from ``segment_personalize.metadata``
(no UDFs): the fit of one cell (``fit_sql``), the latest fitting value per id and column in one
aggregation (``latest_frame``), its counts (``metric_columns``, an Observation) and the report's coverage
of a written dataset (``coverage``).

The input of ``latest_frame`` is one row per record: the id, its ``timestamp`` (epoch seconds) and a
``fields`` struct with one StringType field per distinct source, exactly as ``from_json`` gives it with
a StringType-leaf schema (``source_schema``), so a value's text is Spark's rendering of its JSON token,
which is what the rules are phrased on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame, Observation
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from segment_personalize import metadata, rules
from segment_personalize.personalize_schema import Column
from segment_personalize.spark.ids import has_unwritable_character as _has_unwritable_character
from segment_personalize.spark.ids import is_blank as _is_blank
from segment_personalize.spark.sql import Sql, sql_string
from segment_personalize.spark.sql import matches as _matches
from segment_personalize.spark.sql import name as _name
from segment_personalize.spark.sql import options_map as _options
from segment_personalize.spark.values import render_value

FIELDS, TIMESTAMP = "fields", "timestamp"


def _categorical_scalar_fits(text: Sql) -> Sql:
    """metadata.categorical_scalar_fits (``text`` not null)."""
    infinities = ", ".join(sql_string(t) for t in metadata.INFINITY_TEXTS)
    containers = " OR ".join(
        f"(startswith({text}, {sql_string(first)}) AND endswith({text}, {sql_string(last)}))"
        for first, last in rules.CONTAINER_DELIMITERS
    )
    return (
        f"NOT ({_is_blank(text)} OR {text} IN ({infinities}) OR {containers}"
        f" OR (contains({text}, '.') AND {_matches(text, rules.FLOAT_TEXT_BODY)}))"
    )


def _is_array_text(text: Sql) -> Sql:
    return f"(startswith({text}, '[') AND endswith({text}, ']'))"


def _parsed_array(text: Sql) -> Sql:
    """metadata.is_array_text's text parsed as rules.as_array parses it: null if it is not one."""
    options = _options(rules.SPARK_JSON_OPTIONS)
    return f"CASE WHEN {_is_array_text(text)} THEN from_json({text}, 'array<string>', {options}) END"


def _candidate(text: Sql, array: Sql) -> Sql:
    """The cell before the checks on the written cell: the scalar text if it fits as one, or the
    elements of ``array`` (``text`` parsed by _parsed_array) joined, if every one fits."""
    element_fits = f"e IS NOT NULL AND {_categorical_scalar_fits('e')}"
    separator = sql_string(metadata.MULTI_VALUE_SEPARATOR)
    return (
        f"CASE WHEN {text} IS NULL THEN NULL"
        f" WHEN {_is_array_text(text)} THEN CASE WHEN size({array}) > 0"
        f" AND forall({array}, e -> {element_fits}) THEN array_join({array}, {separator}) END"
        f" WHEN {_categorical_scalar_fits(text)} THEN {text} END"
    )


def _checked_cell(candidate: Sql) -> Sql:
    """metadata.categorical_cell_fits. Counting characters means decoding UTF-8; no text of at most
    the limit in bytes needs it. An element's unwritable character is the joined cell's too."""
    limit = metadata.MAX_CATEGORICAL_LENGTH
    length_fits = f"(octet_length({candidate}) <= {limit} OR char_length({candidate}) <= {limit})"
    return f"CASE WHEN {length_fits} AND NOT {_has_unwritable_character(candidate)} THEN {candidate} END"


def _categorical(text: Sql) -> Sql:
    """metadata.fit_categorical of Spark's text, as one expression (fit_frame stages the same parts)."""
    return _checked_cell(_candidate(text, _parsed_array(text)))


def _int(text: Sql) -> Sql:
    """metadata.fit_int_text: try_cast is null out of the 32-bit range, in ANSI mode too."""
    return (
        f"CASE WHEN {_matches(text, metadata.INT_TEXT_BODY)} THEN CAST(try_cast({text} AS INT) AS STRING) END"
    )


def fit_sql(text_sql: Sql, kind: str) -> Sql:
    """metadata.fit_value on the text Spark reads: the cell text, or null when it does not fit."""
    if kind == "string":
        return _categorical(text_sql)
    if kind == "float":
        return render_value(text_sql)
    if kind == "int":
        return _int(text_sql)
    raise ValueError(f"unknown column kind {kind!r}; use one of {', '.join(metadata.KINDS)}")


def source_schema(columns: Sequence[Column], read_fields: Sequence[str] = ()) -> list[StructField]:
    """The StringType fields a read schema adds for these columns' sources (``read_fields``: the fields
    it already reads in the same object, which the columns share; metadata.validate_sources checks
    them first)."""
    return [StructField(name, StringType()) for name in metadata.source_fields(columns, read_fields)]


def fields_struct(columns: Sequence[Column]) -> StructType:
    """The ``fields`` struct latest_frame reads: one StringType field per distinct source."""
    return StructType(source_schema(columns))


def _cell(index: int) -> str:
    return f"_cell_{index}"


def _present(index: int) -> str:
    return f"_present_{index}"


def fit_frame(rows: DataFrame, id_column: str, columns: Sequence[Column]) -> DataFrame:
    """Per record: the id, the timestamp, and per column whether a value was present and its cell.

    Categorical cells are built in stages of their own projection, as sql.then does: the
    array's parse and the joined candidate are each read several times, and Spark evaluates a
    non-cheap expression once per row only when it has its own projection. Written as fit_sql's
    single expression, 40 categorical columns took seconds to plan and compile.
    """
    keys = [_name(id_column), _name(TIMESTAMP)]
    texts, arrays, candidates, cells = [], [], [], []
    for index, column in enumerate(columns):
        text = f"{FIELDS}.{_name(column.source)}"
        texts.append(f"{text} AS _text_{index}")
        if column.kind == "string":
            arrays.append(f"{_parsed_array(f'_text_{index}')} AS _array_{index}")
            candidates.append(f"{_candidate(f'_text_{index}', f'_array_{index}')} AS _candidate_{index}")
            cells.append(f"{_checked_cell(f'_candidate_{index}')} AS {_cell(index)}")
        else:
            cells.append(f"{fit_sql(f'_text_{index}', column.kind)} AS {_cell(index)}")
    present = [f"_text_{i} IS NOT NULL AS {_present(i)}" for i in range(len(columns))]
    staged = rows.selectExpr(*keys, *texts).selectExpr("*", *arrays)
    staged = staged.selectExpr("*", *candidates)
    return staged.selectExpr(*keys, *present, *cells)


def metric_columns(columns: Sequence[Column]) -> list[SparkColumn]:
    """The counts of metadata.MetadataTable.metrics, over fit_frame's rows (an Observation's metrics)."""
    per_column = [
        f"coalesce(sum(CASE WHEN {_present(i)} AND {_cell(i)} IS NULL THEN 1 ELSE 0 END), 0)"
        for i in range(len(columns))
    ]
    total = " + ".join(per_column) if per_column else "0"
    return [
        F.expr("count(1) AS records"),
        F.expr(f"CAST({total} AS BIGINT) AS values_not_fitting"),
        *(
            F.expr(f"{sql} AS {_name(metadata.not_fitting_metric(c.name))}")
            for sql, c in zip(per_column, columns, strict=True)
        ),
    ]


def latest_frame(
    rows: DataFrame,
    id_column: str,
    header: str,
    columns: Sequence[Column],
    observation: Observation | None = None,
) -> DataFrame:
    """(header, *column names) as strings: the latest fitting value per id and column, one groupBy.

    Per column, the max over struct(timestamp, cell) of the records where the cell fits: the greatest
    timestamp, then the greatest text (code-point order, as metadata.latest_values). Records without
    any fitting cell are left out before the shuffle, so an id without one has no row. ``observation``,
    when given, collects metric_columns on the fitted records.
    """
    if not columns:
        raise ValueError("latest_frame needs at least one column")
    fitted = fit_frame(rows, id_column, columns)
    if observation is not None:
        fitted = fitted.observe(observation, *metric_columns(columns))
    any_cell = " OR ".join(f"{_cell(i)} IS NOT NULL" for i in range(len(columns)))
    latest = [
        F.expr(
            f"max(CASE WHEN {_cell(i)} IS NOT NULL THEN struct({_name(TIMESTAMP)} AS t, {_cell(i)} AS v) END)"
        ).alias(f"_latest_{i}")
        for i in range(len(columns))
    ]
    grouped = fitted.where(any_cell).groupBy(F.col(id_column)).agg(*latest)
    return grouped.selectExpr(
        f"{_name(id_column)} AS {_name(header)}",
        *(f"_latest_{i}.v AS {_name(c.name)}" for i, c in enumerate(columns)),
    )


@dataclass(frozen=True)
class MetadataOutput:
    """A Users or Items dataset to write, and its counts (read them only after the write)."""

    frame: DataFrame  # latest_frame's rows
    records: Observation  # metric_columns over the input records
    written: Observation  # the rows the write wrote

    def counts(self) -> dict[str, int]:
        return {**self.records.get, "rows_written": int(self.written.get["rows"])}


def metadata_output(
    rows: DataFrame, id_column: str, header: str, columns: Sequence[Column], name: str
) -> MetadataOutput:
    """latest_frame with both Observations attached (``name``: users, items)."""
    records, written = Observation(f"{name}_records"), Observation(f"{name}_written")
    frame = latest_frame(rows, id_column, header, columns, records)
    return MetadataOutput(frame.observe(written, F.expr("count(1) AS rows")), records, written)


def coverage(interactions: DataFrame, dataset: DataFrame, key: str) -> dict[str, object]:
    """The run report's section for a Users or Items dataset, from the read-back CSVs (strings; an empty
    cell reads as null or ''): its rows, the filled cells per column, and how many interactions (and
    which share) have a row for their ``key`` (USER_ID or ITEM_ID)."""
    value_columns = [c for c in dataset.columns if c != key]
    filled = [
        F.expr(f"count(CASE WHEN {_name(c)} IS NOT NULL AND {_name(c)} <> '' THEN 1 END)").alias(c)
        for c in value_columns
    ]
    counts = dataset.agg(F.count(F.lit(1)).alias("_rows"), *filled).collect()[0]
    keys = dataset.select(F.col(key)).distinct().withColumn("_has", F.lit(1))
    joined = interactions.select(F.col(key)).join(keys, on=key, how="left")
    matched = joined.agg(F.count(F.lit(1)).alias("n"), F.count("_has").alias("with")).collect()[0]
    total, with_metadata = int(matched["n"]), int(matched["with"])
    return {
        "rows": int(counts["_rows"]),
        "filled": {c: int(counts[c]) for c in value_columns},
        "interactions": total,
        "interactions_with_metadata": with_metadata,
        "share_with_metadata": round(with_metadata / total, 6) if total else None,
    }
