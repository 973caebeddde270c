"""Seed a local S3 (moto server) with sample Segment data, for the Glue image's s3a:// run.

python -m deploy.local_s3 --endpoint-url http://s3:5000 --bucket segment-local --events 20000
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import EndpointConnectionError
from segment_personalize.sample_data import write_segment_logs


def upload_folder(s3, folder: Path, bucket: str, prefix: str) -> int:
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    for path in files:
        s3.upload_file(str(path), bucket, f"{prefix}/{path.relative_to(folder).as_posix()}")
    return len(files)


def wait_until_up(
    s3: Any, timeout_seconds: float = 300.0, sleep: Callable[[float], None] = time.sleep
) -> None:
    """The local S3 pip-installs moto when its container starts: wait for it rather than fail."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        try:
            s3.list_buckets()
            return
        except EndpointConnectionError:
            if time.monotonic() > deadline:
                raise
            sleep(2.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint-url", required=True)
    parser.add_argument("--bucket", default="segment-local")
    parser.add_argument("--prefix", default="segment-logs")
    parser.add_argument("--events", type=int, default=20000)
    args = parser.parse_args(argv)
    s3 = boto3.client("s3", endpoint_url=args.endpoint_url, region_name="us-east-1")
    try:
        wait_until_up(s3)
    except EndpointConnectionError:
        print(f"error: no S3 answers at {args.endpoint_url}", file=sys.stderr)
        return 2
    s3.create_bucket(Bucket=args.bucket)
    with tempfile.TemporaryDirectory() as tmp:
        write_segment_logs(Path(tmp), args.events)
        count = upload_folder(s3, Path(tmp), args.bucket, args.prefix)
    print(f"seeded s3://{args.bucket}/{args.prefix}/ with {count} files ({args.events} Segment calls)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
