"""Every saved Athena query, run locally (sqlglot -> DuckDB) on a known output, with exact results.

The fixture is built to expose the transpile's traps: a share that integer division would truncate,
rows one second either side of UTC midnight, a span in days that is not whole, ids that look numeric
(leading zeros included), and RFC 4180 quoting. It comes in the job's two shapes: without EVENT_VALUE,
and with it (the same rows, some values empty), where every query answers as before and the
EVENT_VALUE-aware ones answer too.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest
from segment_personalize.personalize_schema import items_schema, parse_columns, schema_json

from athena_queries.__main__ import main
from athena_queries.local import run_local, to_duckdb
from athena_queries.output import render
from athena_queries.saved import MissingColumns, MissingTable, QueryError, Skipped, get_query, load_queries
from athena_queries.traps import problems

HEADER = "USER_ID,ITEM_ID,EVENT_TYPE,TIMESTAMP\n"
PARTS = {
    "part-00000-a.csv": (
        "2941404340,ocean-blue-shirt,Product Clicked,1550447999\n"  # 2019-02-17T23:59:59Z
        "2941404340,ocean-blue-shirt,Product Clicked,1550447999\n"  # a duplicate
        '2941404340,"sku,with,commas",Order Completed,1550448000\n'  # 2019-02-18T00:00:00Z
        '007,"say ""hi""",Product Added,1550534400\n'  # 2019-02-19T00:00:00Z
    ),
    "part-00001-a.csv": (
        "u-3,ocean-blue-shirt,Order Completed,1550620799\n"  # 2019-02-19T23:59:59Z
        "007,ocean-blue-shirt,Product Clicked,1550448001\n"
        "u-4,ocean-blue-shirt,Product Clicked,1550664000\n"  # 2019-02-20T12:00:00Z
    ),
}

HEADER_WITH_VALUE = "USER_ID,ITEM_ID,EVENT_TYPE,TIMESTAMP,EVENT_VALUE\n"
# The same rows with an EVENT_VALUE each, as the job writes it: plain decimal text, or empty for null.
VALUES = {
    "part-00000-a.csv": ["19.99", "19.99", "120.5", ""],
    "part-00001-a.csv": ["10000000", "", "0.1"],
}
PARTS_WITH_VALUE = {
    name: "".join(f"{row},{value}\n" for row, value in zip(rows.splitlines(), VALUES[name], strict=True))
    for name, rows in PARTS.items()
}

# On the output without EVENT_VALUE; with it, the same answers except where GOLDEN_WITH_VALUE says.
GOLDEN = {
    "preview": '''user_id,item_id,event_type,timestamp
2941404340,ocean-blue-shirt,Product Clicked,1550447999
2941404340,ocean-blue-shirt,Product Clicked,1550447999
2941404340,"sku,with,commas",Order Completed,1550448000
007,ocean-blue-shirt,Product Clicked,1550448001
007,"say ""hi""",Product Added,1550534400
u-3,ocean-blue-shirt,Order Completed,1550620799
u-4,ocean-blue-shirt,Product Clicked,1550664000''',
    "interactions_per_event_type": """event_type,interactions,pct_of_interactions,users,items
Product Clicked,4,57.14,3,1
Order Completed,2,28.57,2,2
Product Added,1,14.29,1,1""",
    "top_items": '''item_id,interactions,users,orders
ocean-blue-shirt,5,4,1
"say ""hi""",1,1,0
"sku,with,commas",1,1,1''',
    "interactions_per_user": """interactions_per_user,users,interactions,min_n,max_n
1,2,2,1,1
2-4,2,5,2,3""",
    "daily_volume": """day,interactions,users
2019-02-17,2,1
2019-02-18,2,2
2019-02-19,2,2
2019-02-20,1,1""",
    "duplicate_interactions": """user_id,item_id,event_type,timestamp,copies
2941404340,ocean-blue-shirt,Product Clicked,1550447999,2""",
    "personalize_readiness": (
        "interactions,users,users_with_2_plus,items,first_interaction,last_interaction,span_days,"
        "enough_interactions,enough_active_users,ready\n"
        "7,4,2,3,2019-02-17T23:59:59Z,2019-02-20T12:00:00Z,2.5,false,false,false"
    ),
}


