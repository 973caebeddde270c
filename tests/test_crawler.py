"""The crawler and named-query tools end to end against moto server over HTTP (real boto3 clients).

moto 5.2.5 has no Glue classifier calls and no UpdateCrawler (HTTP 500): tests/aws_gaps.py answers those
in-process so the rest still goes over HTTP. A moto crawl never finishes (RUNNING, then STOPPING), so
the wait is tested up to its timeout here and to READY with botocore's Stubber in test_catalog_aws.py.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from athena_queries import named
from athena_queries.__main__ import main as athena_main
from athena_queries.saved import applicable_queries
from crawler import __main__ as crawler_cli
from crawler.definition import CrawlerSpec, classifier_request, dataset_specs, table_ddl
from crawler.ensure import (
    CatalogError,
    ensure_classifier,
    ensure_crawler,
    ensure_database,
    ensure_table,
    start_and_wait,
)
from tests.aws_gaps import fill_glue_gaps
from tests.aws_support import ROLE, client, offline, unique


def glue_with_gaps(endpoint: str, classifiers: dict[str, dict[str, Any]]):
    glue = client("glue", endpoint)
    fill_glue_gaps(glue, classifiers)
    return glue


def spec_for(bucket: str = "b-1", **overrides: Any) -> CrawlerSpec:
    return CrawlerSpec(
        f"s3://{bucket}/transformed/interactions/",
        ROLE,
        database=unique("db"),
        crawler_name=unique("crawler"),
        classifier_name=unique("classifier"),
        **overrides,
    )


# --- ensure_* on moto --------------------------------------------------------------------------------


def test_classifier_created_then_unchanged_then_repaired(aws_env: str) -> None:
    classifiers: dict[str, dict[str, Any]] = {}
    glue = glue_with_gaps(aws_env, classifiers)
    spec = spec_for()
    assert ensure_classifier(glue, spec) == "created"
    assert ensure_classifier(glue, spec) == "unchanged"
    classifiers[spec.classifier_name] = {
        **classifiers[spec.classifier_name],
        "CustomDatatypes": ["STRING"] * 4,
    }
    assert ensure_classifier(glue, spec) == "updated"
    assert classifiers[spec.classifier_name] == classifier_request(spec)


def test_crawler_follows_a_changed_spec(aws_env: str) -> None:
    glue = glue_with_gaps(aws_env, {})
    spec = spec_for()
    assert ensure_database(glue, spec.database) == "created"
    assert ensure_crawler(glue, spec) == "created"
    changed = CrawlerSpec(
        **{**spec.__dict__, "table_prefix": "v2_", "s3_target": "s3://b-1/v2/interactions/"}
    )
    assert ensure_crawler(glue, changed) == "updated"
    assert ensure_crawler(glue, changed) == "unchanged"
    crawler = glue.get_crawler(Name=spec.crawler_name)["Crawler"]
    assert crawler["TablePrefix"] == "v2_"
    assert crawler["Targets"]["S3Targets"][0]["Path"] == "s3://b-1/v2/interactions/"
    assert json.loads(crawler["Configuration"])["Grouping"] == {
        "TableGroupingPolicy": "CombineCompatibleSchemas"
    }
    assert crawler["RecrawlPolicy"] == {"RecrawlBehavior": "CRAWL_EVERYTHING"}
    assert changed.table == "v2_interactions"


def test_wait_times_out_on_a_crawl_that_never_ends(aws_env: str) -> None:
    glue = glue_with_gaps(aws_env, {})
    spec = spec_for()
    ensure_database(glue, spec.database)
    ensure_crawler(glue, spec)
    lines: list[str] = []
    with pytest.raises(CatalogError, match=f"crawler {spec.crawler_name} still RUNNING after 2 s"):
        start_and_wait(
            glue, spec.crawler_name, progress=lines.append, poll_seconds=1, timeout=2, sleep=lambda s: None
        )
    assert lines == [f"crawler {spec.crawler_name}: RUNNING (0 s)"]
    # A second start joins the crawl in progress rather than failing.
    with pytest.raises(CatalogError, match="still RUNNING"):
        start_and_wait(
            glue, spec.crawler_name, progress=lines.append, poll_seconds=1, timeout=0, sleep=lambda s: None
        )
    assert lines[1] == f"crawler {spec.crawler_name}: already running, waiting for it"


def test_missing_crawler_is_a_clear_error(aws_env: str) -> None:
    with pytest.raises(CatalogError, match="crawler 'no-such-crawler' does not exist"):
        start_and_wait(client("glue", aws_env), "no-such-crawler", progress=print, timeout=0)


def test_role_glue_refuses_is_a_clear_error() -> None:
    # moto accepts any role; real Glue checks it can assume it at create time.
    glue = offline("glue")
    spec = CrawlerSpec("s3://b-1/interactions/", ROLE)
    message = "Service is unable to assume provided role. Please verify role's TrustPolicy"
    with Stubber(glue) as stub:
        stub.add_response("get_database", {"Database": {"Name": spec.database}})
        stub.add_client_error("get_crawler", "EntityNotFoundException")
        stub.add_client_error("create_crawler", "InvalidInputException", message)
        with pytest.raises(CatalogError, match=f"Glue cannot use role {ROLE}: Service is unable to assume"):
            ensure_crawler(glue, spec)


# --- python -m crawler on moto -----------------------------------------------------------------------


@pytest.fixture
def cli_on_moto(aws_env: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The CLI's own boto3 clients, with moto's Glue gaps filled."""
    classifiers: dict[str, dict[str, Any]] = {}
    real_client = boto3.client

    def patched(service: str, **kwargs: Any):
        made = real_client(service, **{"region_name": "us-east-1", **kwargs})
        if service == "glue":
            fill_glue_gaps(made, classifiers)
        return made

    monkeypatch.setattr(crawler_cli.boto3, "client", patched)
    return aws_env


