"""Deployment, re-deployment and job-run following against moto server over HTTP (real boto3).

moto lacks a few Glue operations; tests/aws_gaps.py answers those in-process and says which.
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from deploy import __main__ as deploy_cli
from deploy import glue_run
from deploy.apply import Clients, deploy
from deploy.config import ConfigError, load_config
from deploy.package import build_glue, build_lambda
from deploy.plan import LAMBDA_HANDLER, plan
from tests.aws_gaps import fill_glue_gaps
from tests.aws_support import offline

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


def write_config(path: Path, **values: object) -> Path:
    lines = ["[aws]"] + [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("dist")
    build_glue(folder)
    build_lambda(folder)
    return folder


@pytest.fixture
def account(aws_env: str, tmp_path: Path) -> dict[str, object]:
    """A bucket, a Lambda role and a Kinesis stream on moto, and a config pointing at them."""
    suffix = uuid.uuid4().hex[:8]
    bucket = f"sp-{suffix}"
    boto3.client("s3", endpoint_url=aws_env).create_bucket(Bucket=bucket)
    iam = boto3.client("iam", endpoint_url=aws_env)
    role = iam.create_role(RoleName=f"lambda-{suffix}", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"][
        "Arn"
    ]
    kinesis = boto3.client("kinesis", endpoint_url=aws_env)
    kinesis.create_stream(StreamName=f"segment-{suffix}", ShardCount=1)
    stream = kinesis.describe_stream(StreamName=f"segment-{suffix}")["StreamDescription"]["StreamARN"]
    values = {
        "region": "us-east-1",
        "bucket": bucket,
        "endpoint_url": aws_env,
        "job_name": f"job-{suffix}",
        "glue_role_arn": "arn:aws:iam::123456789012:role/segment-personalize-glue",
        "input_path": f"s3://{bucket}/segment-logs/",
        "output_path": f"s3://{bucket}/transformed/interactions/",
        "database": f"segmentdata_{suffix}",
        "crawler_name": f"crawler-{suffix}",
        "workgroup": f"wg-{suffix}",
        "function_name": f"stream-{suffix}",
        "lambda_role_arn": role,
        "tracking_id": "tracking-1",
        "kinesis_stream_arn": stream,
    }
    boto3.client("athena", endpoint_url=aws_env).create_work_group(Name=values["workgroup"])
    config = write_config(tmp_path / "deploy.toml", **values)
    # The account's Glue classifiers, which moto does not keep (see tests/aws_gaps.py).
    return {"values": values, "config": config, "classifiers": {}}


def run_deploy(config_path: Path, dist: Path, account: dict) -> tuple[list[tuple[str, str, str]], Clients]:
    config = load_config(config_path, env={})
    clients = deploy_cli.clients_for(config)
    fill_glue_gaps(clients.glue, account["classifiers"])
    lines: list[tuple[str, str, str]] = []
    deploy(clients, config, dist, lambda *line: lines.append(line))
    return lines, clients


def test_first_deploy_creates_everything_and_the_second_changes_nothing(account, dist: Path) -> None:
    values = account["values"]
    first, clients = run_deploy(account["config"], dist, account)
    assert {(resource, action) for resource, _, action in first} == {
        ("s3 object", "uploaded"),
        ("glue job", "created"),
        ("glue database", "created"),
        ("glue classifier", "created"),
        ("glue crawler", "created"),
        ("athena named query", "created"),
        ("lambda function", "created"),
        ("event source mapping", "created"),
    }
    job = clients.glue.get_job(JobName=values["job_name"])["Job"]
    assert job["GlueVersion"] == "5.1"
    assert job["DefaultArguments"]["--S3_JSON_INPUT_PATH"] == values["input_path"]
    assert (
        job["DefaultArguments"]["--extra-py-files"]
        == f"s3://{values['bucket']}/segment-personalize/artifacts/segment_personalize.zip"
    )
    assert job["DefaultArguments"]["--job-bookmark-option"] == "job-bookmark-disable"
    function = clients.lambda_.get_function(FunctionName=values["function_name"])["Configuration"]
    assert function["Handler"] == LAMBDA_HANDLER and function["Runtime"] == "python3.11"
    assert function["Environment"]["Variables"]["PERSONALIZE_TRACKING_ID"] == "tracking-1"
    (mapping,) = clients.lambda_.list_event_source_mappings(FunctionName=values["function_name"])[
        "EventSourceMappings"
    ]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert (mapping["BisectBatchOnFunctionError"], mapping["MaximumRetryAttempts"]) == (True, 10)
    assert mapping["MaximumRecordAgeInSeconds"] == 3600

    second, clients = run_deploy(account["config"], dist, account)
    assert [line for line in second if line[2] != "unchanged"] == []
    assert len(second) == len(first)
    assert (
        len(
            clients.lambda_.list_event_source_mappings(FunctionName=values["function_name"])[
                "EventSourceMappings"
            ]
        )
        == 1
    )


def test_changed_config_updates_in_place(account, dist: Path, tmp_path: Path) -> None:
    run_deploy(account["config"], dist, account)
    changed = write_config(
        tmp_path / "changed.toml",
        **{**account["values"], "number_of_workers": 5, "batch_size": 500, "bookmarks": True},
    )
    lines, clients = run_deploy(changed, dist, account)
    actions = {(resource, action) for resource, _, action in lines}
    assert ("glue job", "updated") in actions and ("event source mapping", "updated") in actions
    assert ("lambda function", "unchanged") in actions
    job = clients.glue.get_job(JobName=account["values"]["job_name"])["Job"]
    assert (
        job["NumberOfWorkers"] == 5
        and job["DefaultArguments"]["--job-bookmark-option"] == "job-bookmark-enable"
    )


def test_dry_run_calls_nothing(account, capsys: pytest.CaptureFixture[str], aws_env: str) -> None:
    assert deploy_cli.main(["--config", str(account["config"]), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "glue job: " + account["values"]["job_name"] in out and "(dry run: nothing was called" in out
    glue = boto3.client("glue", endpoint_url=aws_env)
    assert account["values"]["job_name"] not in glue.list_jobs()["JobNames"]
    assert [step.resource for step in plan(load_config(account["config"], env={}))][-2:] == [
        "lambda function",
        "event source mapping",
    ]


def test_missing_config_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert deploy_cli.main(["--config", str(tmp_path / "nope.toml")]) == 2
    assert capsys.readouterr().err.strip() == f"error: no deployment config at {tmp_path / 'nope.toml'}"
    shipped = Path(deploy_cli.__file__).with_name("deploy.toml")
    with pytest.raises(ConfigError) as caught:
        load_config(shipped, env={"SP_BUCKET": "my-bucket"})
    message = str(caught.value)
    assert "bucket is still" not in message  # the environment's value took
    assert "personalize_role_arn is still 'CHANGE-ME': set it in deploy.toml or SP_PERSONALIZE" in message
    assert "glue_role_arn is still 'CHANGE-ME'" in message


def test_environment_overrides_the_file(account) -> None:
    config = load_config(account["config"], env={"SP_NUMBER_OF_WORKERS": "7", "SP_BOOKMARKS": "true"})
    assert (config.number_of_workers, config.bookmarks) == (7, True)
    with pytest.raises(ConfigError, match="bookmarks must be true or false"):
        load_config(account["config"], env={"SP_BOOKMARKS": "maybe"})


def test_missing_artifacts_are_named(account, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert deploy_cli.main(["--config", str(account["config"]), "--dist", str(tmp_path / "empty")]) == 2
    assert "segment_personalize.zip is missing: run `make package` first" in capsys.readouterr().err


def test_glue_run_follows_to_success_on_moto(account, dist: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_deploy(account["config"], dist, account)
    assert glue_run.main(["--config", str(account["config"]), "--poll-seconds", "0.1"]) == 0
    out = capsys.readouterr().out.splitlines()
    # moto's job runs progress "immediately": the first get_job_run already says SUCCEEDED. The
    # STARTING -> RUNNING -> FAILED path is test_follow_reports_state_changes_and_failure's.
    state_line, report_line = out
    assert state_line.startswith(f"{account['values']['job_name']} jr_") and state_line.endswith(
        ": SUCCEEDED"
    )
    assert (
        report_line == f"run report: s3://{account['values']['bucket']}/transformed/interactions.report.json"
    )


def test_follow_reports_state_changes_and_failure() -> None:
    glue = offline("glue")
    seen: list[str] = []
    with Stubber(glue) as stub:
        for state in ("STARTING", "RUNNING", "RUNNING", "FAILED"):
            run = {"Id": "jr_1", "JobRunState": state}
            if state == "FAILED":
                run["ErrorMessage"] = "AnalysisException: Path does not exist"
            stub.add_response("get_job_run", {"JobRun": run}, {"JobName": "j", "RunId": "jr_1"})
        final = glue_run.follow(glue, "j", "jr_1", progress=seen.append, sleep=lambda s: None)
    assert seen == ["j jr_1: STARTING", "j jr_1: RUNNING", "j jr_1: FAILED"]
    assert final["ErrorMessage"] == "AnalysisException: Path does not exist"


def test_report_location() -> None:
    assert glue_run.report_location({"--S3_CSV_OUTPUT_PATH": "s3://b/out/interactions/"}) == (
        "s3://b/out/interactions.report.json"
    )
    assert (
        glue_run.report_location({"--RUN_REPORT_PATH": "s3://b/r.json", "--S3_CSV_OUTPUT_PATH": "x"})
        == "s3://b/r.json"
    )


def test_only_changed_artifacts_are_uploaded_again(account, dist: Path, tmp_path: Path) -> None:
    run_deploy(account["config"], dist, account)
    rebuilt = tmp_path / "dist"
    shutil.copytree(dist, rebuilt)
    script = rebuilt / "segment_events_to_personalize.py"
    script.write_text(script.read_text() + "\n# a change\n")
    lines, _ = run_deploy(account["config"], rebuilt, account)
    uploads = {name.rsplit("/", 1)[1]: action for resource, name, action in lines if resource == "s3 object"}
    assert uploads == {
        "segment_personalize.zip": "unchanged",
        "segment_events_to_personalize.py": "updated",
        "personalize_stream.zip": "unchanged",
    }


def test_seeding_waits_for_the_local_s3_to_answer() -> None:
    from botocore.exceptions import EndpointConnectionError

    from deploy.local_s3 import wait_until_up

    class StartingS3:
        calls = 0

        def list_buckets(self) -> dict:
            self.calls += 1
            if self.calls < 3:
                raise EndpointConnectionError(endpoint_url="http://s3:5000")
            return {"Buckets": []}

    s3 = StartingS3()
    wait_until_up(s3, sleep=lambda s: None)
    assert s3.calls == 3


def test_a_value_aws_would_refuse_stops_before_any_call(
    account, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write_config(tmp_path / "bad.toml", **{**account["values"], "glue_role_arn": "my-glue-role"})
    assert deploy_cli.main(["--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the crawler role must be an IAM role ARN") and "Traceback" not in err
    objects = boto3.client("s3", endpoint_url=account["values"]["endpoint_url"]).list_objects_v2(
        Bucket=account["values"]["bucket"]
    )
    assert objects["KeyCount"] == 0


def test_glue_run_needs_only_the_job_and_passes_overrides(
    account, dist: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_deploy(account["config"], dist, account)
    values = account["values"]
    # Only what a run needs: the Lambda's settings may still be placeholders.
    minimal = write_config(
        tmp_path / "run.toml",
        region="us-east-1",
        job_name=values["job_name"],
        endpoint_url=values["endpoint_url"],
        tracking_id="CHANGE-ME",
    )
    argv = ["--config", str(minimal), "--poll-seconds", "0.1", "--arg", "RUN_REPORT_PATH=s3://b/r.json"]
    assert glue_run.main(argv) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "run report: s3://b/r.json"
    glue = boto3.client("glue", endpoint_url=values["endpoint_url"])
    (run,) = glue.get_job_runs(JobName=values["job_name"])["JobRuns"]
    # moto folds the job's DefaultArguments into the run's Arguments; the override is among them.
    assert run["Arguments"]["--RUN_REPORT_PATH"] == "s3://b/r.json"


def test_glue_run_on_a_job_never_deployed(
    aws_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path / "run.toml", region="us-east-1", job_name="nope", endpoint_url=aws_env)
    assert glue_run.main(["--config", str(config)]) == 1
    assert capsys.readouterr().err == "error: no Glue job 'nope' in us-east-1: run make deploy first\n"


def test_parse_overrides() -> None:
    assert glue_run.parse_overrides(["SINGLE_FILE=true", "--ITEM_ID_FIELD=product_id", "X=a=b"]) == {
        "--SINGLE_FILE": "true",
        "--ITEM_ID_FIELD": "product_id",
        "--X": "a=b",
    }
    with pytest.raises(ValueError, match="KEY=VALUE"):
        glue_run.parse_overrides(["SINGLE_FILE"])


def test_glue_run_exits_1_with_the_error_message_on_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    glue = offline("glue")
    config = write_config(tmp_path / "run.toml", region="us-east-1", job_name="j")
    monkeypatch.setattr(boto3, "client", lambda *args, **kwargs: glue)
    with Stubber(glue) as stub:
        stub.add_response("get_job", {"Job": {"Name": "j", "DefaultArguments": {}}}, {"JobName": "j"})
        stub.add_response("start_job_run", {"JobRunId": "jr_1"}, {"JobName": "j", "Arguments": {}})
        failed = {"Id": "jr_1", "JobRunState": "FAILED", "ErrorMessage": "out of memory"}
        stub.add_response("get_job_run", {"JobRun": failed}, {"JobName": "j", "RunId": "jr_1"})
        assert glue_run.main(["--config", str(config)]) == 1
    captured = capsys.readouterr()
    assert captured.out == "j jr_1: FAILED\n"
    assert captured.err == "error: run jr_1 FAILED: out of memory\n"
