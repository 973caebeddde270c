"""Deployment, re-deployment and job-run following against moto server over HTTP (real boto3).

moto lacks a few Glue operations; tests/aws_gaps.py answers those in-process and says which.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from deploy import __main__ as deploy_cli
from deploy import glue_run
from deploy.apply import Clients, deploy
from deploy.config import ConfigError, load_config
from deploy.package import ROOT, build_glue, build_lambda
from deploy.plan import LAMBDA_HANDLER, glue_job_request, lambda_request, plan
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


# A complete config with nothing left to fill, for tests that call nothing.
SAMPLE = {
    "region": "us-east-1",
    "bucket": "my-bucket",
    "job_name": "segment-events-to-personalize",
    "glue_role_arn": "arn:aws:iam::123456789012:role/segment-personalize-glue",
    "input_path": "s3://my-bucket/segment-logs/",
    "output_path": "s3://my-bucket/transformed/interactions/",
    "function_name": "segment-personalize-stream",
    "lambda_role_arn": "arn:aws:iam::123456789012:role/segment-personalize-stream",
    "tracking_id": "tracking-1",
    "kinesis_stream_arn": "arn:aws:kinesis:us-east-1:123456789012:stream/segment",
    "personalize_role_arn": "arn:aws:iam::123456789012:role/segment-personalize-import",
}


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
    # Glue 6.0 by default; the Python minor version comes with it, so Command.PythonVersion stays "3".
    assert (job["GlueVersion"], job["Command"]["PythonVersion"]) == ("6.0", "3")
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


# --- Glue version (issue 16) ----------------------------------------------------------------------


def test_glue_version_change_updates_the_job_and_a_redeploy_changes_nothing(
    account, dist: Path, tmp_path: Path
) -> None:
    first, clients = run_deploy(account["config"], dist, account)
    assert ("glue job", account["values"]["job_name"], "created") in first
    job = clients.glue.get_job(JobName=account["values"]["job_name"])["Job"]
    assert job["GlueVersion"] == "6.0"

    older = write_config(tmp_path / "glue-5.1.toml", **{**account["values"], "glue_version": "5.1"})
    second, clients = run_deploy(older, dist, account)
    assert [line for line in second if line[2] != "unchanged"] == [
        ("glue job", account["values"]["job_name"], "updated")
    ]
    job = clients.glue.get_job(JobName=account["values"]["job_name"])["Job"]
    assert (job["GlueVersion"], job["Command"]["PythonVersion"]) == ("5.1", "3")

    third, _ = run_deploy(older, dist, account)
    assert [line for line in third if line[2] != "unchanged"] == []


def test_glue_version_comes_from_the_file_or_sp_glue_version(tmp_path: Path) -> None:
    values = dict(SAMPLE)
    # A bare TOML number reads as the same version.
    config = write_config(tmp_path / "deploy.toml", **values)
    config.write_text(config.read_text() + "glue_version = 5.1\n")
    assert load_config(config, env={}).glue_version == "5.1"
    assert load_config(config, env={"SP_GLUE_VERSION": "6.0"}).glue_version == "6.0"
    assert glue_job_request(load_config(config, env={}))["GlueVersion"] == "5.1"
    with pytest.raises(ConfigError) as caught:
        load_config(config, env={"SP_GLUE_VERSION": "4.0"})
    assert caught.value.problems == (
        "glue_version must be one of 6.0, 5.1, got '4.0' (from SP_GLUE_VERSION)",
    )


def make_dry_run(*args: str, env: dict[str, str] | None = None) -> str:
    """The deploy command `make` would run, without running it."""
    clean = {k: v for k, v in os.environ.items() if k != "GLUE_VERSION" and k != "MAKEFLAGS"}
    result = subprocess.run(
        ["make", "-n", "--no-print-directory", "-C", str(ROOT), *args],
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        check=True,
    )
    commands = ("-m deploy --config", "-m deploy.glue_run --config")
    return next(line for line in result.stdout.splitlines() if any(c in line for c in commands))


def test_make_passes_glue_version_only_when_the_user_gives_it() -> None:
    # The Makefile's own default must not override deploy.toml's glue_version...
    assert "SP_GLUE_VERSION" not in make_dry_run("deploy-dry-run")
    assert "SP_GLUE_VERSION" not in make_dry_run("glue-run")
    # ...but GLUE_VERSION on the command line or in the environment does.
    assert make_dry_run("deploy-dry-run", "GLUE_VERSION=5.1").startswith("SP_GLUE_VERSION=5.1 ")
    assert make_dry_run("glue-run", "GLUE_VERSION=6.0").startswith("SP_GLUE_VERSION=6.0 ")
    assert make_dry_run("deploy", env={"GLUE_VERSION": "5.1"}).startswith("SP_GLUE_VERSION=5.1 ")


def test_glue_run_refuses_a_job_on_another_glue_version(
    account, dist: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run_deploy(account["config"], dist, account)  # Glue 6.0
    name = account["values"]["job_name"]
    monkeypatch.setenv("SP_GLUE_VERSION", "5.1")
    assert glue_run.main(["--config", str(account["config"]), "--poll-seconds", "0.1"]) == 2
    assert capsys.readouterr().err == (
        f"error: job {name!r} is deployed on Glue 6.0, but glue_version is 5.1: "
        "run make deploy GLUE_VERSION=5.1 first, or make glue-run GLUE_VERSION=6.0\n"
    )
    glue = boto3.client("glue", endpoint_url=account["values"]["endpoint_url"])
    assert glue.get_job_runs(JobName=name)["JobRuns"] == []


# --- Validation with the job's and the Lambda's own parsers (issue 17, item 4) -------------------


REFUSED = [
    (
        {"SP_EVENT_VALUE_FIELD": "unit price"},
        "event_value_field = 'unit price': event_value_field must be one field name of letters, digits "
        "and '_' (no '.', ',', spaces or control characters), starting with a letter or '_' "
        "(the Glue job and the Lambda would refuse it)",
    ),
    (
        {"SP_ITEM_ID_FIELD": "bogus"},
        "item_id_field = 'bogus': item_id_field must be one of sku, product_id, or a list of them "
        "without repeats (e.g. product_id,sku), got 'bogus' "
        "(the Glue job and the Lambda would refuse it)",
    ),
    (
        {"SP_SUPPORTED_EVENTS": " , ,"},
        "supported_events = ' , ,': supported_events must name at least one event "
        "(the Glue job and the Lambda would refuse it)",
    ),
    (
        {"SP_OUTPUT_PATH": "{input_path}out/"},
        "input_path = '{input_path}', output_path = '{input_path}out/': the output path {input_path}out/ "
        "is inside the input path {input_path} (the Glue job would refuse it)",
    ),
    (
        {"SP_INPUT_PATH": "{output_path}raw/"},
        "input_path = '{output_path}raw/', output_path = '{output_path}': the output path {output_path} "
        "contains the input path {output_path}raw/ (the Glue job would refuse it)",
    ),
    (
        {"SP_NUMBER_OF_WORKERS": "-3"},
        "number_of_workers must be at least 2, got -3 (from SP_NUMBER_OF_WORKERS)",
    ),
    (
        {"SP_NUMBER_OF_WORKERS": "abc"},
        "number_of_workers must be a whole number, got 'abc' (from SP_NUMBER_OF_WORKERS)",
    ),
    ({"SP_BATCH_SIZE": "0"}, "batch_size must be 1..10000, got 0 (from SP_BATCH_SIZE)"),
    ({"SP_BATCH_SIZE": "10001"}, "batch_size must be 1..10000, got 10001 (from SP_BATCH_SIZE)"),
    (
        {"SP_MAXIMUM_RETRY_ATTEMPTS": "-2"},
        "maximum_retry_attempts must be -1..10000, got -2 (from SP_MAXIMUM_RETRY_ATTEMPTS)",
    ),
    (
        {"SP_MAXIMUM_RECORD_AGE_SECONDS": "30"},
        "maximum_record_age_seconds must be -1 (no limit) or 60..604800 seconds, got 30 "
        "(from SP_MAXIMUM_RECORD_AGE_SECONDS)",
    ),
    (
        {"SP_WORKER_TYPE": "G.025X"},
        "worker_type must be one of G.1X, G.2X, G.4X, G.8X, G.12X, G.16X, R.1X, R.2X, R.4X, R.8X, "
        "got 'G.025X' (from SP_WORKER_TYPE)",
    ),
    ({"SP_BUCKET": " "}, "bucket is empty (from SP_BUCKET)"),
]


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "deploy"])
@pytest.mark.parametrize(("env", "message"), REFUSED, ids=[next(iter(env)) for env, _ in REFUSED])
def test_a_value_the_job_or_the_lambda_would_refuse_stops_before_any_call(
    dist: Path,
    tmp_path: Path,
    env: dict[str, str],
    message: str,
    dry_run: bool,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def no_aws(*args: object, **kwargs: object) -> None:
        raise AssertionError("an AWS client was made")

    # deploy makes its clients here and nowhere else; glue_run and the seeding use boto3.client.
    monkeypatch.setattr(deploy_cli, "clients_for", no_aws)
    monkeypatch.setattr(boto3, "client", no_aws)
    for name, value in env.items():
        monkeypatch.setenv(name, value.format(**SAMPLE))
    config = write_config(tmp_path / "deploy.toml", **SAMPLE)
    argv = ["--config", str(config), "--dist", str(dist), *(["--dry-run"] if dry_run else [])]
    assert deploy_cli.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err == f"error: {message.format(**SAMPLE)}\n"
    assert captured.out == ""


def test_every_problem_is_its_own_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path / "deploy.toml", **{**SAMPLE, "item_id_field": "bogus", "batch_size": 0})
    monkeypatch.setenv("SP_NUMBER_OF_WORKERS", "abc")
    assert deploy_cli.main(["--config", str(config), "--dry-run"]) == 2
    # Each key's own rules first; the parsers see only a config whose keys each passed.
    assert capsys.readouterr().err.splitlines() == [
        "error: number_of_workers must be a whole number, got 'abc' (from SP_NUMBER_OF_WORKERS)",
        "error: batch_size must be 1..10000, got 0",
    ]
    monkeypatch.delenv("SP_NUMBER_OF_WORKERS")
    fixed = write_config(
        tmp_path / "next.toml",
        **{**SAMPLE, "item_id_field": "bogus", "supported_events": ",", "output_path": SAMPLE["input_path"]},
    )
    assert deploy_cli.main(["--config", str(fixed), "--dry-run"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: supported_events = ',': supported_events must name at least one event "
        "(the Glue job and the Lambda would refuse it)",
        "error: item_id_field = 'bogus': item_id_field must be one of sku, product_id, or a list of them "
        "without repeats (e.g. product_id,sku), got 'bogus' "
        "(the Glue job and the Lambda would refuse it)",
        f"error: input_path = '{SAMPLE['input_path']}', output_path = '{SAMPLE['input_path']}': "
        f"the output path {SAMPLE['input_path']} contains the input path {SAMPLE['input_path']} "
        "(the Glue job would refuse it)",
    ]


def test_a_config_folder_or_a_non_utf8_file_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert deploy_cli.main(["--config", str(tmp_path), "--dry-run"]) == 2
    assert capsys.readouterr().err == (
        f"error: {tmp_path} is a folder: --config takes a TOML file such as deploy/deploy.toml\n"
    )
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes('[aws]\nregion = "us-east-1"\nbucket = "caf\u00e9"\n'.encode("latin-1"))
    assert deploy_cli.main(["--config", str(latin1), "--dry-run"]) == 2
    assert capsys.readouterr().err == f"error: {latin1} is not UTF-8 (line 3): TOML files must be UTF-8\n"
    for argv in (["--config", str(tmp_path)], ["--config", str(latin1)]):
        assert glue_run.main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith(f"error: {argv[1]} is ") and "Traceback" not in err


def test_glue_run_checks_its_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path / "run.toml", region="us-east-1", job_name="j", glue_version="4.0")
    assert glue_run.main(["--config", str(config)]) == 2
    assert capsys.readouterr().err == "error: glue_version must be one of 6.0, 5.1, got '4.0'\n"


def test_glue_run_checks_overrides_with_the_jobs_parser(
    account, dist: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_deploy(account["config"], dist, account)
    argv = ["--config", str(account["config"]), "--arg", "ITEM_ID_FIELD=bogus"]
    assert glue_run.main(argv) == 2
    assert capsys.readouterr().err == (
        "error: --arg ITEM_ID_FIELD=bogus: the job would refuse it: "
        "item_id_field must be one of sku, product_id, or a list of them without repeats "
        "(e.g. product_id,sku), got 'bogus'\n"
    )
    glue = boto3.client("glue", endpoint_url=account["values"]["endpoint_url"])
    assert glue.get_job_runs(JobName=account["values"]["job_name"])["JobRuns"] == []


def test_validation_parses_exactly_what_deploy_sends(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The job's argv and the Lambda's environment come from the builders the requests use."""
    from personalize_stream.settings import StreamSettings
    from segment_personalize import job_config

    from deploy import validate

    config = load_config(
        write_config(
            tmp_path / "deploy.toml",
            **{**SAMPLE, "supported_events": "Order Completed", "item_id_field": "product_id"},
            bookmarks=True,
            single_file=True,
        ),
        env={},
    )
    seen: dict[str, list] = {"argv": [], "env": []}
    parse_job_args, from_env = job_config.parse_job_args, StreamSettings.from_env.__func__

    def record_argv(argv: list[str]) -> job_config.JobConfig:
        seen["argv"].append(argv)
        return parse_job_args(argv)

    def record_env(cls: type, env: dict[str, str]) -> StreamSettings:
        seen["env"].append(env)
        return from_env(cls, env)

    monkeypatch.setattr(job_config, "parse_job_args", record_argv)
    monkeypatch.setattr(StreamSettings, "from_env", classmethod(record_env))
    assert validate.refusals(config) == []
    arguments = glue_job_request(config)["DefaultArguments"]
    argv = [
        "segment_events_to_personalize.py",
        "--JOB_NAME",
        config.job_name,
        *[part for pair in arguments.items() for part in pair],
    ]
    assert argv in seen["argv"]
    assert lambda_request(config)["Environment"]["Variables"] in seen["env"]
    parsed = parse_job_args(argv)
    assert (parsed.bookmarks, parsed.single_file, parsed.mapping.item_id_field) == (True, True, "product_id")


