"""python -m deploy [--dry-run] [--config deploy/deploy.toml]: deploy the whole pipeline with boto3.

Uploads build/dist/ (make package), then creates or updates the Glue job, database, classifier,
crawler, Athena named queries, the Personalize dataset group (deploy/personalize.py), the Lambda and
its Kinesis event source mapping, each reported as created / updated / unchanged. --dry-run prints
every request instead and calls nothing.

Both first check every value, also through the Glue job's and the Lambda's own parsers
(deploy/validate.py): a problem is one `error:` line naming the key, exit 2, before any call.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from crawler.definition import SpecError
from deploy.config import DEFAULT_PATH, ConfigError, DeployConfig
from deploy.plan import DIST, plan
from deploy.validate import load_deployable


def clients_for(config: DeployConfig):
    import boto3

    from deploy.apply import Clients

    session = boto3.session.Session(region_name=config.region)
    endpoint = config.endpoint_url or None
    return Clients(
        s3=session.client("s3", endpoint_url=endpoint),
        glue=session.client("glue", endpoint_url=endpoint),
        athena=session.client("athena", endpoint_url=endpoint),
        lambda_=session.client("lambda", endpoint_url=endpoint),
        personalize=session.client("personalize", endpoint_url=endpoint),
        iam=session.client("iam", endpoint_url=endpoint),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy", description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=DEFAULT_PATH)
    parser.add_argument("--dist", type=Path, default=DIST)
    parser.add_argument("--dry-run", action="store_true", help="print the plan; call nothing")
    args = parser.parse_args(argv)
    try:
        config = load_deployable(args.config)
        # Building every request first catches values AWS would refuse (e.g. a malformed role ARN)
        # before anything is uploaded or created.
        steps = plan(config)
    except ConfigError as error:
        for problem in error.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    except SpecError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.dry_run:
        for step in steps:
            print(f"{step.resource}: {step.name}")
            print("  " + json.dumps(step.request, indent=2, sort_keys=True).replace("\n", "\n  "))
        print(f"(dry run: nothing was called; region {config.region})")
        return 0

    from botocore.exceptions import BotoCoreError, ClientError

    from crawler.ensure import CatalogError
    from deploy.apply import deploy
    from deploy.personalize import PersonalizeError

    def report(resource: str, name: str, action: str) -> None:
        print(f"{resource:<22} {name}: {action}", flush=True)

    try:
        deploy(clients_for(config), config, args.dist, report)
    except (FileNotFoundError, CatalogError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except PersonalizeError as error:  # a Personalize resource failed, or conflicts with the config
        print(f"error: {error}", file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError) as error:
        print(f"error: AWS refused the call: {error}", file=sys.stderr)
        return 1
    print(f"deployed. Next: make glue-run (job {config.job_name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
