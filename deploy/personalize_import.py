"""python -m deploy.personalize_import: import the last job run into the Personalize datasets.

One dataset import job per dataset folder (interactions; users and items when configured and present),
FULL by default, INCREMENTAL when configured (``import_mode``) or asked (``--mode``) and a prior
import exists. Before starting anything it checks Personalize's quotas against the run report and S3,
so it never starts a job that would fail on them:
- at least 1000 interaction records per import job (the run report's ``output_rows``);
- at most 1 GB of data per INCREMENTAL import job (the data objects under each folder, listed on S3).
https://docs.aws.amazon.com/personalize/latest/dg/limits.html
The minimum is Personalize's for interactions only: a Users or Items import of any size starts. A Users /
Items folder without data files, or whose section in the run report says ``rows: 0``, is skipped.

Jobs are named after the run (a hash of its run report), so importing the same run twice starts
nothing the second time ("already imported"). Each job is followed with a line per state change.
Exit codes: 0 every job ACTIVE (or already imported); 1 a job failed (Personalize's failureReason is
printed) or AWS refused a call; 2 bad configuration, or a refusal on the quotas, before any job starts.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError
from segment_personalize.personalize_schema import INTERACTIONS

from deploy.config import DEFAULT_PATH, ConfigError, DeployConfig, load_config
from deploy.glue_run import report_location
from deploy.personalize import NAME, PersonalizePlan, find_datasets, personalize_plan
from deploy.plan import job_arguments

# "Minimum number of item interaction records per dataset import job in FULL or INCREMENTAL mode".
MIN_IMPORT_RECORDS = 1000
# Personalize's quota is "1 GB" per incremental import job; 10^9 bytes is the smaller reading, so a job
# this lets through is never one Personalize refuses for size.
MAX_INCREMENTAL_BYTES = 1_000_000_000
ACTIVE, FAILED = "ACTIVE", "CREATE FAILED"
IN_PROGRESS = {"CREATE PENDING", "CREATE IN_PROGRESS"}
MAX_NAME = 63
Progress = Callable[[str], None]


class Refused(Exception):
    """Not starting: the configuration or the run would make Personalize refuse the job (exit 2)."""


class ImportFailed(Exception):
    """A job ended in CREATE FAILED, or could not be followed to its end (exit 1)."""


@dataclass(frozen=True)
class DatasetImport:
    kind: str
    folder: str
    dataset_arn: str
    job_name: str
    data_objects: int
    data_bytes: int


def run_digest(report: dict[str, Any]) -> str:
    """The run's identity: its report, canonicalised (the same run always gives the same digest)."""
    return hashlib.sha256(json.dumps(report, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def job_name(group: str, kind: str, digest: str, attempt: int = 1) -> str:
    prefix, suffix = f"{group}-{kind.lower()}-", (f"-a{attempt}" if attempt > 1 else "")
    room = min(16, MAX_NAME - len(prefix) - len(suffix))
    name = f"{prefix}{digest[:room]}{suffix}"
    assert room >= 6 and NAME.fullmatch(name), name  # the group name's limit leaves the room
    return name


def _split(uri: str) -> tuple[str, str]:
    match = re.fullmatch(r"s3://([^/]+)/?(.*)", uri)
    if not match:
        raise Refused(f"{uri} is not an s3:// location")
    return match.group(1), match.group(2)


def read_report(s3: Any, location: str) -> dict[str, Any]:
    bucket, key = _split(location)
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as error:
        if str(error.response.get("Error", {}).get("Code")) in {"NoSuchKey", "404", "NoSuchBucket"}:
            raise Refused(f"no run report at {location}: run the job first (make glue-run)") from None
        raise
    try:
        report = json.loads(body)
        int(report["output_rows"])
        return report
    except (ValueError, KeyError, TypeError):
        raise Refused(f"the run report at {location} is not a job run report") from None


def _reported_rows(report: dict[str, Any], kind: str) -> int | None:
    """A Users / Items section's ``rows`` in the run report (``{"users": {"rows": 120, ...}}``), if any."""
    section = report.get(kind.lower())
    if isinstance(section, dict) and isinstance(section.get("rows"), int):
        return int(section["rows"])
    return None


def data_size(s3: Any, folder: str) -> tuple[int, int]:
    """(objects, bytes) of the data files under a folder: Spark's _SUCCESS and hidden files excluded."""
    bucket, prefix = _split(folder)
    objects = size = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            base = item["Key"].rsplit("/", 1)[-1]
            if base and not base.startswith(("_", ".")):
                objects, size = objects + 1, size + int(item["Size"])
    return objects, size


def _jobs(personalize: Any, dataset_arn: str) -> list[dict[str, Any]]:
    jobs: list[dict[str, Any]] = []
    for page in personalize.get_paginator("list_dataset_import_jobs").paginate(datasetArn=dataset_arn):
        jobs += page.get("datasetImportJobs", [])
    return jobs


def _same_folder(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


def follow(
    personalize: Any,
    job: DatasetImport,
    job_arn: str,
    progress: Progress,
    sleep: Callable[[float], None],
    poll_seconds: float,
    max_polls: int,
) -> dict[str, Any]:
    status = None
    for attempt in range(max_polls):
        described = personalize.describe_dataset_import_job(datasetImportJobArn=job_arn)["datasetImportJob"]
        if described["status"] != status:
            status = described["status"]
            progress(f"{job.kind.lower()} {job.job_name}: {status}")
        if status in (ACTIVE, FAILED):
            return described
        if attempt + 1 < max_polls:
            sleep(poll_seconds)
    raise ImportFailed(
        f"{job.kind.lower()} import {job.job_name} is still {status} after {max_polls} checks: "
        "run make personalize-import again to keep following it"
    )


def run_import(
    personalize: Any,
    s3: Any,
    config: DeployConfig,
    plan: PersonalizePlan,
    *,
    mode: str,
    progress: Progress = print,
    sleep: Callable[[float], None] = time.sleep,
    poll_seconds: float = 30.0,
    max_polls: int = 960,
    attempt: int = 1,
    max_incremental_bytes: int = MAX_INCREMENTAL_BYTES,
) -> None:
    """Import the run; raises Refused before any job starts, ImportFailed when a job fails."""
    location = report_location(job_arguments(config))
    if not location:
        raise Refused("the job writes no run report: set output_path")
    report = read_report(s3, location)
    reported = str(report.get("job", {}).get("output_path", plan.output.folders[INTERACTIONS]))
    if not _same_folder(reported, plan.output.folders[INTERACTIONS]):
        raise Refused(
            f"the run report at {location} describes {reported}, not output_path {config.output_path}"
        )
    datasets = find_datasets(personalize, plan.dataset_group)
    if datasets is None:
        raise Refused(f"no dataset group {plan.dataset_group} in {config.region}: run make deploy first")
    digest = run_digest(report)
    todo: list[DatasetImport] = []
    for kind, folder in plan.output.folders.items():
        if kind not in datasets:
            raise Refused(f"dataset group {plan.dataset_group} has no {kind} dataset: run make deploy first")
        rows = _reported_rows(report, kind)
        if rows == 0 and kind != INTERACTIONS:
            progress(f"{kind.lower()}: the run report says this run wrote no {kind.lower()}, skipped")
            continue
        objects, size = data_size(s3, folder)
        if not objects:
            if kind == INTERACTIONS:
                raise Refused(f"no data files under {folder}: nothing to import")
            progress(f"{kind.lower()}: no data files under {folder}, skipped")
            continue
        name = job_name(plan.dataset_group, kind, digest, attempt)
        todo.append(DatasetImport(kind, folder, datasets[kind], name, objects, size))

    to_start, to_follow = [], []
    for job in todo:
        existing = {j["jobName"]: j for j in _jobs(personalize, job.dataset_arn)}
        mine = existing.pop(job.job_name, None)
        if mine is None:
            check_quotas(job, report, mode, existing.values(), max_incremental_bytes)
            to_start.append(job)
        elif mine["status"] == ACTIVE:
            progress(f"{job.kind.lower()}: already imported (job {job.job_name})")
        elif mine["status"] in IN_PROGRESS:
            to_follow.append((job, mine["datasetImportJobArn"]))
        else:
            raise ImportFailed(
                f"{job.kind.lower()} import {job.job_name} of this run ended {mine['status']}: "
                f"{mine.get('failureReason', 'no reason given')} (fix it, then run again with --attempt "
                f"{attempt + 1})"
            )
    for job in to_start:
        arn = personalize.create_dataset_import_job(
            jobName=job.job_name,
            datasetArn=job.dataset_arn,
            dataSource={"dataLocation": job.folder},
            roleArn=plan.role_arn,
            importMode=mode,
        )["datasetImportJobArn"]
        size = f"{job.data_objects} files, {job.data_bytes} bytes"
        progress(f"{job.kind.lower()} {job.job_name}: started ({mode}, {size})")
        to_follow.append((job, arn))
    failures = []
    for job, arn in to_follow:
        final = follow(personalize, job, arn, progress, sleep, poll_seconds, max_polls)
        if final["status"] != ACTIVE:
            failures.append(
                f"{job.kind.lower()} import {job.job_name} {final['status']}: "
                f"{final.get('failureReason', 'no reason given')}"
            )
    if failures:
        raise ImportFailed("; ".join(failures))


def check_quotas(
    job: DatasetImport, report: dict[str, Any], mode: str, others: Any, max_incremental_bytes: int
) -> None:
    kind = job.kind.lower()
    if job.kind == INTERACTIONS:
        rows = int(report["output_rows"])
        if rows < MIN_IMPORT_RECORDS:
            raise Refused(
                f"{kind}: this run has {rows} records; Personalize needs at least {MIN_IMPORT_RECORDS} "
                "per import job: not importing"
            )
    if mode == "INCREMENTAL":
        if job.data_bytes > max_incremental_bytes:
            raise Refused(
                f"{kind}: {job.data_bytes} bytes under {job.folder}; an INCREMENTAL import takes at most "
                f"{max_incremental_bytes} bytes: import FULL (--mode FULL) or run the job on less input"
            )
        if not any(j.get("status") == ACTIVE for j in others):
            raise Refused(
                f"{kind}: INCREMENTAL needs a prior import into this dataset and none is ACTIVE: "
                "import FULL first (--mode FULL)"
            )


def clients_for(config: DeployConfig) -> tuple[Any, Any]:
    import boto3

    session = boto3.session.Session(region_name=config.region)
    endpoint = config.endpoint_url or None
    return session.client("personalize", endpoint_url=endpoint), session.client("s3", endpoint_url=endpoint)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.personalize_import", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--config", type=Path, default=DEFAULT_PATH)
    parser.add_argument("--mode", choices=("FULL", "INCREMENTAL"), help="default: import_mode in the config")
    parser.add_argument("--attempt", type=int, default=1, help="start a run's imports again after a failure")
    parser.add_argument("--poll-seconds", type=float, default=30.0)
    parser.add_argument(
        "--max-polls", type=int, default=960, help="checks per job before giving up (8 h at 30 s)"
    )
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
        plan = personalize_plan(config)
        if plan is None:
            raise ConfigError("dataset_group_name is empty: deploy manages no Personalize dataset group")
        if args.attempt < 1 or args.max_polls < 1:
            raise ConfigError("--attempt and --max-polls must be at least 1")
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    from botocore.exceptions import BotoCoreError

    personalize, s3 = clients_for(config)
    try:
        run_import(
            personalize,
            s3,
            config,
            plan,
            mode=args.mode or config.import_mode,
            progress=lambda line: print(line, flush=True),
            poll_seconds=args.poll_seconds,
            max_polls=args.max_polls,
            attempt=args.attempt,
        )
    except Refused as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except ImportFailed as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError) as error:
        print(f"error: AWS refused the call: {error}", file=sys.stderr)
        return 1
    print(
        f"imported into dataset group {plan.dataset_group}. Next: train in the console (docs/personalize.md)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
