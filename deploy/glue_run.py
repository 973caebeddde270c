"""python -m deploy.glue_run: start a Glue job run and follow it to the end.

Prints each state change and where the run report is; exits 0 on SUCCEEDED, 1 otherwise, and 2
before starting anything when the config is wrong, the deployed job is on another Glue version than
glue_version, or the job's own parser refuses the --arg overrides.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from deploy.config import DEFAULT_PATH, ConfigError, load_job_target
from deploy.validate import job_refusal

TERMINAL = {"SUCCEEDED", "FAILED", "ERROR", "TIMEOUT", "STOPPED", "EXPIRED"}


def report_location(arguments: dict[str, str]) -> str | None:
    """Where the job writes its run report: --RUN_REPORT_PATH, else <output folder>.report.json."""
    if arguments.get("--RUN_REPORT_PATH"):
        return arguments["--RUN_REPORT_PATH"]
    output = arguments.get("--S3_CSV_OUTPUT_PATH")
    return output.rstrip("/") + ".report.json" if output else None


def parse_overrides(pairs: list[str]) -> dict[str, str]:
    """KEY=VALUE (or --KEY=VALUE) -> {"--KEY": VALUE}, the form Glue's Arguments take."""
    overrides = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip("-"):
            raise ValueError(f"--arg takes KEY=VALUE, got {pair!r}")
        overrides["--" + key.lstrip("-")] = value
    return overrides


def follow(
    glue: Any,
    job_name: str,
    run_id: str,
    progress: Callable[[str], None] = print,
    poll_seconds: float = 15.0,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    state = None
    while True:
        run = glue.get_job_run(JobName=job_name, RunId=run_id)["JobRun"]
        if run["JobRunState"] != state:
            state = run["JobRunState"]
            progress(f"{job_name} {run_id}: {state}")
        if state in TERMINAL:
            return run
        sleep(poll_seconds)


def check_job(name: str, job: dict[str, Any], glue_version: str, overrides: dict[str, str]) -> str | None:
    """Why this run should not start, or None: checked before a run is paid for."""
    deployed = job.get("GlueVersion")
    if deployed and deployed != glue_version:
        return (
            f"job {name!r} is deployed on Glue {deployed}, but glue_version is {glue_version}: "
            f"run make deploy GLUE_VERSION={glue_version} first, or make glue-run GLUE_VERSION={deployed}"
        )
    if overrides and (refusal := job_refusal(name, {**job.get("DefaultArguments", {}), **overrides})):
        given = " ".join(f"--arg {key.lstrip('-')}={value}" for key, value in overrides.items())
        return f"{given}: the job would refuse it: {refusal}"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.glue_run", description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=DEFAULT_PATH)
    parser.add_argument(
        "--arg",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a job argument for this run, e.g. --arg SINGLE_FILE=true (repeatable)",
    )
    parser.add_argument("--poll-seconds", type=float, default=15.0)
    args = parser.parse_args(argv)
    try:
        config = load_job_target(args.config)
        overrides = parse_overrides(args.arg)
    except ConfigError as error:
        for problem in error.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    glue = boto3.client("glue", region_name=config.region, endpoint_url=config.endpoint_url or None)
    try:
        try:
            job = glue.get_job(JobName=config.job_name)["Job"]
        except glue.exceptions.EntityNotFoundException:
            print(
                f"error: no Glue job {config.job_name!r} in {config.region}: run make deploy first",
                file=sys.stderr,
            )
            return 1
        if problem := check_job(config.job_name, job, config.glue_version, overrides):
            print(f"error: {problem}", file=sys.stderr)
            return 2
        defaults = job.get("DefaultArguments", {})
        run_id = glue.start_job_run(JobName=config.job_name, Arguments=overrides)["JobRunId"]
        run = follow(glue, config.job_name, run_id, poll_seconds=args.poll_seconds)
    except ClientError as error:
        print(f"error: AWS refused the call: {error}", file=sys.stderr)
        return 1
    except BotoCoreError as error:  # no credentials, no network
        print(f"error: {error}", file=sys.stderr)
        return 1
    location = report_location({**defaults, **overrides})
    if run["JobRunState"] != "SUCCEEDED":
        print(
            f"error: run {run_id} {run['JobRunState']}: {run.get('ErrorMessage', 'no message')}",
            file=sys.stderr,
        )
        return 1
    print(f"run report: {location}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