def cli_args(spec: CrawlerSpec, endpoint: str, *flags: str) -> list[str]:
    """python -m crawler's arguments for ``spec`` on the moto endpoint."""
    return [
        *("--s3-target", spec.s3_target, "--role-arn", ROLE, "--database", spec.database),
        *("--crawler-name", spec.crawler_name, "--classifier-name", spec.classifier_name),
        *("--endpoint-url", endpoint, *flags),
    ]


def test_cli_sets_up_then_reports_unchanged(cli_on_moto: str, capsys: pytest.CaptureFixture[str]) -> None:
    bucket = unique("bucket", sep="-")
    client("s3", cli_on_moto).create_bucket(Bucket=bucket)
    spec = spec_for(bucket)
    args = cli_args(spec, cli_on_moto)
    assert crawler_cli.main([*args, "--no-start"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"error: Glue database '{spec.database}' does not exist (create it, or pass --create-database)"
    )
    assert crawler_cli.main([*args, "--create-database", "--no-start"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"database {spec.database}: created",
        f"classifier {spec.classifier_name}: created",
        f"crawler {spec.crawler_name}: created",
    ]
    assert crawler_cli.main([*args, "--create-database", "--no-start"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"database {spec.database}: unchanged",
        f"classifier {spec.classifier_name}: unchanged",
        f"crawler {spec.crawler_name}: unchanged",
    ]
    # moto's crawl never ends: the CLI gives up after --timeout with one line, not a stack trace.
    assert crawler_cli.main([*args, "--timeout", "0"]) == 2
    captured = capsys.readouterr()
    assert captured.out.splitlines()[-1] == f"crawler {spec.crawler_name}: RUNNING (0 s)"
    assert captured.err.strip() == f"error: crawler {spec.crawler_name} still RUNNING after 0 s"


def test_cli_errors_are_one_line_without_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "crawler", "--s3-target", "s3://b-1/interactions/", "--role-arn", "my-role"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: the crawler role must be an IAM role ARN")
    assert len(result.stderr.strip().splitlines()) == 1


# --- named queries on moto ---------------------------------------------------------------------------


def test_changed_named_query_is_reported_stale_where_update_is_missing(aws_env: str) -> None:
    # moto has no UpdateNamedQuery: the old text stays, and no duplicate is created.
    athena = client("athena", aws_env, retries={"total_max_attempts": 1})
    workgroup = unique("wg")
    athena.create_work_group(Name=workgroup)
    athena.create_named_query(
        Name="segment-personalize/preview",
        Database="segmentdata",
        QueryString="SELECT 1",
        WorkGroup=workgroup,
    )
    actions = named.register_named_queries(
        athena, database="segmentdata", table="interactions", workgroup=workgroup
    )
    assert actions.pop("segment-personalize/preview").startswith("stale (could not update")
    assert set(actions.values()) == {"created"}
    assert len(athena.list_named_queries(WorkGroup=workgroup)["NamedQueryIds"]) == len(applicable_queries())


def seed_athena_results(endpoint: str, columns: list[str], rows: list[list[str]]) -> None:
    """moto answers the next GetQueryResults with these (its documented test hook)."""
    body = {
        "account_id": "123456789012",
        "region": "us-east-1",
        "results": [
            {
                "rows": [{"Data": [{"VarCharValue": v} for v in row]} for row in [columns, *rows]],
                "column_info": [{"Name": c, "Type": "varchar"} for c in columns],
            }
        ],
    }
    request = urllib.request.Request(
        f"{endpoint}/moto-api/static/athena/query-results",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status in (200, 201)


def test_run_saved_query_prints_the_result(aws_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    athena = client("athena", aws_env)
    seed_athena_results(
        aws_env, ["event_type", "interactions"], [["Product Clicked", "4"], ["Order Completed", "2"]]
    )
    printed: list[str] = []
    columns, rows = named.run_saved_query(
        athena,
        "interactions_per_event_type",
        output_location="s3://results-bucket/athena/",
        out=printed.append,
        sleep=lambda s: None,
    )
    assert (columns, rows) == (
        ["event_type", "interactions"],
        [["Product Clicked", "4"], ["Order Completed", "2"]],
    )
    assert printed[0].splitlines() == [
        "event_type       interactions",
        "---------------  ------------",
        "Product Clicked  4           ",
        "Order Completed  2           ",
        "(2 rows)",
    ]
    seed_athena_results(aws_env, ["ready"], [["true"]])
    args = ["run", "personalize_readiness", "--endpoint-url", aws_env, "--format", "csv"]
    assert athena_main([*args, "--output-location", "s3://results-bucket/athena/"]) == 0
    assert capsys.readouterr().out == "ready\ntrue\n"
    assert athena_main(["run", "nope", "--endpoint-url", aws_env]) == 2
    assert capsys.readouterr().err.startswith("error: no saved query 'nope'")


@pytest.mark.parametrize("event_value", [False, True])
def test_ddl_columns_are_the_classifier_header_and_types(event_value: bool) -> None:
    spec = CrawlerSpec(
        "s3://b-1/transformed/interactions/", ROLE, database="segmentdata", event_value=event_value
    )
    classifier = classifier_request(spec)
    ddl = table_ddl(spec)
    columns = re.findall(r"^\s+`(\w+)` (\w+),?$", ddl, flags=re.MULTILINE)
    glue_type = {"string": "STRING", "bigint": "LONG", "double": "DOUBLE"}
    assert [(name.upper(), glue_type[kind]) for name, kind in columns] == list(
        zip(classifier["Header"], classifier["CustomDatatypes"], strict=True)
    )
    assert columns == [
        ("user_id", "string"),
        ("item_id", "string"),
        ("event_type", "string"),
        ("timestamp", "bigint"),
        *([("event_value", "double")] if event_value else []),
    ]
    # An empty EVENT_VALUE must read as NULL, not fail the query (OpenCSVSerde and numbers).
    assert ("'use.null.for.invalid.data' = 'TRUE'" in ddl) is event_value
    assert "'separatorChar' = ','" in ddl and "'quoteChar' = '\"'" in ddl
    assert "CREATE EXTERNAL TABLE IF NOT EXISTS `segmentdata`.`interactions`" in ddl
    assert "LOCATION 's3://b-1/transformed/interactions/'" in ddl and "${" not in ddl
    assert "'skip.header.line.count' = '1'" in ddl and "OpenCSVSerde" in ddl


# --- the table after a crawl ----------------------------------------------------------------------


def crawled_table(glue: Any, spec: CrawlerSpec, columns: list[tuple[str, str]]) -> None:
    """What a crawl leaves behind: the crawler's table, with its usual parameters."""
    glue.create_table(
        DatabaseName=spec.database,
        TableInput={
            "Name": spec.table,
            "StorageDescriptor": {
                "Columns": [{"Name": n, "Type": t} for n, t in columns],
                "Location": spec.s3_target,
                "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.serde2.OpenCSVSerde"},
            },
            "Parameters": {"classification": "csv", "skip.header.line.count": "1"},
            "TableType": "EXTERNAL_TABLE",
        },
    )


BASE = [("user_id", "string"), ("item_id", "string"), ("event_type", "string"), ("timestamp", "bigint")]


def test_table_with_event_value_gets_nulls_for_empty_cells(aws_env: str) -> None:
    glue = client("glue", aws_env)
    spec = spec_for(event_value=True)
    ensure_database(glue, spec.database)
    crawled_table(glue, spec, [*BASE, ("event_value", "double")])
    assert ensure_table(glue, spec) == "updated"
    assert ensure_table(glue, spec) == "unchanged"
    table = glue.get_table(DatabaseName=spec.database, Name=spec.table)["Table"]
    assert table["Parameters"] == {
        "classification": "csv",
        "skip.header.line.count": "1",
        "use.null.for.invalid.data": "TRUE",
    }
    assert [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]] == [
        *BASE,
        ("event_value", "double"),
    ]


def test_table_without_event_value_is_left_as_crawled(aws_env: str) -> None:
    glue = client("glue", aws_env)
    spec = spec_for()
    ensure_database(glue, spec.database)
    crawled_table(glue, spec, BASE)
    assert ensure_table(glue, spec) == "unchanged"
    assert (
        "use.null.for.invalid.data"
        not in glue.get_table(DatabaseName=spec.database, Name=spec.table)["Table"]["Parameters"]
    )


@pytest.mark.parametrize(
    ("event_value", "columns"),
    [
        # The job wrote EVENT_VALUE but the crawler was not told: the built-in classifier's guess.
        (False, [("user_id", "bigint"), *BASE[1:], ("event_value", "double")]),
        # The crawler was told, the job did not write it.
        (True, BASE),
    ],
)
def test_table_unlike_the_jobs_output_is_an_error(
    aws_env: str, event_value: bool, columns: list[tuple[str, str]]
) -> None:
    glue = client("glue", aws_env)
    spec = spec_for(event_value=event_value)
    ensure_database(glue, spec.database)
    crawled_table(glue, spec, columns)
    found = ", ".join(f"{n} {t}" for n, t in columns)
    wanted = ", ".join(f"{c.catalog_name} {c.type}" for c in spec.columns)
    with pytest.raises(CatalogError) as raised:
        ensure_table(glue, spec)
    assert str(raised.value) == (
        f"table {spec.database}.interactions has ({found}), not the job's ({wanted}): crawl with "
        "--event-value exactly when the job runs with --EVENT_VALUE_FIELD, so the classifier's header "
        "is the files'; if it is, make the table with --ddl instead"
    )


def test_crawl_that_made_no_table_is_an_error(aws_env: str) -> None:
    glue = client("glue", aws_env)
    spec = spec_for()
    ensure_database(glue, spec.database)
    with pytest.raises(CatalogError, match=f"the crawl made no table {spec.database}.interactions: is"):
        ensure_table(glue, spec)


def test_classifier_follows_the_event_value_setting(aws_env: str) -> None:
    classifiers: dict[str, dict[str, Any]] = {}
    glue = glue_with_gaps(aws_env, classifiers)
    spec = spec_for(event_value=True)
    assert ensure_classifier(glue, spec) == "created"
    assert classifiers[spec.classifier_name]["Header"][-1] == "EVENT_VALUE"
    without = CrawlerSpec(**{**spec.__dict__, "event_value": False})
    assert ensure_classifier(glue, without) == "updated"
    assert classifiers[spec.classifier_name]["Header"] == ["USER_ID", "ITEM_ID", "EVENT_TYPE", "TIMESTAMP"]
    assert ensure_classifier(glue, without) == "unchanged"


def test_cli_with_event_value_crawls_and_fixes_the_table(
    cli_on_moto: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # moto's crawl never ends and makes no table: play a crawl that made the job's table.
    bucket = unique("bucket", sep="-")
    client("s3", cli_on_moto).create_bucket(Bucket=bucket)
    spec = spec_for(bucket, event_value=True)

    def crawl(glue: Any, name: str, **kwargs: Any) -> dict[str, Any]:
        if not glue.get_tables(DatabaseName=spec.database)["TableList"]:
            crawled_table(glue, spec, [*BASE, ("event_value", "double")])
        return {"Status": "SUCCEEDED"}

    monkeypatch.setattr(crawler_cli, "start_and_wait", crawl)
    args = cli_args(spec, cli_on_moto, "--create-database", "--event-value")
    assert crawler_cli.main(args) == 0
    columns = "user_id string, item_id string, event_type string, timestamp bigint, event_value double"
    assert capsys.readouterr().out.splitlines() == [
        f"database {spec.database}: created",
        f"classifier {spec.classifier_name}: created",
        f"crawler {spec.crawler_name}: created",
        "crawl SUCCEEDED; tables created or updated:",
        f"  {spec.database}.interactions ({columns})",
        f"table {spec.database}.interactions: updated",
    ]
    # The same crawl, told nothing of EVENT_VALUE: one line, exit 2.
    assert crawler_cli.main([a for a in args if a != "--event-value"]) == 2
    assert capsys.readouterr().err.startswith(
        f"error: table {spec.database}.interactions has (user_id string, item_id string, event_type "
        "string, timestamp bigint, event_value double), not the job's (user_id string, item_id string, "
        "event_type string, timestamp bigint)"
    )


# --- Users and Items ---------------------------------------------------------------------------------


def test_cli_catalogs_users_and_items_each_with_its_types(
    cli_on_moto: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = unique("bucket", sep="-")
    client("s3", cli_on_moto).create_bucket(Bucket=bucket)
    spec = spec_for(bucket)
    users, items = dataset_specs(spec, user_traits="plan,ltv:float", item_properties="brand")[1:]
    crawled = {
        spec.crawler_name: (spec, BASE),
        users.crawler_name: (users, [("user_id", "string"), ("plan", "string"), ("ltv", "double")]),
        items.crawler_name: (items, [("item_id", "string"), ("brand", "string")]),
    }
    started: list[str] = []

    def crawl(glue: Any, name: str, **kwargs: Any) -> dict[str, Any]:
        # moto's crawl never ends and makes no table: play each crawl making its folder's table.
        started.append(name)
        table_spec, columns = crawled[name]
        crawled_table(glue, table_spec, columns)
        return {"Status": "SUCCEEDED"}

    monkeypatch.setattr(crawler_cli, "start_and_wait", crawl)
    args = cli_args(spec, cli_on_moto, "--create-database")
    args += ["--user-traits", "plan,ltv:float", "--item-properties", "brand"]
    assert crawler_cli.main([*args, "--no-start"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"database {spec.database}: created",
        f"classifier {spec.classifier_name}: created",
        f"crawler {spec.crawler_name}: created",
        f"classifier {users.classifier_name}: created",
        f"crawler {users.crawler_name}: created",
        f"classifier {items.classifier_name}: created",
        f"crawler {items.crawler_name}: created",
    ]
    glue = client("glue", cli_on_moto)
    users_crawler = glue.get_crawler(Name=users.crawler_name)["Crawler"]
    assert users_crawler["Targets"]["S3Targets"][0]["Path"] == f"s3://{bucket}/transformed/users/"
    assert users_crawler["Classifiers"] == [users.classifier_name]
    assert crawler_cli.main(args) == 0
    out = capsys.readouterr().out.splitlines()
    assert started == [spec.crawler_name, users.crawler_name, items.crawler_name]
    assert [line for line in out if line.startswith("table ")] == [
        f"table {spec.database}.interactions: unchanged",
        # A numeric trait may be empty: Athena must read that as NULL.
        f"table {spec.database}.users: updated",
        f"table {spec.database}.items: unchanged",
    ]
    assert f"  {spec.database}.users (user_id string, plan string, ltv double)" in out
    table = glue.get_table(DatabaseName=spec.database, Name="users")["Table"]
    assert table["Parameters"]["use.null.for.invalid.data"] == "TRUE"


def test_users_table_unlike_the_jobs_output_names_the_setting(aws_env: str) -> None:
    glue = client("glue", aws_env)
    users = dataset_specs(spec_for(), user_traits="plan,ltv:float")[1]
    ensure_database(glue, users.database)
    # The crawler fell back to the built-in classifier (a trait added to the job, not to the crawler).
    crawled_table(glue, users, [("user_id", "bigint"), ("plan", "string")])
    with pytest.raises(CatalogError) as raised:
        ensure_table(glue, users)
    assert str(raised.value) == (
        f"table {users.database}.users has (user_id bigint, plan string), not the job's (user_id string, "
        "plan string, ltv double): crawl with --user-traits set to the job's --USER_TRAITS, so the "
        "classifier's header is the files'; if it is, make the table with --ddl instead"
    )