GOLDEN_WITH_VALUE = {
    "preview": '''user_id,item_id,event_type,timestamp,event_value
2941404340,ocean-blue-shirt,Product Clicked,1550447999,19.99
2941404340,ocean-blue-shirt,Product Clicked,1550447999,19.99
2941404340,"sku,with,commas",Order Completed,1550448000,120.5
007,ocean-blue-shirt,Product Clicked,1550448001,
007,"say ""hi""",Product Added,1550534400,
u-3,ocean-blue-shirt,Order Completed,1550620799,10000000.0
u-4,ocean-blue-shirt,Product Clicked,1550664000,0.1''',
    # An empty cell is NULL: not counted, not averaged; an event type with none has no min/max/avg.
    "event_values": (
        "event_type,interactions,with_value,without_value,pct_with_value,min_value,max_value,avg_value\n"
        "Product Clicked,4,3,1,75.0,0.1,19.99,13.36\n"
        "Order Completed,2,2,0,100.0,120.5,10000000.0,5000060.25\n"
        "Product Added,1,0,1,0.0,,,"
    ),
}
NEEDS_EVENT_VALUE = {"event_values"}

# The job's Users and Items folders beside the interactions: a user whose traits are all empty still has a
# row; u-9 and cold-item have rows and no interactions; u-3, u-4 and 'say "hi"' have interactions and no row.
# Categories are multi-valued ("|"), with an empty segment and a repeat that must count once.
USERS_CSV = "USER_ID,plan,lifetime_value\n2941404340,pro,120.5\n007,,\nu-9,free,0\n"
ITEMS_CSV = (
    "ITEM_ID,category,price\n"
    "ocean-blue-shirt,shirts||summer,19.99\n"
    '"sku,with,commas",summer|summer,\n'
    "cold-item,hats,5\n"
)
GOLDEN_WITH_METADATA = {
    "item_metadata_coverage": (
        "interactions,with_item_row,pct_with_item_row,items,items_with_row,pct_items_with_row,"
        "item_rows_without_interactions\n"
        "7,6,85.71,3,2,66.67,1"
    ),
    "users_without_traits": (
        "users,with_row,without_row,pct_without_row,interactions_without_row,pct_interactions_without_row\n"
        "4,2,2,50.0,2,28.57"
    ),
    "top_categories": """category,interactions,pct_of_interactions,users,items
summer,6,85.71,4,2
shirts,5,71.43,4,1""",
}
NEEDS_TABLES = {"item_metadata_coverage": "items", "users_without_traits": "users", "top_categories": "items"}


def write_output(folder: Path, header: str, parts: dict[str, str]) -> Path:
    folder.mkdir()
    for name, rows in parts.items():
        (folder / name).write_text(header + rows, encoding="utf-8")
    return folder


@pytest.fixture
def output(tmp_path: Path) -> Path:
    return write_output(tmp_path / "interactions", HEADER, PARTS)


@pytest.fixture
def output_with_value(tmp_path: Path) -> Path:
    return write_output(tmp_path / "interactions", HEADER_WITH_VALUE, PARTS_WITH_VALUE)


def test_every_saved_query_has_a_golden_result() -> None:
    assert set(load_queries()) == set(GOLDEN) | set(GOLDEN_WITH_VALUE) | set(GOLDEN_WITH_METADATA)
    assert {name for name, q in load_queries().items() if q.requires} == NEEDS_EVENT_VALUE
    assert {name: ",".join(q.tables) for name, q in load_queries().items() if q.tables} == NEEDS_TABLES
    assert set(GOLDEN).isdisjoint(NEEDS_EVENT_VALUE)


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_saved_query_exact_result(name: str, output: Path) -> None:
    columns, rows = run_local(get_query(name).render(), output)
    assert render(columns, rows, "csv") == GOLDEN[name]


@pytest.mark.parametrize("name", sorted(set(GOLDEN) | set(GOLDEN_WITH_VALUE)))
def test_saved_query_exact_result_with_event_value(name: str, output_with_value: Path) -> None:
    columns, rows = run_local(name, output_with_value)
    assert render(columns, rows, "csv") == GOLDEN_WITH_VALUE.get(name, GOLDEN.get(name))