def test_a_parser_that_tightens_is_followed_with_no_change_to_deploy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from segment_personalize import job_config, rules

    from deploy import validate

    config = load_config(write_config(tmp_path / "deploy.toml", **SAMPLE, item_id_field="product_id"), env={})
    assert validate.refusals(config) == []
    # Both sides now accept only sku: the key that sets it is named.
    monkeypatch.setattr(rules, "ITEM_ID_FIELDS", ("sku",))
    assert validate.refusals(config) == [
        "item_id_field = 'product_id': item_id_field must be one of sku, or a list of them "
        "without repeats (e.g. product_id,sku), got 'product_id' "
        "(the Glue job and the Lambda would refuse it)"
    ]
    monkeypatch.undo()
    # The job now requires a parameter deploy does not send: every deploy would be broken, whatever the keys.
    monkeypatch.setattr(job_config, "REQUIRED", (*job_config.REQUIRED, "SESSION_WINDOW"))
    (line,) = validate.refusals(config)
    assert line.startswith(
        "the Glue job would refuse what deploy sets, whatever the config: "
        "the following arguments are required: --SESSION_WINDOW"
    )


def test_the_shipped_config_with_its_placeholders_filled_is_deployable() -> None:
    from deploy import validate

    shipped = Path(deploy_cli.__file__).with_name("deploy.toml")
    env = {f"SP_{key.upper()}": value for key, value in SAMPLE.items()}
    config = validate.load_deployable(shipped, env=env)
    assert validate.refusals(validate.baseline(config)) == []
    assert (config.glue_version, config.worker_type, config.number_of_workers) == ("6.0", "G.1X", 2)
