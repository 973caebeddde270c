"""python -m crawler: create or update the classifiers and crawlers, crawl, and report the tables.

    python -m crawler --s3-target s3://bucket/transformed/interactions/ \\
        --role-arn arn:aws:iam::123456789012:role/segment-personalize-glue [--create-database] \\
        [--event-value] [--user-traits "plan,lifetime_value:float"] [--item-properties "category,price:float"]

--event-value when the job runs with --EVENT_VALUE_FIELD (its CSV then has an EVENT_VALUE column);
--user-traits / --item-properties when it runs with --USER_TRAITS / --ITEM_PROPERTIES: the users/ and
items/ folders beside the interactions folder (or --users-target / --items-target) are cataloged too,
each by its own classifier and crawler.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from crawler.definition import CrawlerSpec, SpecError, dataset_specs, table_ddl
from crawler.ensure import (
    CatalogError,
    crawled_tables,
    ensure_classifier,
    ensure_crawler,
    ensure_database,
    ensure_table,
    require_bucket,
    require_database,
    start_and_wait,
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m crawler", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--s3-target", required=True, help="the job's CSV output folder (s3://…/interactions/)"
    )
    parser.add_argument("--role-arn", required=True, help="IAM role the crawler runs as")
    parser.add_argument("--database", default="segmentdata")
    parser.add_argument("--crawler-name", default="segment-personalize-interactions")
    parser.add_argument("--classifier-name", default="personalize-interactions-csv")
    parser.add_argument("--table-prefix", default="")
    parser.add_argument(
        "--event-value",
        action="store_true",
        help="the job writes EVENT_VALUE (it runs with --EVENT_VALUE_FIELD): catalog it as double",
    )
    parser.add_argument(
        "--user-traits",
        default="",
        help="the job's --USER_TRAITS (e.g. plan,lifetime_value:float): catalog the users/ folder too",
    )
    parser.add_argument(
        "--item-properties",
        default="",
        help="the job's --ITEM_PROPERTIES (e.g. category,price:float): catalog the items/ folder too",
    )
    parser.add_argument("--users-target", default="", help="the job's --USERS_OUTPUT_PATH, if set")
    parser.add_argument("--items-target", default="", help="the job's --ITEMS_OUTPUT_PATH, if set")
    parser.add_argument("--create-database", action="store_true", help="create the database if missing")
    parser.add_argument("--no-start", action="store_true", help="set up only; do not crawl")
    parser.add_argument("--ddl", action="store_true", help="print the equivalent CREATE TABLE and exit")
    parser.add_argument("--poll-seconds", type=float, default=10.0)
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds to wait for the crawl")
    parser.add_argument("--endpoint-url", default=None, help="AWS endpoint (e.g. a local moto server)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        interactions = CrawlerSpec(
            s3_target=args.s3_target,
            role_arn=args.role_arn,
            database=args.database,
            crawler_name=args.crawler_name,
            classifier_name=args.classifier_name,
            table_prefix=args.table_prefix,
            event_value=args.event_value,
        )
        specs = dataset_specs(
            interactions,
            user_traits=args.user_traits,
            item_properties=args.item_properties,
            users_target=args.users_target,
            items_target=args.items_target,
        )
        if args.ddl:
            print("\n\n".join(table_ddl(spec) for spec in specs))
            return 0
        glue = boto3.client("glue", endpoint_url=args.endpoint_url)
        s3 = boto3.client("s3", endpoint_url=args.endpoint_url)
        for bucket in dict.fromkeys(spec.bucket for spec in specs):
            require_bucket(s3, bucket)
        if args.create_database:
            print(f"database {interactions.database}: {ensure_database(glue, interactions.database)}")
        else:
            require_database(glue, interactions.database)  # before creating anything, not halfway through
        for spec in specs:
            print(f"classifier {spec.classifier_name}: {ensure_classifier(glue, spec)}")
            print(f"crawler {spec.crawler_name}: {ensure_crawler(glue, spec)}")
        if args.no_start:
            return 0
        for spec in specs:
            started = datetime.now(UTC)
            last = start_and_wait(
                glue, spec.crawler_name, poll_seconds=args.poll_seconds, timeout=args.timeout
            )
            print(f"crawl {last.get('Status', 'done')}; tables created or updated:")
            for table in crawled_tables(glue, spec, since=started) or [
                "(none: the schema was already up to date)"
            ]:
                print(f"  {table}")
            print(f"table {spec.database}.{spec.table}: {ensure_table(glue, spec)}")
        return 0
    except (SpecError, CatalogError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (ClientError, BotoCoreError) as error:
        print(f"error: AWS refused the call: {str(error).splitlines()[0]}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
