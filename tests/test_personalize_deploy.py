"""The Personalize side of deploy: Personalize on botocore's Stubber, S3 and IAM on moto server."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import replace
from functools import partial
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from deploy import __main__ as deploy_cli
from deploy.config import ConfigError, DeployConfig
from deploy.personalize import (
    PersonalizeClients,
    PersonalizeError,
    Waiter,
    ensure_personalize,
    personalize_plan,
    schemas_for,
)
from deploy.personalize_iam import merged_bucket_policy
from tests import test_deploy
from tests.aws_support import offline
from tests.personalize_stubs import ACCOUNT, PersonalizeStub, arn

GROUP = "sp"
# tests/test_deploy.py's fixtures: an account on moto (bucket, Lambda role, stream) and built artifacts.
account, dist = test_deploy.account, test_deploy.dist
ROLE = f"arn:aws:iam::{ACCOUNT}:role/sp-personalize"


def make_config(bucket: str = "sp-bucket", **overrides: object) -> DeployConfig:
    values: dict[str, object] = {
        "region": "us-east-1",
        "bucket": bucket,
        "job_name": "job",
        "glue_role_arn": f"arn:aws:iam::{ACCOUNT}:role/glue",
        "input_path": f"s3://{bucket}/segment-logs/",
        "output_path": f"s3://{bucket}/transformed/interactions/",
        "function_name": "stream",
        "lambda_role_arn": f"arn:aws:iam::{ACCOUNT}:role/lambda",
        "tracking_id": "",
        "kinesis_stream_arn": f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/segment",
        "dataset_group_name": GROUP,
        "personalize_role_arn": ROLE,
        "manage_personalize_role": True,
        "user_traits": "plan,lifetime_value:float",
    }
    values.update(overrides)
    return DeployConfig(**values)  # type: ignore[arg-type]


@pytest.fixture
def aws(aws_env: str) -> dict[str, object]:
    """A fresh bucket on moto, the config pointing at it, and S3 / IAM clients on moto."""
    bucket = f"sp-{uuid.uuid4().hex[:8]}"
    s3 = boto3.client("s3", endpoint_url=aws_env)
    s3.create_bucket(Bucket=bucket)
    role = f"sp-personalize-{uuid.uuid4().hex[:6]}"
    config = make_config(bucket, personalize_role_arn=f"arn:aws:iam::{ACCOUNT}:role/{role}")
    return {"config": config, "s3": s3, "iam": boto3.client("iam", endpoint_url=aws_env), "role": role}


def first_deploy_stubs(p: PersonalizeStub, config: DeployConfig, tracking_id: str = "tid-1") -> None:
    texts = schemas_for(config)
    p.list_schemas({})
    for kind, text in texts.items():
        p.create_schema(f"{GROUP}-{kind.lower()}", text, domain=config.domain)
    p.list_dataset_groups([])
    p.create_dataset_group(GROUP, domain=config.domain)
    p.describe_dataset_group(GROUP, status="CREATE PENDING", domain=config.domain)
    p.describe_dataset_group(GROUP, status="CREATE IN_PROGRESS", domain=config.domain)
    p.describe_dataset_group(GROUP, domain=config.domain)
    p.list_datasets(GROUP, {})
    for n, kind in enumerate(texts):
        name = f"{GROUP}-{kind.lower()}"
        p.create_dataset(GROUP, kind, name, name)
        if n == 0:
            p.describe_dataset(GROUP, kind, name, status="CREATE PENDING")
        p.describe_dataset(GROUP, kind, name)
    p.list_event_trackers(GROUP, [])
    p.create_event_tracker(GROUP, f"{GROUP}-tracker", tracking_id)
    p.describe_event_tracker(f"{GROUP}-tracker", tracking_id, status="CREATE PENDING")
    p.describe_event_tracker(f"{GROUP}-tracker", tracking_id)


def redeploy_stubs(p: PersonalizeStub, config: DeployConfig, tracking_id: str = "tid-1") -> None:
    texts = schemas_for(config)
    p.list_schemas({f"{GROUP}-{kind.lower()}": arn("schema", f"{GROUP}-{kind.lower()}") for kind in texts})
    for kind, text in texts.items():
        p.describe_schema(f"{GROUP}-{kind.lower()}", text)
    p.list_dataset_groups([GROUP])
    p.describe_dataset_group(GROUP)
    p.list_datasets(GROUP, {kind: f"{GROUP}-{kind.lower()}" for kind in texts})
    for kind in texts:
        p.describe_dataset(GROUP, kind, f"{GROUP}-{kind.lower()}")
    p.list_event_trackers(GROUP, [f"{GROUP}-tracker"])
    p.describe_event_tracker(f"{GROUP}-tracker", tracking_id)


def run(aws: dict, config: DeployConfig, stubs) -> tuple[list[tuple[str, str, str]], str, list[float]]:
    personalize = offline("personalize")
    lines: list[tuple[str, str, str]] = []
    sleeps: list[float] = []
    plan = personalize_plan(config)
    assert plan is not None
    with Stubber(personalize) as stubber:
        stubs(PersonalizeStub(stubber), config)
        clients = PersonalizeClients(personalize, aws["s3"], aws["iam"])
        tracking = ensure_personalize(
            clients, plan, lambda *line: lines.append(line), Waiter(sleep=sleeps.append, poll_seconds=5)
        )
        stubber.assert_no_pending_responses()
    return lines, tracking, sleeps


def test_first_deploy_creates_everything_then_redeploy_changes_nothing(aws) -> None:
    config = aws["config"]
    lines, tracking, sleeps = run(aws, config, first_deploy_stubs)
    role_arn = config.personalize_role_arn
    assert lines == [
        ("iam role", role_arn, "created"),
        ("iam role policy", role_arn, "created"),
        ("s3 bucket policy", config.bucket, "created"),
        ("personalize schema", "sp-interactions", "created"),
        ("personalize schema", "sp-users", "created"),
        ("personalize dataset group", "sp", "created"),
        ("personalize dataset", "sp-interactions", "created"),
        ("personalize dataset", "sp-users", "created"),
        ("personalize event tracker", "sp-tracker", "created"),
    ]
    assert tracking == "tid-1"
    assert sleeps == [5, 5, 5, 5]  # one per non-ACTIVE answer, bounded by the Waiter
    # What deploy set on moto: the role, its read-only policy, and the bucket policy for Personalize.
    role = aws["iam"].get_role(RoleName=aws["role"])["Role"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "personalize.amazonaws.com"
    }
    policy = aws["iam"].get_role_policy(RoleName=aws["role"], PolicyName="segment-personalize-read-output")
    actions = {s["Action"] for s in policy["PolicyDocument"]["Statement"]}
    assert actions == {"s3:GetObject", "s3:ListBucket"}
    bucket_policy = json.loads(aws["s3"].get_bucket_policy(Bucket=config.bucket)["Policy"])
    assert {s["Sid"] for s in bucket_policy["Statement"]} == {
        "SegmentPersonalizeListOutput",
        "SegmentPersonalizeReadOutput",
    }
    assert bucket_policy["Statement"][1]["Resource"] == f"arn:aws:s3:::{config.bucket}/transformed/*"

    again, tracking, sleeps = run(aws, config, redeploy_stubs)
    assert [(resource, action) for resource, _, action in again] == [
        (resource, "unchanged") for resource, _, _ in lines
    ]
    assert tracking == "tid-1" and sleeps == []


def test_a_changed_schema_gets_a_versioned_name_and_the_dataset_moves_to_it(aws) -> None:
    run(aws, aws["config"], first_deploy_stubs)
    changed = replace(aws["config"], user_traits="plan,lifetime_value:float,country")
    texts, old = schemas_for(changed), schemas_for(aws["config"])
    versioned = f"{GROUP}-users-{hashlib.sha256(texts['USERS'].encode()).hexdigest()[:8]}"

    def stubs(p: PersonalizeStub, config: DeployConfig) -> None:
        p.list_schemas(
            {
                f"{GROUP}-interactions": arn("schema", f"{GROUP}-interactions"),
                f"{GROUP}-users": arn("schema", f"{GROUP}-users"),
            }
        )
        p.describe_schema(f"{GROUP}-interactions", texts["INTERACTIONS"])
        p.describe_schema(f"{GROUP}-users", old["USERS"])  # the immutable old definition
        p.create_schema(versioned, texts["USERS"])
        p.list_dataset_groups([GROUP])
        p.describe_dataset_group(GROUP)
        p.list_datasets(GROUP, {"INTERACTIONS": f"{GROUP}-interactions", "USERS": f"{GROUP}-users"})
        p.describe_dataset(GROUP, "INTERACTIONS", f"{GROUP}-interactions")
        p.describe_dataset(GROUP, "USERS", f"{GROUP}-users")
        p.add(
            "update_dataset",
            {"datasetArn": arn("dataset", f"{GROUP}/USERS")},
            {"datasetArn": arn("dataset", f"{GROUP}/USERS"), "schemaArn": arn("schema", versioned)},
        )
        update = {"schemaArn": arn("schema", versioned), "status": "UPDATE IN_PROGRESS"}
        p.describe_dataset(GROUP, "USERS", f"{GROUP}-users", latestDatasetUpdate=update)
        p.describe_dataset(GROUP, "USERS", versioned, latestDatasetUpdate={**update, "status": "ACTIVE"})
        p.list_event_trackers(GROUP, [f"{GROUP}-tracker"])
        p.describe_event_tracker(f"{GROUP}-tracker", "tid-1")

    lines, _, sleeps = run(aws, changed, stubs)
    assert ("personalize schema", versioned, "created (versioned: sp-users differs)") in lines
    assert ("personalize dataset", "sp-users", "updated") in lines
    assert sleeps == [5]


def test_a_failed_dataset_group_is_one_line(aws) -> None:
    def stubs(p: PersonalizeStub, config: DeployConfig) -> None:
        texts = schemas_for(config)
        p.list_schemas({})
        p.create_schema(f"{GROUP}-interactions", texts["INTERACTIONS"])
        p.create_schema(f"{GROUP}-users", texts["USERS"])
        p.list_dataset_groups([])
        p.create_dataset_group(GROUP)
        group = {"name": GROUP, "datasetGroupArn": arn("dataset-group", GROUP), "status": "CREATE FAILED"}
        group["failureReason"] = "KMS key not accessible"
        p.add(
            "describe_dataset_group", {"datasetGroup": group}, {"datasetGroupArn": group["datasetGroupArn"]}
        )

    with pytest.raises(PersonalizeError) as caught:
        run(aws, aws["config"], stubs)
    assert str(caught.value) == "dataset group sp is CREATE FAILED: KMS key not accessible"


def test_waiting_is_bounded() -> None:
    sleeps: list[float] = []
    waiter = Waiter(sleep=sleeps.append, poll_seconds=1, max_polls=3)
    with pytest.raises(PersonalizeError, match="still CREATE IN_PROGRESS after 3 checks"):
        waiter.active("event tracker t", lambda: {"status": "CREATE IN_PROGRESS"})
    assert sleeps == [1, 1]


def test_an_existing_group_of_another_domain_is_refused(aws) -> None:
    config = replace(aws["config"], domain="ECOMMERCE", user_traits="")

    def stubs(p: PersonalizeStub, config: DeployConfig) -> None:
        texts = schemas_for(config)
        p.list_schemas({})
        p.create_schema(f"{GROUP}-interactions", texts["INTERACTIONS"], domain="ECOMMERCE")
        p.list_dataset_groups([GROUP])
        p.describe_dataset_group(GROUP)  # custom

    with pytest.raises(
        PersonalizeError, match="exists with domain none \\(custom\\); a dataset group's domain"
    ):
        run(aws, config, stubs)


def test_bucket_policy_merge_keeps_other_statements_and_replaces_ours_by_sid() -> None:
    ours = {"Version": "2012-10-17", "Statement": [{"Sid": "A", "Effect": "Allow", "new": 1}]}
    current = {
        "Version": "2012-10-17",
        "Id": "kept",
        "Statement": [{"Sid": "Other", "Effect": "Deny"}, {"Sid": "A", "Effect": "Allow", "old": 1}],
    }
    assert merged_bucket_policy(current, ours) == {
        "Version": "2012-10-17",
        "Id": "kept",
        "Statement": [{"Sid": "Other", "Effect": "Deny"}, {"Sid": "A", "Effect": "Allow", "new": 1}],
    }
    assert merged_bucket_policy(None, ours) == ours


def test_an_existing_bucket_policy_is_merged_not_replaced(aws) -> None:
    other = {
        "Sid": "SomeoneElses",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{aws['config'].bucket}/other/*",
    }
    aws["s3"].put_bucket_policy(
        Bucket=aws["config"].bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [other]})
    )
    lines, _, _ = run(aws, aws["config"], first_deploy_stubs)
    assert ("s3 bucket policy", aws["config"].bucket, "updated") in lines
    policy = json.loads(aws["s3"].get_bucket_policy(Bucket=aws["config"].bucket)["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == [
        "SomeoneElses",
        "SegmentPersonalizeListOutput",
        "SegmentPersonalizeReadOutput",
    ]


def test_an_unmanaged_role_is_left_alone_and_said_so(aws) -> None:
    config = replace(aws["config"], manage_personalize_role=False)
    lines, _, _ = run(aws, config, first_deploy_stubs)
    assert lines[0] == (
        "iam role",
        config.personalize_role_arn,
        "not managed (manage_personalize_role = false): apply what --dry-run prints",
    )
    with pytest.raises(aws["iam"].exceptions.NoSuchEntityException):
        aws["iam"].get_role(RoleName=aws["role"])


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"personalize_role_arn": "my-role"}, "personalize_role_arn must be an IAM role ARN"),
        ({"import_mode": "SOMETIMES"}, "import_mode must be FULL or INCREMENTAL"),
        ({"dataset_group_name": "a" * 41}, "at most 40 characters"),
        ({"user_traits": "user_id"}, "'user_id' is a reserved field of the USERS dataset"),
        ({"domain": "VIDEO_ON_DEMAND"}, "domain must be empty (a custom dataset group) or ECOMMERCE"),
        ({"output_path": "build/output/interactions"}, "output_path must be an s3:// folder"),
        ({"dataset_group_name": "", "tracking_id": ""}, "tracking_id is empty"),
    ],
)
def test_config_Personalize_would_refuse_stops_before_any_call(overrides: dict, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        personalize_plan(make_config(**overrides))
    assert message in str(caught.value)


def test_no_dataset_group_leaves_personalize_alone() -> None:
    assert personalize_plan(make_config(dataset_group_name="", tracking_id="t-1")) is None


def write_config(path: Path, config: DeployConfig) -> Path:
    from dataclasses import asdict

    lines = ["[aws]"] + [f"{key} = {json.dumps(value)}" for key, value in asdict(config).items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_dry_run_shows_the_dataset_group_the_tracker_and_its_wiring(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(
        tmp_path / "deploy.toml",
        make_config(manage_personalize_role=False, item_properties="category,price:float", put_users=True),
    )
    assert deploy_cli.main(["--config", str(config), "--dry-run"]) == 0
    out = capsys.readouterr().out
    headers = [line for line in out.splitlines() if line and not line.startswith(" ")]
    assert headers[-3:-1] == [
        "lambda function: stream",
        f"event source mapping: {make_config().kinesis_stream_arn}",
    ]
    assert headers[-13:-3] == [
        f"iam role: {ROLE}",
        "s3 bucket policy: sp-bucket",
        "personalize schema: sp-interactions",
        "personalize schema: sp-users",
        "personalize schema: sp-items",
        "personalize dataset group: sp",
        "personalize dataset: sp-interactions",
        "personalize dataset: sp-users",
        "personalize dataset: sp-items",
        "personalize event tracker: sp-tracker",
    ]
    # The catalog: a classifier and a crawler per dataset folder, the queries registered for all three.
    assert [h for h in headers if h.startswith(("glue classifier", "glue crawler"))] == [
        "glue classifier: personalize-interactions-csv",
        "glue crawler: segment-personalize-interactions",
        "glue classifier: personalize-users-csv",
        "glue crawler: segment-personalize-users",
        "glue classifier: personalize-items-csv",
        "glue crawler: segment-personalize-items",
    ]
    assert '"Path": "s3://sp-bucket/transformed/users/"' in out
    assert '"importFrom": "s3://sp-bucket/transformed/items/"' in out
    assert '"MetadataTables": {\n      "items": "items",\n      "users": "users"\n    }' in out
    assert '"--ITEM_PROPERTIES": "category,price:float"' in out
    assert '"--USER_TRAITS": "plan,lifetime_value:float"' in out
    lambda_env = {
        "ANONYMOUS_EVENTS": "stitch",
        "ITEM_ID_FIELD": "sku",
        "PERSONALIZE_TRACKING_ID": "<trackingId of event tracker sp-tracker, known once deploy creates it>",
        "PUT_USERS": "true",
        "USER_TRAITS": "plan,lifetime_value:float",
        # Known before the dataset exists: Personalize names a dataset by its group and type.
        "USERS_DATASET_ARN": f"arn:aws:personalize:us-east-1:{ACCOUNT}:dataset/sp/USERS",
    }
    assert json.dumps({"Variables": lambda_env}, indent=2, sort_keys=True).replace("\n", "\n    ") in out
    assert "aws iam create-role --role-name sp-personalize --assume-role-policy-document '{" in out
    # A configured tracking id wins, in the plan too.
    config = write_config(tmp_path / "with-id.toml", make_config(tracking_id="configured-1"))
    assert deploy_cli.main(["--config", str(config), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert '"PERSONALIZE_TRACKING_ID": "configured-1"' in out and '"PUT_USERS": "false"' in out


@pytest.mark.parametrize(
    ("overrides", "lines"),
    [
        # Personalize's schema rules hold without a managed dataset group too.
        (
            {"dataset_group_name": "", "tracking_id": "t-1", "user_traits": "USER_ID,plan"},
            ["'USER_ID' is a reserved field of the USERS dataset"],
        ),
        # With one, the same problem is one line, not two.
        ({"item_properties": "item_id"}, ["'item_id' is a reserved field of the ITEMS dataset"]),
        (
            {"item_properties": "price:bool"},
            ["item_properties = 'price:bool': --ITEM_PROPERTIES: 'price:bool' has type"],
        ),
        (
            {"user_traits": "", "put_users": True},
            ["user_traits = '', put_users = True: PUT_USERS=true needs USER_TRAITS: PutUsers sends only the"],
        ),
    ],
)
def test_users_and_items_settings_Personalize_would_refuse_are_one_line_each(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], overrides: dict, lines: list[str]
) -> None:
    config = write_config(tmp_path / "deploy.toml", make_config(**overrides))
    for flags in ([], ["--dry-run"]):
        with_aws_trapped = pytest.MonkeyPatch.context()
        with with_aws_trapped as patch:
            patch.setattr(deploy_cli, "clients_for", lambda config: pytest.fail("an AWS client was made"))
            assert deploy_cli.main(["--config", str(config), *flags]) == 2
        err = capsys.readouterr().err.splitlines()
        assert len(err) == len(lines) and all(line in e for line, e in zip(lines, err, strict=True)), err


def test_users_and_items_are_deployed(tmp_path: Path) -> None:
    from deploy.validate import load_deployable

    values = make_config(item_properties="CATEGORY_L1=category,brand", put_users=True)
    config = load_deployable(write_config(tmp_path / "deploy.toml", values), env={})
    assert (config.user_traits, config.item_properties) == (
        "plan,lifetime_value:float",
        "CATEGORY_L1=category,brand",
    )


def test_deploy_puts_the_trackers_id_into_the_lambda_and_a_configured_id_wins(
    account, dist: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole deploy on moto (tests/test_deploy.py's account), Personalize on the Stubber."""
    from deploy.apply import deploy
    from deploy.config import load_config
    from tests.aws_gaps import fill_glue_gaps

    values = {
        **account["values"],
        "tracking_id": "",
        "dataset_group_name": GROUP,
        "personalize_role_arn": ROLE,
    }
    config = load_config(test_deploy.write_config(account["config"].with_name("p.toml"), **values), env={})

    def deploy_once(config: DeployConfig, stubs) -> list[tuple[str, str, str]]:
        clients = deploy_cli.clients_for(config)
        fill_glue_gaps(clients.glue, account["classifiers"])
        personalize = offline("personalize")
        clients = replace(clients, personalize=personalize)
        lines: list[tuple[str, str, str]] = []
        with Stubber(personalize) as stubber:
            stubs(PersonalizeStub(stubber), config)
            deploy(clients, config, dist, lambda *line: lines.append(line))
            stubber.assert_no_pending_responses()
        return lines

    import deploy.personalize as personalize_module

    monkeypatch.setattr(
        personalize_module, "Waiter", partial(personalize_module.Waiter, sleep=lambda s: None)
    )
    lines = deploy_once(config, first_deploy_stubs)
    assert ("personalize event tracker", "sp-tracker", "created") in lines
    lambda_ = boto3.client("lambda", endpoint_url=values["endpoint_url"])
    function = lambda_.get_function(FunctionName=values["function_name"])["Configuration"]
    assert function["Environment"]["Variables"]["PERSONALIZE_TRACKING_ID"] == "tid-1"

    lines = deploy_once(replace(config, tracking_id="configured-1"), redeploy_stubs)
    assert ("lambda function", values["function_name"], "updated") in lines
    function = lambda_.get_function(FunctionName=values["function_name"])["Configuration"]
    assert function["Environment"]["Variables"]["PERSONALIZE_TRACKING_ID"] == "configured-1"


