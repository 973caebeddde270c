"""Clients and names for the tests that talk to AWS APIs (moto server over HTTP, or Stubber offline)."""

from __future__ import annotations

import uuid
from typing import Any

import boto3
from botocore.config import Config

ROLE = "arn:aws:iam::123456789012:role/segment-personalize-glue"


def unique(prefix: str, sep: str = "_") -> str:
    """A name no other test uses on the shared moto server ('_' for Glue names, '-' for buckets)."""
    return f"{prefix}{sep}{uuid.uuid4().hex[:8]}"


def client(service: str, endpoint: str, **config: Any) -> Any:
    """A real client on the moto server (credentials come from the aws_env fixture)."""
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", config=Config(**config))


def offline(service: str) -> Any:
    """A client for botocore's Stubber: dummy credentials, and an endpoint nothing listens on."""
    return boto3.client(
        service,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        endpoint_url="http://127.0.0.1:9",
    )
