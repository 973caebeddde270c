"""make personalize-import end to end: the run report and data on moto S3, Personalize on the Stubber."""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, replace
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from deploy import personalize_import
from deploy.config import DeployConfig
from deploy.personalize import personalize_plan
from deploy.personalize_import import job_name, run_digest
from tests.aws_support import offline
from tests.personalize_stubs import PersonalizeStub, arn
from tests.test_personalize_deploy import GROUP, make_config

ROLE = make_config().personalize_role_arn


@pytest.fixture
def run(aws_env: str, tmp_path: Path) -> dict:
    """A bucket holding a finished job run: interactions/ (2 part files + _SUCCESS) and its report."""
    bucket = f"sp-{uuid.uuid4().hex[:8]}"
    s3 = boto3.client("s3", endpoint_url=aws_env)
    s3.create_bucket(Bucket=bucket)
    config = make_config(bucket, endpoint_url=aws_env, user_traits="", manage_personalize_role=False)
    put_run(s3, config, rows=1000)
    return {"s3": s3, "config": config, "bucket": bucket, "tmp": tmp_path}


def put_run(
    s3,
    config: DeployConfig,
    rows: int,
    users: bool = False,
    items: bool = False,
    sections: dict | None = None,
) -> dict:
    bucket = config.bucket
    report = {
        "job": {"output_path": config.output_path, "job_name": "j"},
        "output_rows": rows,
        "input_lines": rows,
        **(sections or {}),
    }
    for key, body in {
        "transformed/interactions/part-00000.csv": b"USER_ID,ITEM_ID,EVENT_TYPE,TIMESTAMP\n"
        + b"u,i,e,1\n" * 10,
        "transformed/interactions/part-00001.csv": b"USER_ID,ITEM_ID,EVENT_TYPE,TIMESTAMP\n",
        "transformed/interactions/_SUCCESS": b"",
        "transformed/interactions.report.json": json.dumps(report).encode(),
        **({"transformed/users/part-00000.csv": b"USER_ID,plan\nu,pro\n"} if users else {}),
        **({"transformed/items/part-00000.csv": b"ITEM_ID,brand\ni,acme\n"} if items else {}),
    }.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    return report


def digest_of(s3, config: DeployConfig) -> str:
    body = s3.get_object(Bucket=config.bucket, Key="transformed/interactions.report.json")["Body"].read()
    return run_digest(json.loads(body))


def lookup_stubs(p: PersonalizeStub, kinds: dict[str, str]) -> None:
    p.list_dataset_groups([GROUP])
    p.list_datasets(GROUP, kinds)


def interactions_size() -> int:
    return len(b"USER_ID,ITEM_ID,EVENT_TYPE,TIMESTAMP\n") * 2 + len(b"u,i,e,1\n") * 10


def do_import(
    run: dict, config: DeployConfig, stubs, mode: str = "FULL", **kwargs
) -> tuple[list[str], list[float]]:
    personalize = offline("personalize")
    lines: list[str] = []
    sleeps: list[float] = []
    plan = personalize_plan(config)
    with Stubber(personalize) as stubber:
        stubs(PersonalizeStub(stubber))
        try:
            personalize_import.run_import(
                personalize,
                run["s3"],
                config,
                plan,
                mode=mode,
                progress=lines.append,
                sleep=sleeps.append,
                poll_seconds=7,
                **kwargs,
            )
        finally:
            try:  # every stubbed call was made
                stubber.assert_no_pending_responses()
                lines.append("pending=0")
            except AssertionError:
                lines.append("pending>0")
    return lines, sleeps


def test_a_full_import_is_followed_to_active(run) -> None:
    config = run["config"]
    name = job_name(GROUP, "INTERACTIONS", digest_of(run["s3"], config))
    folder = f"s3://{run['bucket']}/transformed/interactions/"

    def stubs(p: PersonalizeStub) -> None:
        lookup_stubs(p, {"INTERACTIONS": f"{GROUP}-interactions"})
        p.list_import_jobs(GROUP, "INTERACTIONS", [])
        p.create_import_job(GROUP, "INTERACTIONS", name, folder, ROLE, "FULL")
        for status in ("CREATE PENDING", "CREATE IN_PROGRESS", "CREATE IN_PROGRESS", "ACTIVE"):
            p.describe_import_job(name, status)

    lines, sleeps = do_import(run, config, stubs)
    assert lines == [
        f"interactions {name}: started (FULL, 2 files, {interactions_size()} bytes)",
        f"interactions {name}: CREATE PENDING",
        f"interactions {name}: CREATE IN_PROGRESS",
        f"interactions {name}: ACTIVE",
        "pending=0",
    ]
    assert sleeps == [7, 7, 7]
    assert name.startswith("sp-interactions-") and len(name) == len("sp-interactions-") + 16