def test_the_job_gets_the_settings_the_schemas_are_built_from() -> None:
    from deploy.plan import job_arguments

    arguments = job_arguments(make_config(item_properties="brand,price:float", event_value_field="price"))
    assert arguments["--USER_TRAITS"] == "plan,lifetime_value:float"
    assert arguments["--ITEM_PROPERTIES"] == "brand,price:float"
    assert arguments["--EVENT_VALUE_FIELD"] == "price"
    assert not {"--USER_TRAITS", "--ITEM_PROPERTIES", "--EVENT_VALUE_FIELD", "--PERSONALIZE_DOMAIN"} & set(
        job_arguments(make_config(user_traits=""))
    )


@pytest.mark.parametrize(
    "overrides",
    [
        {"item_properties": "brand,price:float", "event_value_field": "price"},
        {
            "domain": "ECOMMERCE",
            "item_properties": "CATEGORY_L1=category,PRICE=price:float",
            "user_traits": "",
        },
        {"supported_events": "Product Viewed=View, Order Completed", "item_id_field": "product_id,sku"},
    ],
)
def test_deploy_creates_exactly_the_schema_files_the_job_writes(overrides: dict) -> None:
    """The job, given deploy's arguments, writes the schemas deploy creates (spark-free: its own parser)."""
    from segment_personalize.job_config import parse_job_args
    from segment_personalize.personalize_schema import schema_file_path

    from deploy.personalize import schemas_for
    from deploy.plan import job_arguments

    config = make_config(**overrides)
    argv = ["job", "--JOB_NAME", "j", *(x for pair in job_arguments(config).items() for x in pair)]
    job = parse_job_args(argv)
    expected = {
        schema_file_path(job.output_path, kind): text + "\n" for kind, text in schemas_for(config).items()
    }
    assert job.schema_files() == expected