@pytest.mark.parametrize("name", sorted(NEEDS_EVENT_VALUE))
def test_query_needing_event_value_is_skipped_without_it(
    name: str, output: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    message = f"{name} needs column event_value, which segmentdata.interactions does not have"
    with pytest.raises(MissingColumns, match=message):
        run_local(name, output)
    assert main(["local", name, "--output", str(output), "--format", "csv"]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"skipped: {message} (the job writes EVENT_VALUE only with --EVENT_VALUE_FIELD)\n"
    )
    # make run's follow-up: nothing at all without the column, the heading and the table with it.
    args = ["local", name, "--output", str(output), "--quiet-skip", "--heading", "Values:"]
    assert main(args) == 0
    assert capsys.readouterr() == ("", "")


def test_follow_up_prints_its_heading_when_the_column_is_there(
    output_with_value: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["local", "event_values", "--output", str(output_with_value), "--quiet-skip"]
    assert main([*args, "--heading", "Values:", "--format", "csv"]) == 0
    assert capsys.readouterr().out == "Values:\n" + GOLDEN_WITH_VALUE["event_values"] + "\n"


def test_event_value_is_a_double_and_ids_stay_text(output_with_value: Path) -> None:
    # A numeric comparison, not a text one ('10000000' < '19.99'); ids keep their leading zeros.
    sql = (
        "SELECT round(sum(event_value), 2) AS total, count(*) AS n, max(user_id) AS last_user "
        'FROM "segmentdata"."interactions" WHERE event_value >= 19.99 OR user_id = \'007\''
    )
    assert run_local(sql, output_with_value) == (
        ["total", "n", "last_user"],
        [(10_000_160.48, 6, "u-3")],
    )


def test_columns_come_from_the_header_which_must_be_the_jobs(tmp_path: Path) -> None:
    mixed = write_output(
        tmp_path / "mixed",
        HEADER,
        {"part-00000.csv": PARTS["part-00000-a.csv"]},
    )
    (mixed / "part-00001.csv").write_text(HEADER_WITH_VALUE + PARTS_WITH_VALUE["part-00001-a.csv"])
    with pytest.raises(
        QueryError, match="the CSV files disagree on their header: USER_ID,ITEM_ID,EVENT_TYPE"
    ):
        run_local("preview", mixed)
    other = write_output(tmp_path / "other", "USER_ID,ITEM_ID,EVENT_TYPE,TIMESTAMP,PRICE\n", {"a.csv": ""})
    with pytest.raises(
        QueryError,
        match=re.escape(
            "a.csv has the header USER_ID,ITEM_ID,EVENT_TYPE,TIMESTAMP,PRICE; "
            "the job writes USER_ID,ITEM_ID,EVENT_TYPE,TIMESTAMP or "
            "USER_ID,ITEM_ID,EVENT_TYPE,TIMESTAMP,EVENT_VALUE"
        ),
    ):
        run_local("preview", other)
    # An empty part file (no header, no rows) is no part of the table.
    output = write_output(tmp_path / "with_empty", HEADER_WITH_VALUE, PARTS_WITH_VALUE)
    (output / "part-00002-a.csv").write_text("")
    assert render(*run_local("event_values", output), "csv") == GOLDEN_WITH_VALUE["event_values"]
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "part-00000.csv").write_text("")
    with pytest.raises(QueryError, match="are empty: no header to read"):
        run_local("preview", empty)


def test_readiness_passes_on_enough_data(tmp_path: Path) -> None:
    rows = "".join(
        f"user-{n % 25},item-{n % 40},Product Clicked,{1_550_000_000 + 3600 * n}\n" for n in range(1000)
    )
    (tmp_path / "interactions.csv").write_text(HEADER + rows)
    columns, result = run_local(get_query("personalize_readiness").render(), tmp_path)
    assert (
        render(columns, result, "csv").splitlines()[1]
        == "1000,25,25,40,2019-02-12T19:33:20Z,2019-03-26T10:33:20Z,41.6,true,true,true"
    )


def test_header_only_output_is_not_an_error(tmp_path: Path) -> None:
    (tmp_path / "part-00000.csv").write_text(HEADER)
    _, rows = run_local(get_query("personalize_readiness").render(), tmp_path)
    assert rows == [(0, 0, 0, 0, None, None, None, False, False, False)]


def test_queries_are_parameterized_not_hard_coded(output: Path) -> None:
    for query in load_queries().values():
        sql = query.render("otherdb", "other_table")
        assert '"otherdb"."other_table"' in sql and "segmentdata" not in sql and 'interactions"' not in sql
    _, rows = run_local("duplicate_interactions", output, database="db2", table="t2")
    assert rows == [("2941404340", "ocean-blue-shirt", "Product Clicked", 1550447999, 2)]


@pytest.mark.parametrize(
    ("sql", "trap"),
    [
        ('SELECT count(*) / 7 FROM "segmentdata"."interactions"', "integer division"),
        ("SELECT date_diff('day', from_unixtime(1), from_unixtime(2))", "date_diff"),
        (
            "SELECT regexp_replace(item_id, '(a)', '$1') FROM \"segmentdata\".\"interactions\"",
            "back-references",
        ),
        ('SELECT approx_distinct(user_id) FROM "segmentdata"."interactions"', "approximate"),
    ],
)
def test_transpile_traps_are_refused(sql: str, trap: str, output: Path) -> None:
    with pytest.raises(QueryError, match=trap):
        run_local(sql, output)


def test_saved_query_by_name_or_sql_and_athena_timestamps(output: Path) -> None:
    assert run_local("daily_volume", output) == run_local(get_query("daily_volume").render(), output)
    sql = 'SELECT from_unixtime(min("timestamp")) AS first FROM "segmentdata"."interactions"'
    assert run_local(sql, output) == (["first"], [("2019-02-17 23:59:59.000 UTC",)])


def test_integer_division_trap_is_real_and_guarded(output: Path) -> None:
    # Athena answers 7 / 2 = 3. The plain transpile gives DuckDB's 3.5: if sqlglot ever learns Trino's
    # integer division this first assertion fails, and the guard in traps.py can be relaxed.
    assert duckdb.sql(to_duckdb("SELECT 7 / 2 AS x")).fetchall() == [(3.5,)]
    with pytest.raises(QueryError, match="integer division"):
        run_local("SELECT 7 / 2 AS x", output)
    # The portable spellings give Athena's answers on both engines.
    assert run_local("SELECT CAST(7 AS double) / 2 AS x, CAST(floor(7 / 2.0) AS bigint) AS y", output) == (
        ["x", "y"],
        [(3.5, 3)],
    )


def test_saved_queries_use_no_trap() -> None:
    assert {name: problems(q.render()) for name, q in load_queries().items()} == {
        n: [] for n in load_queries()
    }


def test_bad_parameters_and_missing_output_are_clear(tmp_path: Path) -> None:
    with pytest.raises(QueryError, match="table name must be letters"):
        get_query("preview").render("segmentdata", "x; DROP TABLE y")
    with pytest.raises(QueryError, match="no saved query 'nope'"):
        get_query("nope")
    with pytest.raises(QueryError, match="run the job first"):
        run_local(get_query("preview").render(), tmp_path / "missing")


def test_cli_local_formats(output: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["local", "duplicate_interactions", "--output", str(output), "--format", "json"]) == 0
    assert capsys.readouterr().out.strip() == (
        "[\n  {\n"
        '    "user_id": "2941404340",\n    "item_id": "ocean-blue-shirt",\n'
        '    "event_type": "Product Clicked",\n    "timestamp": "1550447999",\n    "copies": "2"\n'
        "  }\n]"
    )
    assert main(["local", "interactions_per_user", "--output", str(output)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "interactions_per_user  users  interactions  min_n  max_n",
        "---------------------  -----  ------------  -----  -----",
        "1                      2      2             1      1    ",
        "2-4                    2      5             2      3    ",
        "(2 rows)",
    ]
    assert main(["local", "nope", "--output", str(output)]) == 2
    assert "error: no saved query 'nope'" in capsys.readouterr().err


# --- Users and Items ---------------------------------------------------------------------------------


def with_metadata(output: Path, users: str | None = USERS_CSV, items: str | None = ITEMS_CSV) -> Path:
    for name, text in (("users", users), ("items", items)):
        if text is not None:
            (output.parent / name).mkdir()
            (output.parent / name / "part-00000-b.csv").write_text(text, encoding="utf-8")
    return output


@pytest.mark.parametrize("event_value", [False, True], ids=["without_event_value", "with_event_value"])
@pytest.mark.parametrize("name", sorted(GOLDEN_WITH_METADATA))
def test_metadata_query_exact_result(name: str, event_value: bool, tmp_path: Path) -> None:
    header, parts = (HEADER_WITH_VALUE, PARTS_WITH_VALUE) if event_value else (HEADER, PARTS)
    output = with_metadata(write_output(tmp_path / "interactions", header, parts))
    assert render(*run_local(name, output), "csv") == GOLDEN_WITH_METADATA[name]
    # Every other query answers as before beside the metadata tables.
    assert render(*run_local("top_items", output), "csv") == GOLDEN["top_items"]


@pytest.mark.parametrize("name", sorted(GOLDEN_WITH_METADATA))
def test_metadata_query_without_its_table_is_skipped_and_says_so(
    name: str, output: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kind = NEEDS_TABLES[name]
    folder = output.parent / kind
    parameter = "--USER_TRAITS" if kind == "users" else "--ITEM_PROPERTIES"
    message = (
        f"{name} needs the {kind} table: there is no {kind.title()} output at {folder} (the job writes it "
        f"only with {parameter})"
    )
    with pytest.raises(MissingTable) as raised:
        run_local(name, output)
    assert str(raised.value) == message
    assert main(["local", name, "--output", str(output)]) == 0
    assert capsys.readouterr() == ("", f"skipped: {message}\n")
    assert main(["local", name, "--output", str(output), "--quiet-skip", "--heading", "x"]) == 0
    assert capsys.readouterr() == ("", "")


def test_the_other_table_is_not_needed(output: Path) -> None:
    with_metadata(output, users=None)
    assert (
        render(*run_local("item_metadata_coverage", output), "csv")
        == GOLDEN_WITH_METADATA["item_metadata_coverage"]
    )
    with pytest.raises(MissingTable, match="needs the users table"):
        run_local("users_without_traits", output)


def test_metadata_types_come_from_the_spec_or_the_jobs_schema_file_else_text(output: Path) -> None:
    with_metadata(output)
    sql = 'SELECT max(price) AS top, count(category) AS categorized FROM "segmentdata"."items"'
    # Without either, the columns are text: '5' sorts after '19.99', and an empty cell is NULL.
    assert run_local(sql, output) == (["top", "categorized"], [("5", 3)])
    assert run_local(sql, output, item_properties="category,price:float") == (
        ["top", "categorized"],
        [(19.99, 3)],
    )
    schema = items_schema(parse_columns("category,price:float"))
    (output.parent / "items.schema.json").write_text(schema_json(schema) + "\n")
    assert run_local(sql, output) == (["top", "categorized"], [(19.99, 3)])
    wrong = "part-00000-b.csv has the header ITEM_ID,category,price; with that spec"
    with pytest.raises(QueryError, match=re.escape(wrong)):
        run_local(sql, output, item_properties="category")
    (output.parent / "items" / "part-00000-b.csv").write_text("SKU,category\nx,y\n")
    with pytest.raises(QueryError, match="the job's Items CSV starts with ITEM_ID"):
        run_local("item_metadata_coverage", output)


def test_top_categories_takes_category_l1_or_a_named_column(tmp_path: Path) -> None:
    output = write_output(tmp_path / "interactions", HEADER, PARTS)
    items = ITEMS_CSV.replace("ITEM_ID,category,price", "ITEM_ID,CATEGORY_L1,PRICE")
    with_metadata(output, users=None, items=items)
    assert render(*run_local("top_categories", output), "csv") == GOLDEN_WITH_METADATA["top_categories"]
    # Grouping by another column: the prices, one "category" each.
    _, rows = run_local("top_categories", output, category="PRICE")
    assert rows == [("19.99", 5, 71.43, 4, 1)]
    with pytest.raises(Skipped) as raised:
        run_local("top_categories", output, category="brand")
    assert str(raised.value) == (
        "top_categories needs a category column in segmentdata.items, which has (item_id, category_l1, "
        "price): name one with --category-column"
    )


def test_metadata_queries_on_tables_named_otherwise(output: Path, tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "users.csv").write_text(USERS_CSV)
    args = ["local", "users_without_traits", "--output", str(output), "--format", "csv"]
    args += ["--users", str(tmp_path / "elsewhere"), "--users-table", "people", "--database", "db2"]
    assert main(args) == 0
    sql = get_query("users_without_traits").render("db2", "t", users_table="people")
    assert '"db2"."people"' in sql and '"db2"."t"' in sql
