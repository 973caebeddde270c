"""`make stream-local`: the streaming path end to end on this machine, with no AWS.

moto server (loopback) plays Kinesis, the sample generator plays Segment's Kinesis destination, this
module plays the event source mapping (poll each shard, invoke the handler with batches, retry from the
lowest failed record), and a recording sink plays Personalize. It prints what would have been sent.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from moto.server import ThreadedMotoServer
from segment_personalize.sample_data import generate_lines

from stream_local.kinesis import lambda_record, partition_key
from stream_local.sink import RecordingSink

STREAM = "segment-events"
PUT_RECORDS_LIMIT = 500
TRACKING_ID = "local-tracking-id"
LOCAL_USERS_DATASET = "arn:aws:personalize:us-east-1:000000000000:dataset/stream-local/USERS"


@dataclass
class Totals:
    invocations: int = 0
    retried_batches: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)


@contextlib.contextmanager
def moto_kinesis() -> Iterator[Any]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request access log
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        kinesis = boto3.client("kinesis", endpoint_url=f"http://{host}:{port}", region_name="us-east-1")
        try:
            yield kinesis
        finally:
            # moto keeps its state per process: a second run in one process (tests) starts afresh.
            with contextlib.suppress(kinesis.exceptions.ResourceNotFoundException):
                kinesis.delete_stream(StreamName=STREAM, EnforceConsumerDeletion=True)
    finally:
        server.stop()


def put_sample(kinesis: Any, lines: list[str], shards: int) -> None:
    kinesis.create_stream(StreamName=STREAM, ShardCount=shards)
    kinesis.get_waiter("stream_exists").wait(StreamName=STREAM)
    for start in range(0, len(lines), PUT_RECORDS_LIMIT):
        chunk = lines[start : start + PUT_RECORDS_LIMIT]
        kinesis.put_records(
            StreamName=STREAM,
            Records=[{"Data": line.encode("utf-8"), "PartitionKey": partition_key(line)} for line in chunk],
        )


def shard_batches(kinesis: Any, shard_id: str, batch_size: int) -> Iterator[list[dict[str, Any]]]:
    iterator = kinesis.get_shard_iterator(
        StreamName=STREAM, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    while iterator:
        page = kinesis.get_records(ShardIterator=iterator, Limit=batch_size)
        if not page["Records"]:
            return
        yield [
            lambda_record(
                r["Data"],
                r["SequenceNumber"],
                r["PartitionKey"],
                shard_id,
                r["ApproximateArrivalTimestamp"].timestamp(),
            )
            for r in page["Records"]
        ]
        iterator = page.get("NextShardIterator")


def invoke_until_done(
    handler: Any, batch: list[dict[str, Any]], retries: int, totals: Totals, log: Any
) -> None:
    """What the event source mapping does with ReportBatchItemFailures: retry from the lowest failure."""
    for attempt in range(retries + 1):
        with contextlib.redirect_stdout(log):
            response = handler({"Records": batch}, None)
        totals.invocations += 1
        failures = [f["itemIdentifier"] for f in response["batchItemFailures"]]
        if not failures:
            return
        totals.retried_batches += 1
        numbers = [r["kinesis"]["sequenceNumber"] for r in batch]
        batch = batch[min(numbers.index(f) for f in failures) :]
        if attempt == retries:
            print(f"warning: {len(batch)} records still failing; an on-failure destination would get them")


def summarize(log_path: Path, totals: Totals) -> None:
    for line in log_path.read_text().splitlines():
        entry = json.loads(line)
        if entry.get("message") == "invocation":
            totals.counts.update({k: v for k, v in entry.items() if isinstance(v, int)})
            totals.skipped.update(entry["skipped"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000, help="sample Segment calls to stream")
    parser.add_argument("--shards", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=100, help="event source mapping BatchSize")
    parser.add_argument("--retries", type=int, default=3, help="event source mapping MaximumRetryAttempts")
    parser.add_argument("--out", type=Path, default=Path("build/stream-local"))
    parser.add_argument(
        "--user-traits",
        default="",
        help="a USER_TRAITS spec (e.g. plan,country,lifetime_value:float): PUT_USERS=true, identify calls' "
        "traits go to PutUsers too",
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    lines = list(generate_lines(args.events))
    totals = Totals()
    # Dummy credentials: nothing here may ever reach a real AWS account.
    os.environ.update(
        {
            "PERSONALIZE_TRACKING_ID": TRACKING_ID,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
    )
    os.environ.pop("AWS_PROFILE", None)
    if args.user_traits:
        os.environ.update(
            {"PUT_USERS": "true", "USER_TRAITS": args.user_traits, "USERS_DATASET_ARN": LOCAL_USERS_DATASET}
        )

    with moto_kinesis() as kinesis, RecordingSink() as sink:
        put_sample(kinesis, lines, args.shards)
        os.environ["AWS_ENDPOINT_URL_PERSONALIZE_EVENTS"] = sink.url
        from personalize_stream.handler import handler  # after the environment is set, as in Lambda

        log_path = args.out / "lambda-log.jsonl"
        with log_path.open("w") as log:
            shards = kinesis.list_shards(StreamName=STREAM)["Shards"]
            for shard in shards:
                for batch in shard_batches(kinesis, shard["ShardId"], args.batch_size):
                    invoke_until_done(handler, batch, args.retries, totals, log)
        sent = sink.accepted
        users_sent = sink.accepted_users

    calls_path = args.out / "put_events.jsonl"
    calls_path.write_text("".join(json.dumps(body) + "\n" for body in sent))
    summarize(log_path, totals)
    c = totals.counts
    print(f"kinesis: {len(lines)} records on {len(shards)} shards, {totals.invocations} handler invocations")
    print(
        f"personalize: {c['calls']} PutEvents calls, {c['sent_events']} events sent, "
        f"{c['rejected_events']} rejected, {c['failed_records']} records reported for retry"
    )
    if args.user_traits:
        users_path = args.out / "put_users.jsonl"
        users_path.write_text("".join(json.dumps(body) + "\n" for body in users_sent))
        print(
            f"users: {c['identify_records']} identify records, {c['put_users_calls']} PutUsers calls, "
            f"{c['sent_users']} users sent, {c['rejected_users']} rejected (all calls: {users_path})"
        )
    skipped = ", ".join(f"{reason} {n}" for reason, n in sorted(totals.skipped.items()))
    print(f"skipped records: {skipped or 'none'}; duplicate messageIds: {c['duplicate_message_id']}")
    print("first calls that would have been sent:")
    for body in sent[:3]:
        print("  " + json.dumps(body))
    print(f"all calls: {calls_path}\nhandler logs: {log_path}")
    return 0 if c["failed_records"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