def test_an_ecommerce_dataset_group_with_items(aws) -> None:
    config = replace(
        aws["config"],
        domain="ECOMMERCE",
        user_traits="",
        item_properties="CATEGORY_L1=category,PRICE=price:float",
    )
    lines, tracking, _ = run(aws, config, first_deploy_stubs)
    assert [(r, n) for r, n, a in lines if r.startswith("personalize")] == [
        ("personalize schema", "sp-interactions"),
        ("personalize schema", "sp-items"),
        ("personalize dataset group", "sp"),
        ("personalize dataset", "sp-interactions"),
        ("personalize dataset", "sp-items"),
        ("personalize event tracker", "sp-tracker"),
    ]
    assert tracking == "tid-1"


def test_event_types_are_counted_as_the_job_writes_them() -> None:
    """Renames and the ecommerce preset count as the EVENT_TYPE values written, not as Segment names."""
    from deploy.personalize import schemas_for

    # 18 Segment events, 10 types: Personalize's limit of 10 (EVENT_VALUE is reserved, not metadata).
    assert "INTERACTIONS" in schemas_for(
        make_config(supported_events="ecommerce", user_traits="", event_value_field="price")
    )
    eleven = ",".join(f"Event {n}=Type{n}" for n in range(11))
    with pytest.raises(ConfigError, match="supported_events yields 11 event types"):
        schemas_for(make_config(supported_events=eleven, user_traits=""))
    # Eleven Segment events under one type are one event type.
    one_type = ",".join(f"Event {n}=View" for n in range(11))
    assert schemas_for(make_config(supported_events=one_type, user_traits=""))


