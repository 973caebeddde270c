"""Crawler and named-query commands against moto server over HTTP (real boto3), and botocore's Stubber
for the calls moto does not implement (Glue classifiers, UpdateCrawler, UpdateNamedQuery) or cannot
play (a crawl that finishes)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from botocore.stub import Stubber

from athena_queries import named
from athena_queries.__main__ import main as athena_main
from athena_queries.saved import applicable_queries, load_queries
from crawler.__main__ import main as crawler_main
from crawler.definition import (
    CrawlerSpec,
    SpecError,
    classifier_request,
    crawler_request,
    dataset_specs,
    table_ddl,
)
from crawler.ensure import (
    CatalogError,
    crawled_tables,
    ensure_classifier,
    ensure_crawler,
    ensure_database,
    ensure_table,
    matches,
    require_bucket,
    start_and_wait,
)
from tests.aws_support import ROLE, client, offline, unique

# --- definitions -------------------------------------------------------------------------------------


def test_spec_names_the_table_after_the_folder_and_validates() -> None:
    spec = CrawlerSpec("s3://my-bucket/transformed/Interactions-2026/", ROLE, table_prefix="p_")
    assert (spec.bucket, spec.table) == ("my-bucket", "p_interactions_2026")
    with pytest.raises(SpecError, match="IAM role ARN"):
        CrawlerSpec("s3://my-bucket/x/", "segment-role")
    with pytest.raises(SpecError, match="s3://bucket/prefix"):
        CrawlerSpec("/local/path", ROLE)


def test_classifier_types_ids_as_strings_and_timestamp_as_bigint() -> None:
    request = classifier_request(CrawlerSpec("s3://b-1/interactions/", ROLE))
    assert request["Header"] == ["USER_ID", "ITEM_ID", "EVENT_TYPE", "TIMESTAMP"]
    # Glue's names for the catalog's string / bigint (its CustomDatatypes have no BIGINT).
    assert request["CustomDatatypes"] == ["STRING", "STRING", "STRING", "LONG"]
    assert (request["ContainsHeader"], request["Delimiter"], request["QuoteSymbol"]) == ("PRESENT", ",", '"')
    assert request["Serde"] == "OpenCSVSerDe"


def test_classifier_follows_the_event_value_column() -> None:
    spec = CrawlerSpec("s3://b-1/interactions/", ROLE, event_value=True)
    request = classifier_request(spec)
    assert request["Header"] == ["USER_ID", "ITEM_ID", "EVENT_TYPE", "TIMESTAMP", "EVENT_VALUE"]
    assert request["CustomDatatypes"] == ["STRING", "STRING", "STRING", "LONG", "DOUBLE"]
    assert spec.column_names == ("user_id", "item_id", "event_type", "timestamp", "event_value")
    # The classifier changes with the column; the crawler does not (same folder, same table).
    without = CrawlerSpec("s3://b-1/interactions/", ROLE)
    assert crawler_request(spec) == crawler_request(without)
    assert without.column_names == ("user_id", "item_id", "event_type", "timestamp")


def test_requests_are_valid_for_the_glue_service_model() -> None:
    # botocore validates parameters against the model before sending: a field or type Glue does not
    # know fails here, offline.
    glue = offline("glue")
    serdes = glue.meta.service_model.shape_for("CreateCsvClassifierRequest").members["Serde"].enum
    # The CsvClassifier API reference's list (the model has no enum for it).
    datatypes = {"BINARY", "BOOLEAN", "DATE", "DECIMAL", "DOUBLE", "FLOAT", "INT", "LONG", "SHORT"}
    datatypes |= {"STRING", "TIMESTAMP"}
    for event_value in (False, True):
        spec = CrawlerSpec("s3://b-1/interactions/", ROLE, event_value=event_value)
        assert classifier_request(spec)["Serde"] in serdes
        assert set(classifier_request(spec)["CustomDatatypes"]) <= datatypes
        with Stubber(glue) as stub:
            stub.add_response("create_classifier", {}, {"CsvClassifier": classifier_request(spec)})
            stub.add_response("create_crawler", {}, crawler_request(spec))
            glue.create_classifier(CsvClassifier=classifier_request(spec))
            glue.create_crawler(**crawler_request(spec))


# --- against moto server -----------------------------------------------------------------------------


def test_database_and_crawler_are_idempotent(aws_env: str) -> None:
    glue = client("glue", aws_env)
    spec = CrawlerSpec(
        "s3://b-1/transformed/interactions/", ROLE, database=unique("db"), crawler_name=unique("c")
    )
    with pytest.raises(CatalogError, match=f"Glue database '{spec.database}' does not exist"):
        ensure_crawler(glue, spec)
    assert ensure_database(glue, spec.database) == "created"
    assert ensure_database(glue, spec.database) == "unchanged"
    assert ensure_crawler(glue, spec) == "created"
    assert ensure_crawler(glue, spec) == "unchanged"
    crawler = glue.get_crawler(Name=spec.crawler_name)["Crawler"]
    assert crawler["Classifiers"] == [spec.classifier_name]
    assert crawler["Targets"]["S3Targets"][0]["Path"] == spec.s3_target
    assert crawler["SchemaChangePolicy"] == {"UpdateBehavior": "UPDATE_IN_DATABASE", "DeleteBehavior": "LOG"}
    assert len([n for n in glue.list_crawlers()["CrawlerNames"] if n == spec.crawler_name]) == 1


def test_missing_bucket_is_a_clear_error(aws_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(CatalogError, match="S3 bucket 'no-such-bucket-1' does not exist"):
        require_bucket(client("s3", aws_env), "no-such-bucket-1")
    args = [
        "--s3-target",
        "s3://no-such-bucket-2/interactions/",
        "--role-arn",
        ROLE,
        "--endpoint-url",
        aws_env,
    ]
    assert crawler_main(args) == 2
    assert capsys.readouterr().err.strip() == (
        "error: S3 bucket 'no-such-bucket-2' does not exist: the crawler target must be the job's output"
    )


def test_cli_errors_for_bad_role_and_prints_ddl(aws_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert crawler_main(["--s3-target", "s3://b-1/interactions/", "--role-arn", "glue-role"]) == 2
    assert "error: the crawler role must be an IAM role ARN" in capsys.readouterr().err
    assert crawler_main(["--s3-target", "s3://b-1/out/interactions/", "--role-arn", ROLE, "--ddl"]) == 0
    ddl = capsys.readouterr().out
    assert ddl.startswith("-- A table over a folder of the job's CSV output, without a crawler")
    assert "`timestamp` bigint\n)" in ddl and "event_value" not in ddl
    args = ["--s3-target", "s3://b-1/out/interactions/", "--role-arn", ROLE, "--ddl", "--event-value"]
    assert crawler_main(args) == 0
    ddl = capsys.readouterr().out
    assert "`timestamp` bigint,\n  `event_value` double\n)" in ddl
    assert "'use.null.for.invalid.data' = 'TRUE'" in ddl


def test_crawled_tables_reports_new_tables(aws_env: str) -> None:
    glue = client("glue", aws_env)
    spec = CrawlerSpec("s3://b-1/interactions/", ROLE, database=unique("db"))
    ensure_database(glue, spec.database)
    before = datetime.now(UTC).replace(microsecond=0)
    columns = [
        {"Name": n, "Type": t} for n, t in zip(["user_id", "item_id"], ["string", "string"], strict=True)
    ]
    glue.create_table(
        DatabaseName=spec.database,
        TableInput={"Name": "interactions", "StorageDescriptor": {"Columns": columns}},
    )
    assert crawled_tables(glue, spec, since=before) == [
        f"{spec.database}.interactions (user_id string, item_id string)"
    ]


def test_named_queries_register_idempotently(aws_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    athena = client("athena", aws_env)
    workgroup = unique("wg")
    athena.create_work_group(Name=workgroup)
    # Without EVENT_VALUE (the default), event_values is not registered: it would fail on the table; and
    # without Users / Items tables, neither are the queries that join them.
    metadata = {"item_metadata_coverage", "users_without_traits", "top_categories"}
    names = {named.PREFIX + name for name in load_queries() if name not in {"event_values", *metadata}}
    first = named.register_named_queries(
        athena, database="segmentdata", table="interactions", workgroup=workgroup
    )
    assert first == dict.fromkeys(sorted(names), "created")
    second = named.register_named_queries(
        athena, database="segmentdata", table="interactions", workgroup=workgroup
    )
    assert second == dict.fromkeys(sorted(names), "unchanged")
    ids = athena.list_named_queries(WorkGroup=workgroup)["NamedQueryIds"]
    assert len(ids) == len(names)
    stored = athena.get_named_query(NamedQueryId=ids[0])["NamedQuery"]
    assert '"segmentdata"."interactions"' in stored["QueryString"] and stored["Database"] == "segmentdata"

    assert athena_main(["register", "--workgroup", workgroup, "--endpoint-url", aws_env]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        *(f"named query {n}: unchanged" for n in sorted(names)),
        "named query segment-personalize/event_values: not registered (needs event_value)",
        "named query segment-personalize/item_metadata_coverage: not registered (needs the items table)",
        "named query segment-personalize/top_categories: not registered (needs the items table)",
        "named query segment-personalize/users_without_traits: not registered (needs the users table)",
    ]
    # With them, the rest join the others.
    args = ["register", "--workgroup", workgroup, "--endpoint-url", aws_env, "--event-value"]
    args += ["--user-traits", "plan", "--item-properties", "CATEGORY_L1=category,PRICE=price:float"]
    assert athena_main(args) == 0
    out = capsys.readouterr().out.splitlines()
    assert sorted(out) == sorted(
        [
            *(f"named query {n}: unchanged" for n in names),
            *(f"named query segment-personalize/{n}: created" for n in ["event_values", *metadata]),
        ]
    )
    assert len(athena.list_named_queries(WorkGroup=workgroup)["NamedQueryIds"]) == len(load_queries())
    stored = {
        q["Name"]: q["QueryString"]
        for q in (
            athena.get_named_query(NamedQueryId=i)["NamedQuery"]
            for i in athena.list_named_queries(WorkGroup=workgroup)["NamedQueryIds"]
        )
    }
    # top_categories groups by the ECOMMERCE field, the column the Items table has.
    assert "split(m.\"category_l1\", '|')" in stored["segment-personalize/top_categories"]
    assert '"segmentdata"."users"' in stored["segment-personalize/users_without_traits"]


def test_items_without_a_category_column_leave_top_categories_out(
    aws_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    workgroup = unique("wg")
    client("athena", aws_env).create_work_group(Name=workgroup)
    args = ["register", "--workgroup", workgroup, "--endpoint-url", aws_env, "--item-properties", "brand"]
    assert athena_main(args) == 0
    out = capsys.readouterr().out.splitlines()
    assert "named query segment-personalize/item_metadata_coverage: created" in out
    assert (
        "named query segment-personalize/top_categories: not registered (needs a category column in items)"
        in out
    )
    assert athena_main([*args[:-1], "brand:bool"]) == 2
    assert capsys.readouterr().err == (
        "error: item_properties: 'brand:bool' has type 'bool'; use string (default), float or int\n"
    )


def test_a_metadata_query_on_athena_without_its_table_says_why() -> None:
    athena = offline("athena")
    reason = "TABLE_NOT_FOUND: line 12:8: Table 'awsdatacatalog.segmentdata.items' does not exist"
    with Stubber(athena) as stub:
        stub.add_response("start_query_execution", {"QueryExecutionId": "q1"})
        stub.add_response(
            "get_query_execution",
            {"QueryExecution": {"Status": {"State": "FAILED", "StateChangeReason": reason}}},
        )
        with pytest.raises(named.AthenaError) as raised:
            named.run_saved_query(athena, "top_categories", out=None, sleep=lambda s: None)
    assert str(raised.value) == (
        "top_categories needs the items table, which segmentdata does not have (the job writes it only "
        f"with --ITEM_PROPERTIES; crawl with the same setting): query q1 FAILED: {reason}"
    )


# --- with Stubber: what moto does not implement ---------------------------------------------------------


def test_classifier_created_unchanged_updated() -> None:
    glue = offline("glue")
    spec = CrawlerSpec("s3://b-1/interactions/", ROLE)
    wanted = classifier_request(spec)
    with Stubber(glue) as stub:
        stub.add_client_error(
            "get_classifier", "EntityNotFoundException", expected_params={"Name": spec.classifier_name}
        )
        stub.add_response("create_classifier", {}, {"CsvClassifier": wanted})
        stub.add_response("get_classifier", {"Classifier": {"CsvClassifier": wanted}})
        stub.add_response("get_classifier", {"Classifier": {"CsvClassifier": {**wanted, "Delimiter": ";"}}})
        stub.add_response("update_classifier", {}, {"CsvClassifier": wanted})
        assert [ensure_classifier(glue, spec) for _ in range(3)] == ["created", "unchanged", "updated"]
        stub.assert_no_pending_responses()


def test_changed_crawler_is_updated_in_place() -> None:
    glue = offline("glue")
    spec = CrawlerSpec("s3://b-1/interactions/", ROLE, table_prefix="v2_")
    current = {**crawler_request(spec), "TablePrefix": ""}
    with Stubber(glue) as stub:
        stub.add_response("get_database", {"Database": {"Name": spec.database}})
        stub.add_response("get_crawler", {"Crawler": current})
        stub.add_response("update_crawler", {}, crawler_request(spec))
        assert ensure_crawler(glue, spec) == "updated"
        stub.assert_no_pending_responses()


def test_table_update_sends_only_what_update_table_takes() -> None:
    # Real Glue's GetTable carries read-only fields (times, ids, versions) that UpdateTable refuses.
    glue = offline("glue")
    spec = CrawlerSpec("s3://b-1/interactions/", ROLE, event_value=True)
    descriptor = {
        "Columns": [{"Name": c.catalog_name, "Type": c.type} for c in spec.columns],
        "Location": spec.s3_target,
        "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.serde2.OpenCSVSerde"},
    }
    crawled = {
        "Name": "interactions",
        "StorageDescriptor": descriptor,
        "PartitionKeys": [],
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "csv", "UPDATED_BY_CRAWLER": "c"},
        "Owner": "owner",
        "Retention": 0,
    }
    read_only = {
        "DatabaseName": "segmentdata",
        "CreateTime": datetime(2026, 12, 1, tzinfo=UTC),
        "UpdateTime": datetime(2026, 12, 1, tzinfo=UTC),
        "CreatedBy": "arn:aws:sts::123456789012:assumed-role/glue/crawler",
        "IsRegisteredWithLakeFormation": False,
        "CatalogId": "123456789012",
        "VersionId": "3",
    }
    with Stubber(glue) as stub:
        stub.add_response("get_table", {"Table": {**crawled, **read_only}})
        stub.add_response(
            "update_table",
            {},
            {
                "DatabaseName": "segmentdata",
                "TableInput": {
                    **crawled,
                    "Parameters": {**crawled["Parameters"], "use.null.for.invalid.data": "TRUE"},
                },
            },
        )
        assert ensure_table(glue, spec) == "updated"
        stub.assert_no_pending_responses()


def test_start_and_wait_follows_the_crawl() -> None:
    glue = offline("glue")
    lines: list[str] = []
    with Stubber(glue) as stub:
        stub.add_response("start_crawler", {}, {"Name": "c"})
        for state in ("RUNNING", "RUNNING", "STOPPING"):
            stub.add_response("get_crawler", {"Crawler": {"Name": "c", "State": state}})
        stub.add_response(
            "get_crawler", {"Crawler": {"Name": "c", "State": "READY", "LastCrawl": {"Status": "SUCCEEDED"}}}
        )
        last = start_and_wait(glue, "c", progress=lines.append, poll_seconds=5, sleep=lambda s: None)
    assert last == {"Status": "SUCCEEDED"}
    assert lines == ["crawler c: RUNNING (0 s)", "crawler c: STOPPING (10 s)", "crawler c: READY (15 s)"]


def test_failed_crawl_is_an_error() -> None:
    glue = offline("glue")
    with Stubber(glue) as stub:
        stub.add_client_error("start_crawler", "CrawlerRunningException")
        failed = {
            "Name": "c",
            "State": "READY",
            "LastCrawl": {"Status": "FAILED", "ErrorMessage": "no access"},
        }
        for _ in range(2):  # READY on the first poll is the previous crawl's state; the second is ours
            stub.add_response("get_crawler", {"Crawler": failed})
        with pytest.raises(CatalogError, match="crawler c FAILED: no access"):
            start_and_wait(glue, "c", progress=lambda line: None, poll_seconds=1, sleep=lambda s: None)


def test_changed_named_query_is_updated() -> None:
    athena = offline("athena")
    query = load_queries()["preview"]
    name = named.named_query_name(query)
    with Stubber(athena) as stub:
        stub.add_response("list_named_queries", {"NamedQueryIds": ["id-1"]}, {"WorkGroup": "primary"})
        stub.add_response(
            "get_named_query",
            {
                "NamedQuery": {
                    "Name": name,
                    "Database": "segmentdata",
                    "QueryString": "SELECT 1",
                    "NamedQueryId": "id-1",
                }
            },
        )
        for other in applicable_queries().values():  # in the order register_named_queries goes through them
            if other.name != "preview":
                stub.add_response("create_named_query", {"NamedQueryId": f"new-{other.name}"})
                continue
            stub.add_response(
                "update_named_query",
                {},
                {
                    "NamedQueryId": "id-1",
                    "Name": name,
                    "Description": query.description,
                    "QueryString": query.render(),
                },
            )
        actions = named.register_named_queries(athena, database="segmentdata", table="interactions")
        stub.assert_no_pending_responses()
    assert actions[name] == "updated"
    assert sorted(set(actions.values())) == ["created", "updated"]


def test_run_query_returns_rows_without_the_header() -> None:
    athena = offline("athena")
    metadata = {"ColumnInfo": [{"Name": "event_type", "Type": "varchar"}, {"Name": "n", "Type": "bigint"}]}
    rows = [["event_type", "n"], ["Product Clicked", "4"]]
    with Stubber(athena) as stub:
        stub.add_response("start_query_execution", {"QueryExecutionId": "q1"})
        stub.add_response("get_query_execution", {"QueryExecution": {"Status": {"State": "RUNNING"}}})
        stub.add_response("get_query_execution", {"QueryExecution": {"Status": {"State": "SUCCEEDED"}}})
        stub.add_response(
            "get_query_results",
            {
                "ResultSet": {
                    "Rows": [{"Data": [{"VarCharValue": v} for v in row]} for row in rows],
                    "ResultSetMetadata": metadata,
                }
            },
        )
        assert named.run_query(athena, "SELECT 1", database="segmentdata", sleep=lambda s: None) == (
            ["event_type", "n"],
            [["Product Clicked", "4"]],
        )


def test_failed_athena_query_is_an_error() -> None:
    athena = offline("athena")
    with Stubber(athena) as stub:
        stub.add_response("start_query_execution", {"QueryExecutionId": "q1"})
        stub.add_response(
            "get_query_execution",
            {"QueryExecution": {"Status": {"State": "FAILED", "StateChangeReason": "TABLE_NOT_FOUND"}}},
        )
        with pytest.raises(named.AthenaError, match="query q1 FAILED: TABLE_NOT_FOUND"):
            named.run_query(athena, "SELECT 1", database="segmentdata", sleep=lambda s: None)


def test_saved_query_on_a_table_without_its_column_says_why() -> None:
    athena = offline("athena")
    reason = "COLUMN_NOT_FOUND: line 9:7: Column 'event_value' cannot be resolved"
    with Stubber(athena) as stub:
        stub.add_response("start_query_execution", {"QueryExecutionId": "q1"})
        stub.add_response(
            "get_query_execution",
            {"QueryExecution": {"Status": {"State": "FAILED", "StateChangeReason": reason}}},
        )
        with pytest.raises(named.AthenaError) as raised:
            named.run_saved_query(athena, "event_values", out=None, sleep=lambda s: None)
    assert str(raised.value) == (
        "event_values needs column event_value, which segmentdata.interactions does not have (the job "
        "writes EVENT_VALUE only with --EVENT_VALUE_FIELD; crawl with --event-value): "
        f"query q1 FAILED: {reason}"
    )


def test_matches_ignores_what_aws_adds_and_json_reformatting() -> None:
    wanted = {"Command": {"Name": "glueetl"}, "Configuration": '{"Version": 1.0, "Grouping": {"A": "B"}}'}
    current = {
        "Command": {"Name": "glueetl", "Runtime": "added-by-aws"},
        "Configuration": '{"Grouping":{"A":"B"},"Version":1.0}',
        "CreatedOn": "2026-11-23",
    }
    assert matches(current, wanted)
    assert not matches({**current, "Command": {"Name": "pythonshell"}}, wanted)
    assert not matches({"Command": {"Name": "glueetl"}}, wanted)  # Configuration missing


# --- Users and Items tables ----------------------------------------------------------------------------


def dataset_specs_for(**kwargs: str) -> tuple[CrawlerSpec, ...]:
    interactions = CrawlerSpec("s3://b-1/transformed/interactions/", ROLE)
    return dataset_specs(interactions, **kwargs)


def test_users_and_items_get_their_own_classifier_crawler_and_table() -> None:
    interactions, users, items = dataset_specs_for(
        user_traits="plan,lifetime_value:float,visits:int", item_properties="CATEGORY_L1=category,brand"
    )
    assert interactions == CrawlerSpec("s3://b-1/transformed/interactions/", ROLE)
    assert (users.dataset, users.s3_target, users.table) == ("USERS", "s3://b-1/transformed/users/", "users")
    for spec, word in ((users, "users"), (items, "items")):
        assert (spec.crawler_name, spec.classifier_name) == (
            f"segment-personalize-{word}",
            f"personalize-{word}-csv",
        )
    assert [(c.name, c.type, c.nullable) for c in users.columns] == [
        ("USER_ID", "string", False),
        ("plan", "string", True),
        ("lifetime_value", "double", True),
        ("visits", "int", True),
    ]
    classifier = classifier_request(users)
    assert classifier["Header"] == ["USER_ID", "plan", "lifetime_value", "visits"]
    assert classifier["CustomDatatypes"] == ["STRING", "STRING", "DOUBLE", "INT"]
    # The COLUMN=source form: the header is the column, as the job writes it.
    assert classifier_request(items)["Header"] == ["ITEM_ID", "CATEGORY_L1", "brand"]
    assert items.column_names == ("item_id", "category_l1", "brand")
    crawler = crawler_request(items)
    assert crawler["Targets"]["S3Targets"][0]["Path"] == "s3://b-1/transformed/items/"
    assert crawler["Classifiers"] == ["personalize-items-csv"]
    assert crawler["Description"] == "Catalogs the Segment -> Personalize items CSV (segment-personalize)"
    # Only what is configured; explicit folders (the job's --USERS_OUTPUT_PATH) win over the siblings.
    assert len(dataset_specs_for()) == 1
    (_, people) = dataset_specs_for(user_traits="plan", users_target="s3://b-2/people/")
    assert (people.s3_target, people.table, people.bucket) == ("s3://b-2/people/", "people", "b-2")
    renamed = CrawlerSpec("s3://b-1/x/interactions/", ROLE, crawler_name="nightly", classifier_name="csv")
    (_, users) = dataset_specs(renamed, user_traits="plan")
    assert (users.crawler_name, users.classifier_name) == ("nightly-users", "csv-users")


def test_metadata_ddl_reads_empty_numbers_as_null_only_when_there_are_numbers() -> None:
    _, users, items = dataset_specs_for(user_traits="plan,lifetime_value:float", item_properties="brand")
    ddl = table_ddl(users)
    assert re.findall(r"^\s+`(\w+)` (\w+),?$", ddl, flags=re.MULTILINE) == [
        ("user_id", "string"),
        ("plan", "string"),
        ("lifetime_value", "double"),
    ]
    assert "CREATE EXTERNAL TABLE IF NOT EXISTS `segmentdata`.`users`" in ddl
    assert "LOCATION 's3://b-1/transformed/users/'" in ddl
    assert "'use.null.for.invalid.data' = 'TRUE'" in ddl
    assert "use.null.for.invalid.data" not in table_ddl(items)  # strings only: an empty cell is ''


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"user_traits": "plan:bool"}, "user_traits: 'plan:bool' has type 'bool'; use string"),
        ({"item_properties": "brand,,name"}, "item_properties: empty entry in 'brand,,name'"),
    ],
)
def test_a_bad_trait_or_property_spec_is_refused_before_any_call(kwargs: dict, message: str) -> None:
    with pytest.raises(SpecError, match=re.escape(message)):
        dataset_specs_for(**kwargs)
    flag, value = next(iter(kwargs.items()))
    args = ["--s3-target", "s3://b-1/x/interactions/", "--role-arn", ROLE, "--ddl"]
    assert crawler_main([*args, f"--{flag.replace('_', '-')}", value]) == 2


def test_metadata_requests_are_valid_for_the_glue_service_model() -> None:
    glue = offline("glue")
    for spec in dataset_specs_for(user_traits="plan,ltv:float,n:int", item_properties="brand,price:float"):
        with Stubber(glue) as stub:
            stub.add_response("create_classifier", {}, {"CsvClassifier": classifier_request(spec)})
            stub.add_response("create_crawler", {}, crawler_request(spec))
            glue.create_classifier(CsvClassifier=classifier_request(spec))
            glue.create_crawler(**crawler_request(spec))


def test_ddl_prints_every_configured_table(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--s3-target", "s3://b-1/out/interactions/", "--role-arn", ROLE, "--ddl"]
    assert crawler_main([*args, "--user-traits", "plan", "--item-properties", "price:float"]) == 0
    ddl = capsys.readouterr().out
    assert re.findall(r"CREATE EXTERNAL TABLE IF NOT EXISTS `segmentdata`.`(\w+)`", ddl) == [
        "interactions",
        "users",
        "items",
    ]
    assert "`item_id` string,\n  `price` double\n)" in ddl