def test_importing_the_same_run_twice_says_already_imported(run) -> None:
    config = run["config"]
    name = job_name(GROUP, "INTERACTIONS", digest_of(run["s3"], config))

    def stubs(p: PersonalizeStub) -> None:
        lookup_stubs(p, {"INTERACTIONS": f"{GROUP}-interactions"})
        p.list_import_jobs(
            GROUP, "INTERACTIONS", [{"jobName": name, "status": "ACTIVE", "importMode": "FULL"}]
        )

    lines, _ = do_import(run, config, stubs)
    assert lines == [f"interactions: already imported (job {name})", "pending=0"]


def test_a_failed_import_gives_personalizes_reason_and_exit_1(
    run, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = run["config"]
    name = job_name(GROUP, "INTERACTIONS", digest_of(run["s3"], config))
    folder = f"s3://{run['bucket']}/transformed/interactions/"
    personalize = offline("personalize")
    monkeypatch.setattr(personalize_import, "clients_for", lambda config: (personalize, run["s3"]))
    toml = write_config(run["tmp"] / "deploy.toml", config)
    reason = "Input CSV is missing the following columns: [EVENT_TYPE]"
    with Stubber(personalize) as stubber:
        p = PersonalizeStub(stubber)
        lookup_stubs(p, {"INTERACTIONS": f"{GROUP}-interactions"})
        p.list_import_jobs(GROUP, "INTERACTIONS", [])
        p.create_import_job(GROUP, "INTERACTIONS", name, folder, ROLE, "FULL")
        p.describe_import_job(name, "CREATE IN_PROGRESS")
        p.describe_import_job(name, "CREATE FAILED", reason=reason)
        code = personalize_import.main(["--config", str(toml), "--poll-seconds", "0"])
        stubber.assert_no_pending_responses()
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out.splitlines()[1:] == [
        f"interactions {name}: CREATE IN_PROGRESS",
        f"interactions {name}: CREATE FAILED",
    ]
    assert captured.err == f"error: interactions import {name} CREATE FAILED: {reason}\n"


def test_a_run_below_1000_records_is_refused_before_any_job(
    run, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = run["config"]
    put_run(run["s3"], config, rows=999)
    personalize = offline("personalize")
    monkeypatch.setattr(personalize_import, "clients_for", lambda config: (personalize, run["s3"]))
    with Stubber(personalize) as stubber:
        p = PersonalizeStub(stubber)
        lookup_stubs(p, {"INTERACTIONS": f"{GROUP}-interactions"})
        p.list_import_jobs(GROUP, "INTERACTIONS", [])
        code = personalize_import.main(["--config", str(write_config(run["tmp"] / "d.toml", config))])
        stubber.assert_no_pending_responses()  # and no create_dataset_import_job: it was not stubbed
    captured = capsys.readouterr()
    assert (code, captured.out) == (2, "")
    assert captured.err == (
        "error: interactions: this run has 999 records; Personalize needs at least 1000 per import job: "
        "not importing\n"
    )


def prior_full(name: str = "sp-interactions-0000000000000000") -> list[dict]:
    return [{"jobName": name, "status": "ACTIVE", "importMode": "FULL"}]


def test_an_incremental_import_over_the_size_limit_is_refused(run) -> None:
    config = run["config"]

    def stubs(p: PersonalizeStub) -> None:
        lookup_stubs(p, {"INTERACTIONS": f"{GROUP}-interactions"})
        p.list_import_jobs(GROUP, "INTERACTIONS", prior_full())

    size = interactions_size()
    with pytest.raises(personalize_import.Refused) as caught:
        do_import(run, config, stubs, mode="INCREMENTAL", max_incremental_bytes=size - 1)
    assert str(caught.value) == (
        f"interactions: {size} bytes under s3://{run['bucket']}/transformed/interactions/; an INCREMENTAL "
        f"import takes at most {size - 1} bytes: import FULL (--mode FULL) or run the job on less input"
    )


def test_the_default_size_limit_is_1_gb() -> None:
    assert personalize_import.MAX_INCREMENTAL_BYTES == 10**9


def test_an_incremental_import_at_the_limit_with_a_prior_import_starts(run) -> None:
    config = replace(run["config"], import_mode="INCREMENTAL")
    name = job_name(GROUP, "INTERACTIONS", digest_of(run["s3"], config))
    folder = f"s3://{run['bucket']}/transformed/interactions/"

    def stubs(p: PersonalizeStub) -> None:
        lookup_stubs(p, {"INTERACTIONS": f"{GROUP}-interactions"})
        p.list_import_jobs(GROUP, "INTERACTIONS", prior_full())
        p.create_import_job(GROUP, "INTERACTIONS", name, folder, ROLE, "INCREMENTAL")
        p.describe_import_job(name, "ACTIVE")

    lines, _ = do_import(run, config, stubs, mode="INCREMENTAL", max_incremental_bytes=interactions_size())
    assert lines[-2:] == [f"interactions {name}: ACTIVE", "pending=0"]


def test_incremental_without_a_prior_import_is_refused(run) -> None:
    def stubs(p: PersonalizeStub) -> None:
        lookup_stubs(p, {"INTERACTIONS": f"{GROUP}-interactions"})
        failed = [{"jobName": "sp-interactions-1111111111111111", "status": "CREATE FAILED"}]
        p.list_import_jobs(GROUP, "INTERACTIONS", failed)

    with pytest.raises(
        personalize_import.Refused, match="INCREMENTAL needs a prior import into this dataset"
    ):
        do_import(run, run["config"], stubs, mode="INCREMENTAL")


def test_users_are_imported_beside_the_interactions(run) -> None:
    config = replace(run["config"], user_traits="plan")
    put_run(run["s3"], config, rows=5000, users=True)
    digest = digest_of(run["s3"], config)
    names = {kind: job_name(GROUP, kind, digest) for kind in ("INTERACTIONS", "USERS")}

    def stubs(p: PersonalizeStub) -> None:
        lookup_stubs(p, {"INTERACTIONS": f"{GROUP}-interactions", "USERS": f"{GROUP}-users"})
        p.list_import_jobs(GROUP, "INTERACTIONS", [])
        p.list_import_jobs(GROUP, "USERS", [])
        for kind, name in names.items():
            folder = f"s3://{run['bucket']}/transformed/{kind.lower()}/"
            p.create_import_job(GROUP, kind, name, folder, ROLE, "FULL")
        for name in names.values():
            p.describe_import_job(name, "ACTIVE")

    lines, _ = do_import(run, config, stubs)
    assert lines[-3:] == [
        f"interactions {names['INTERACTIONS']}: ACTIVE",
        f"users {names['USERS']}: ACTIVE",
        "pending=0",
    ]


def test_a_configured_dataset_without_data_is_skipped(run) -> None:
    config = replace(run["config"], item_properties="brand")
    name = job_name(GROUP, "INTERACTIONS", digest_of(run["s3"], config))

    def stubs(p: PersonalizeStub) -> None:
        lookup_stubs(p, {"INTERACTIONS": f"{GROUP}-interactions", "ITEMS": f"{GROUP}-items"})
        p.list_import_jobs(GROUP, "INTERACTIONS", [{"jobName": name, "status": "ACTIVE"}])

    lines, _ = do_import(run, config, stubs)
    assert lines == [
        f"items: no data files under s3://{run['bucket']}/transformed/items/, skipped",
        f"interactions: already imported (job {name})",
        "pending=0",
    ]


def test_no_report_and_no_dataset_group_are_one_line(run) -> None:
    run["s3"].delete_object(Bucket=run["bucket"], Key="transformed/interactions.report.json")
    with pytest.raises(personalize_import.Refused) as caught:
        do_import(run, run["config"], lambda p: None)
    location = f"s3://{run['bucket']}/transformed/interactions.report.json"
    assert str(caught.value) == f"no run report at {location}: run the job first (make glue-run)"
    put_run(run["s3"], run["config"], rows=1000)
    with pytest.raises(
        personalize_import.Refused, match="no dataset group sp in us-east-1: run make deploy first"
    ):
        do_import(run, run["config"], lambda p: p.list_dataset_groups([]))


def test_an_earlier_failed_import_of_this_run_needs_another_attempt(run) -> None:
    config = run["config"]
    name = job_name(GROUP, "INTERACTIONS", digest_of(run["s3"], config))

    def stubs(p: PersonalizeStub) -> None:
        lookup_stubs(p, {"INTERACTIONS": f"{GROUP}-interactions"})
        p.list_import_jobs(
            GROUP, "INTERACTIONS", [{"jobName": name, "status": "CREATE FAILED", "failureReason": "x"}]
        )

    with pytest.raises(personalize_import.ImportFailed, match=r"ended CREATE FAILED: x .*--attempt 2"):
        do_import(run, config, stubs)
    assert job_name(GROUP, "INTERACTIONS", "f" * 64, attempt=2) == f"sp-interactions-{'f' * 16}-a2"
    assert len(job_name("g" * 40, "INTERACTIONS", "f" * 64, attempt=2)) == 63


def write_config(path: Path, config: DeployConfig) -> Path:
    lines = ["[aws]"] + [f"{key} = {json.dumps(value)}" for key, value in asdict(config).items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_the_digest_names_the_run() -> None:
    assert run_digest({"a": 1, "b": [1, 2]}) == run_digest({"b": [1, 2], "a": 1})
    assert run_digest({"a": 1}) != run_digest({"a": 2})
    assert arn("dataset", "x").startswith("arn:aws:personalize:")


def test_config_problems_are_one_line_and_exit_2(run, capsys: pytest.CaptureFixture[str]) -> None:
    no_group = replace(run["config"], dataset_group_name="", tracking_id="t-1")
    assert personalize_import.main(["--config", str(write_config(run["tmp"] / "a.toml", no_group))]) == 2
    assert capsys.readouterr().err == (
        "error: dataset_group_name is empty: deploy manages no Personalize dataset group\n"
    )
    toml = str(write_config(run["tmp"] / "b.toml", run["config"]))
    assert personalize_import.main(["--config", toml, "--attempt", "0"]) == 2
    assert capsys.readouterr().err == "error: --attempt and --max-polls must be at least 1\n"


def test_users_and_items_are_imported_and_a_failed_one_is_exit_1(
    run, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # One user and one item: the 1000-record minimum is the interactions' only.
    config = replace(run["config"], user_traits="plan", item_properties="brand")
    put_run(run["s3"], config, rows=1000, users=True, items=True)
    digest = digest_of(run["s3"], config)
    names = {kind: job_name(GROUP, kind, digest) for kind in ("INTERACTIONS", "USERS", "ITEMS")}
    personalize = offline("personalize")
    monkeypatch.setattr(personalize_import, "clients_for", lambda config: (personalize, run["s3"]))
    reason = "Column plan has more than 1000 characters in 1 record(s)"
    with Stubber(personalize) as stubber:
        p = PersonalizeStub(stubber)
        lookup_stubs(p, {kind: f"{GROUP}-{kind.lower()}" for kind in names})
        for kind in names:
            p.list_import_jobs(GROUP, kind, [])
        for kind, name in names.items():
            folder = f"s3://{run['bucket']}/transformed/{kind.lower()}/"
            p.create_import_job(GROUP, kind, name, folder, ROLE, "FULL")
        p.describe_import_job(names["INTERACTIONS"], "ACTIVE")
        p.describe_import_job(names["USERS"], "CREATE IN_PROGRESS")
        p.describe_import_job(names["USERS"], "CREATE FAILED", reason=reason)
        p.describe_import_job(names["ITEMS"], "ACTIVE")
        toml = write_config(run["tmp"] / "m.toml", config)
        code = personalize_import.main(["--config", str(toml), "--poll-seconds", "0"])
        stubber.assert_no_pending_responses()
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out.splitlines() == [
        f"interactions {names['INTERACTIONS']}: started (FULL, 2 files, {interactions_size()} bytes)",
        f"users {names['USERS']}: started (FULL, 1 files, {len(b'USER_ID,plan' + b'u,pro') + 2} bytes)",
        f"items {names['ITEMS']}: started (FULL, 1 files, {len(b'ITEM_ID,brand' + b'i,acme') + 2} bytes)",
        f"interactions {names['INTERACTIONS']}: ACTIVE",
        f"users {names['USERS']}: CREATE IN_PROGRESS",
        f"users {names['USERS']}: CREATE FAILED",
        f"items {names['ITEMS']}: ACTIVE",
    ]
    assert captured.err == f"error: users import {names['USERS']} CREATE FAILED: {reason}\n"


def test_a_dataset_the_report_says_is_empty_is_skipped(run) -> None:
    config = replace(run["config"], user_traits="plan")
    # The job's section for a run whose identify calls had no configured trait: a header-only file.
    put_run(run["s3"], config, rows=1000, users=True, sections={"users": {"rows": 0, "columns_filled": {}}})
    name = job_name(GROUP, "INTERACTIONS", digest_of(run["s3"], config))

    def stubs(p: PersonalizeStub) -> None:
        lookup_stubs(p, {"INTERACTIONS": f"{GROUP}-interactions", "USERS": f"{GROUP}-users"})
        p.list_import_jobs(GROUP, "INTERACTIONS", [{"jobName": name, "status": "ACTIVE"}])

    lines, _ = do_import(run, config, stubs)
    assert lines == [
        "users: the run report says this run wrote no users, skipped",
        f"interactions: already imported (job {name})",
        "pending=0",
    ]
