"""Streaming benchmark: the Lambda handler against the workshop's one-call-per-record loop, in one run.

    PYTHONPATH=lambdas python bench/bench_stream.py --records 10000 --latency-ms 20

Both send the same Kinesis records (generated sample Segment calls) to a recording PutEvents endpoint
on loopback that answers every call after a fixed latency, through real boto3 clients:
  * handler  -- personalize_stream.handler.process, invoked per --batch-size records as the event
                source mapping would (sessions batched <= 10 events per call, sent by a bounded pool);
  * workshop -- a port of the workshop's lambda_function.py loop: one put_events per qualifying record,
                in sequence (today's itemId field; records its json.loads rejects are skipped, where the
                original raised and blocked the shard).
The handler runs --repeat times (best kept, as in bench_batch.py; this machine's speed drifts); the
workshop port, latency-bound and ~100x slower, runs once. Prints calls, events and wall time for each,
the minimum possible number of calls (sum over sessions of ceil(events / 10), per invocation batch) and
the wall-time ratio (goal: >= 50x lower).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import math
import multiprocessing
import os
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from multiprocessing.connection import Connection

from personalize_stream.handler import process
from personalize_stream.settings import StreamSettings
from segment_personalize.rules import MappedEvent, MappingConfig, dedupe, map_line
from segment_personalize.sample_data import generate_lines

from stream_local.kinesis import lambda_record, partition_key
from stream_local.sink import RecordingSink, client_for

TRACKING_ID = "bench-tracking-id"
WORKSHOP_EVENTS = ["Product Added", "Order Completed", "Product Clicked"]


def _serve(latency: float, conn: Connection) -> None:
    with RecordingSink(latency=latency) as sink:
        conn.send(sink.url)
        conn.recv()  # until the benchmark is done
        conn.send(len(sink.requests))


@contextlib.contextmanager
def sink_process(latency: float) -> Iterator[str]:
    """The endpoint runs in its own process, as a remote service would: it must not share our GIL."""
    parent, child = multiprocessing.Pipe()
    process_ = multiprocessing.get_context("spawn").Process(target=_serve, args=(latency, child), daemon=True)
    process_.start()
    child.close()  # so that a child dying at start-up is an EOFError here, not a hang
    try:
        yield parent.recv()
    finally:
        parent.send("stop")
        parent.recv()
        process_.join(timeout=10)


def minimum_calls(batch_lines: list[str]) -> int:
    """Independent of the handler's planner: one session's events need ceil(n / 10) calls."""
    mapped = [
        e for e in (map_line(line, MappingConfig()) for line in batch_lines) if isinstance(e, MappedEvent)
    ]
    per_session = Counter()
    for event in dedupe(mapped)[0]:
        per_session[(event.user_id, event.anonymous_id or event.user_id)] += len(event.item_ids)
    return sum(math.ceil(n / 10) for n in per_session.values())


def run_handler(records: list[dict], lines: list[str], url: str, batch_size: int, concurrency: int) -> dict:
    settings = StreamSettings(tracking_id=TRACKING_ID, max_concurrency=concurrency)
    personalize = client_for(url, pool=concurrency)
    calls = events = floor = 0
    started = time.perf_counter()
    for start in range(0, len(records), batch_size):
        # The handler's JSON logs go where CloudWatch would take them: written, not shown.
        with open(os.devnull, "w") as logs, contextlib.redirect_stdout(logs):
            response, summary = process(records[start : start + batch_size], settings, personalize)
        assert response == {"batchItemFailures": []}, response
        calls += summary["calls"]
        events += summary["sent_events"]
    seconds = time.perf_counter() - started
    for start in range(0, len(lines), batch_size):
        floor += minimum_calls(lines[start : start + batch_size])
    return {"calls": calls, "events": events, "seconds": seconds, "minimum_calls": floor}


def run_workshop(records: list[dict], url: str) -> dict:
    personalize = client_for(url, pool=1)
    calls = 0
    started = time.perf_counter()
    for record in records:
        try:
            segment_event = json.loads(base64.b64decode(record["kinesis"]["data"]).decode("utf-8"))
        except ValueError:
            continue
        if (
            "anonymousId" in segment_event
            and "userId" in segment_event
            and "properties" in segment_event
            and "sku" in segment_event["properties"]
            and "event" in segment_event
            and segment_event["event"] in WORKSHOP_EVENTS
        ):
            try:
                personalize.put_events(
                    trackingId=TRACKING_ID,
                    userId=str(segment_event["userId"]),
                    sessionId=segment_event["anonymousId"],
                    eventList=[
                        {
                            "eventId": segment_event["messageId"],
                            "sentAt": int(datetime.fromisoformat(segment_event["timestamp"]).timestamp()),
                            "eventType": segment_event["event"],
                            "itemId": str(segment_event["properties"]["sku"]),
                        }
                    ],
                )
                calls += 1
            except Exception:  # the original had no handling at all; here the record is just passed over
                pass
    return {"calls": calls, "events": calls, "seconds": time.perf_counter() - started}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=float, default=20.0, help="the stub endpoint's per-call latency")
    parser.add_argument("--batch-size", type=int, default=10_000, help="event source mapping BatchSize")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=StreamSettings.max_concurrency,
        help="the handler's MAX_CONCURRENCY (default: the handler's own default)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="handler runs; the best is reported")
    parser.add_argument("--skip-workshop", action="store_true")
    args = parser.parse_args(argv)

    lines = [line for line, _ in zip(generate_lines(args.records), range(args.records), strict=False)]
    records = [lambda_record(line.encode(), f"{n:056d}", partition_key(line)) for n, line in enumerate(lines)]
    with sink_process(args.latency_ms / 1000) as url:
        runs = [
            run_handler(records, lines, url, args.batch_size, args.concurrency) for _ in range(args.repeat)
        ]
        print("handler runs (s): " + ", ".join(f"{run['seconds']:.2f}" for run in runs), file=sys.stderr)
        handler = min(runs, key=lambda run: run["seconds"])
        workshop = None if args.skip_workshop else run_workshop(records, url)

    print(
        f"\n{len(records):,} Kinesis records, {args.latency_ms:g} ms per PutEvents call, "
        f"batch size {args.batch_size}, handler concurrency {args.concurrency}, "
        f"handler best of {args.repeat}, workshop port once"
    )
    print("| contender | PutEvents calls | events sent | wall time (s) |\n|---|---:|---:|---:|")
    print(f"| handler | {handler['calls']:,} | {handler['events']:,} | {handler['seconds']:.2f} |")
    if workshop:
        print(
            f"| workshop port | {workshop['calls']:,} | {workshop['events']:,} | {workshop['seconds']:.2f} |"
        )
    print(f"\nminimum calls (sum over sessions of ceil(events/10)): {handler['minimum_calls']:,}")
    print(f"handler calls / minimum = {handler['calls'] / max(handler['minimum_calls'], 1):.2f} (goal 1.00)")
    if workshop:
        print(f"workshop wall / handler wall = {workshop['seconds'] / handler['seconds']:.1f}x (goal >= 50x)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