def test_event_value_field_reaches_the_job_the_lambda_and_the_crawler() -> None:
    from deploy.plan import crawler_spec, job_arguments, lambda_environment

    config = make_config(user_traits="", event_value_field="price")
    assert job_arguments(config)["--EVENT_VALUE_FIELD"] == "price"
    assert lambda_environment(config)["EVENT_VALUE_FIELD"] == "price"
    assert crawler_spec(config).column_names[-1] == "event_value"
    assert "EVENT_VALUE_FIELD" not in lambda_environment(make_config(user_traits=""))


def test_a_whole_deploy_with_users_and_items_catalogs_and_wires_them(
    account, dist: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole deploy on moto with Users and Items; Personalize on the Stubber."""
    from crawler.definition import sibling_name
    from deploy.apply import deploy
    from deploy.config import load_config
    from tests.aws_gaps import fill_glue_gaps

    values = {
        **account["values"],
        "tracking_id": "",
        "dataset_group_name": GROUP,
        "personalize_role_arn": ROLE,
        "user_traits": "plan",
        "item_properties": "category,price:float",
        "put_users": True,
    }
    config = load_config(test_deploy.write_config(account["config"].with_name("m.toml"), **values), env={})
    import deploy.personalize as personalize_module

    monkeypatch.setattr(
        personalize_module, "Waiter", partial(personalize_module.Waiter, sleep=lambda s: None)
    )
    clients = deploy_cli.clients_for(config)
    fill_glue_gaps(clients.glue, account["classifiers"])
    personalize = offline("personalize")
    lines: list[tuple[str, str, str]] = []
    with Stubber(personalize) as stubber:
        first_deploy_stubs(PersonalizeStub(stubber), config)
        deploy(replace(clients, personalize=personalize), config, dist, lambda *line: lines.append(line))
        stubber.assert_no_pending_responses()
    crawlers = [(n, a) for r, n, a in lines if r == "glue crawler"]
    assert crawlers == [
        (config.crawler_name, "created"),
        (sibling_name(config.crawler_name, "USERS"), "created"),
        (sibling_name(config.crawler_name, "ITEMS"), "created"),
    ]
    glue = boto3.client("glue", endpoint_url=values["endpoint_url"])
    items = glue.get_crawler(Name=sibling_name(config.crawler_name, "ITEMS"))["Crawler"]
    parent = config.output_path.rstrip("/").rsplit("/", 1)[0]
    assert items["Targets"]["S3Targets"][0]["Path"] == f"{parent}/items/"
    assert account["classifiers"]["personalize-items-csv"]["Header"] == ["ITEM_ID", "category", "price"]
    queries = {n: a for r, n, a in lines if r == "athena named query"}
    for name in ("item_metadata_coverage", "users_without_traits", "top_categories"):
        assert queries[f"segment-personalize/{name}"] == "created"
    assert [n for r, n, _ in lines if r == "personalize dataset"] == [
        "sp-interactions",
        "sp-users",
        "sp-items",
    ]
    lambda_ = boto3.client("lambda", endpoint_url=values["endpoint_url"])
    env = lambda_.get_function(FunctionName=values["function_name"])["Configuration"]["Environment"]
    wired = ("PERSONALIZE_TRACKING_ID", "PUT_USERS", "USER_TRAITS", "USERS_DATASET_ARN")
    assert {k: env["Variables"][k] for k in wired} == {
        "PERSONALIZE_TRACKING_ID": "tid-1",
        "PUT_USERS": "true",
        "USER_TRAITS": "plan",
        "USERS_DATASET_ARN": arn("dataset", "sp/USERS"),
    }


@pytest.mark.parametrize(
    ("overrides", "line"),
    [
        # No dataset group, so no Users dataset deploy would create: the Lambda names what is missing.
        (
            {"dataset_group_name": "", "tracking_id": "t-1", "put_users": True},
            "users_dataset_arn = '', put_users = True: PUT_USERS=true needs USERS_DATASET_ARN",
        ),
        (
            {"user_traits": "", "put_users": True, "users_dataset_arn": "arn:aws:personalize:x"},
            "user_traits = '', put_users = True: PUT_USERS=true needs USER_TRAITS",
        ),
    ],
)
def test_put_users_needs_traits_and_a_users_dataset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], overrides: dict, line: str
) -> None:
    config = write_config(tmp_path / "deploy.toml", make_config(**overrides))
    assert deploy_cli.main(["--config", str(config), "--dry-run"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and line in err[0], err


def test_a_configured_users_dataset_arn_wins_and_works_without_a_dataset_group() -> None:
    from deploy.plan import lambda_environment, with_tracking_placeholder

    mine = "arn:aws:personalize:us-east-1:123456789012:dataset/mine/USERS"
    for overrides in ({}, {"dataset_group_name": "", "tracking_id": "t-1"}):
        config = make_config(put_users=True, users_dataset_arn=mine, **overrides)
        assert lambda_environment(with_tracking_placeholder(config))["USERS_DATASET_ARN"] == mine
    # put_users = false: the Lambda gets no USERS_DATASET_ARN at all.
    assert "USERS_DATASET_ARN" not in lambda_environment(with_tracking_placeholder(make_config()))
