"""python -m athena_queries: list, run locally (DuckDB), register on Athena, or run on Athena.

python -m athena_queries list
python -m athena_queries local personalize_readiness --output build/output/interactions [--format csv]
python -m athena_queries local item_metadata_coverage --output build/output/interactions \\
    [--items build/output/items] [--item-properties "category,price:float"]
python -m athena_queries register [--database segmentdata] [--table interactions] [--workgroup primary] \\
    [--event-value] [--user-traits SPEC] [--item-properties SPEC]
python -m athena_queries run top_items [--output-location s3://bucket/athena-results/]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from athena_queries.output import FORMATS, render
from athena_queries.saved import QueryError, Skipped, choose_category, load_queries
from crawler.definition import SpecError, interactions_columns, metadata_columns


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m athena_queries", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="the saved queries and what they answer")
    for name, help_text in (
        ("local", "run a saved query on local output with DuckDB"),
        ("run", "run on Athena"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("query", help="saved query name (see list)")
        command.add_argument("--format", choices=FORMATS, default="table")
    register = commands.add_parser(
        "register", help="create or update the saved queries as Athena named queries"
    )
    for command in (commands.choices["local"], commands.choices["run"], register):
        command.add_argument("--database", default="segmentdata")
        command.add_argument("--table", default="interactions")
        command.add_argument("--users-table", default="users", help="the Users table's name")
        command.add_argument("--items-table", default="items", help="the Items table's name")
        command.add_argument(
            "--category-column",
            default="",
            help="the Items column top_categories groups by (default: category, else category_l1)",
        )
    for command in (commands.choices["local"], register):
        command.add_argument(
            "--user-traits",
            default=None,
            help="the job's --USER_TRAITS: the Users columns and types (register: there is a Users table)",
        )
        command.add_argument(
            "--item-properties",
            default=None,
            help="the job's --ITEM_PROPERTIES: the Items columns and types (register: an Items table)",
        )
    for command in (commands.choices["run"], register):
        command.add_argument("--workgroup", default="primary")
        command.add_argument("--endpoint-url", default=None, help="AWS endpoint (e.g. a local moto server)")
    register.add_argument(
        "--event-value",
        action="store_true",
        help="the table has EVENT_VALUE (the job runs with --EVENT_VALUE_FIELD): register event_values too",
    )
    local = commands.choices["local"]
    local.add_argument("--output", type=Path, default=Path("build/output/interactions"))
    local.add_argument(
        "--users", type=Path, default=None, help="Users folder (default: users/ beside --output)"
    )
    local.add_argument(
        "--items", type=Path, default=None, help="Items folder (default: items/ beside --output)"
    )
    local.add_argument("--heading", default=None, help="a line to print before the result")
    local.add_argument(
        "--quiet-skip",
        action="store_true",
        help="print nothing when the output lacks a column the query needs (for make run's follow-ups)",
    )
    commands.choices["run"].add_argument("--output-location", default=None, help="s3:// folder for results")
    return parser.parse_args(argv)


def metadata_tables(args: argparse.Namespace) -> tuple[dict[str, str], str | None]:
    """register's metadata tables ({"users": name, ...}) and Items category column, from the job's specs."""
    tables: dict[str, str] = {}
    category = None
    try:
        if args.user_traits:
            metadata_columns("USERS", args.user_traits)
            tables["users"] = args.users_table
        if args.item_properties:
            items = metadata_columns("ITEMS", args.item_properties)
            tables["items"] = args.items_table
            category = choose_category([c.catalog_name for c in items], args.category_column)
    except SpecError as error:
        raise QueryError(str(error)) from None
    return tables, category


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if args.command == "list":
            for query in load_queries().values():
                needs = f" (needs {query.needs()})" if query.needs() else ""
                print(f"{query.name:<30} {query.description}{needs}")
            return 0
        if args.command == "local":
            from athena_queries.local import run_local

            try:
                columns, rows = run_local(
                    args.query,
                    args.output,
                    database=args.database,
                    table=args.table,
                    users_dir=args.users,
                    items_dir=args.items,
                    users_table=args.users_table,
                    items_table=args.items_table,
                    user_traits=args.user_traits,
                    item_properties=args.item_properties,
                    category=args.category_column,
                )
            except Skipped as skipped:
                # Not a failure: this output simply has nothing for the query to look at.
                if not args.quiet_skip:
                    print(f"skipped: {skipped}", file=sys.stderr)
                return 0
            if args.heading:
                print(args.heading)
            print(render(columns, rows, args.format))
            return 0

        import boto3
        from botocore.exceptions import BotoCoreError, ClientError

        from athena_queries.named import (
            AthenaError,
            named_query_name,
            register_named_queries,
            run_saved_query,
        )

        athena = boto3.client("athena", endpoint_url=args.endpoint_url)
        try:
            if args.command == "register":
                columns = [c.catalog_name for c in interactions_columns(args.event_value)]
                tables, category = metadata_tables(args)
                actions = register_named_queries(
                    athena,
                    database=args.database,
                    table=args.table,
                    workgroup=args.workgroup,
                    columns=columns,
                    tables=tables,
                    category=category,
                )
                for name, action in actions.items():
                    print(f"named query {name}: {action}")
                for query in load_queries().values():
                    missing = [
                        *query.missing(columns),
                        *(f"the {t} table" for t in query.missing_tables(tables)),
                    ]
                    if not missing and query.uses_category and category is None:
                        missing = [f"a category column in {args.items_table}"]
                    if missing:
                        needs = ", ".join(missing)
                        print(f"named query {named_query_name(query)}: not registered (needs {needs})")
                stale = [name for name, action in actions.items() if action.startswith("stale")]
                if stale:
                    print(
                        f"error: {len(stale)} named queries keep their old text: {', '.join(stale)}",
                        file=sys.stderr,
                    )
                    return 1
                return 0
            run_saved_query(
                athena,
                args.query,
                database=args.database,
                table=args.table,
                users_table=args.users_table,
                items_table=args.items_table,
                category=args.category_column or "category",
                workgroup=args.workgroup,
                output_location=args.output_location,
                fmt=args.format,
            )
            return 0
        except AthenaError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        except (ClientError, BotoCoreError) as error:
            print(f"error: AWS refused the call: {str(error).splitlines()[0]}", file=sys.stderr)
            return 1
    except QueryError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
