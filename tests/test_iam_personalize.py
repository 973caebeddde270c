"""iam/personalize-*.json: the role Personalize assumes and the bucket policy its data import requires."""

from __future__ import annotations

import json
import re
from pathlib import Path

from deploy.personalize_iam import BUCKET_POLICY, ROLE_POLICY, TRUST_POLICY, render

IAM = Path(__file__).resolve().parent.parent / "iam"
VALUES = {"Account": "123456789012", "Region": "eu-west-1", "Bucket": "data", "OutputPrefix": "transformed/"}


def statements(path: Path) -> list[dict]:
    document = json.loads(path.read_text())
    assert document["Version"] == "2012-10-17"
    return document["Statement"]


def test_the_files_are_the_ones_deploy_fills() -> None:
    assert {TRUST_POLICY, ROLE_POLICY, BUCKET_POLICY} == set(IAM.glob("personalize-*.json"))
    for path in (TRUST_POLICY, ROLE_POLICY, BUCKET_POLICY):
        placeholders = set(re.findall(r"\$\{(\w+)\}", path.read_text()))
        assert placeholders <= set(VALUES), path.name
        assert "${" not in json.dumps(render(path, VALUES))


def test_trust_policy_is_personalize_of_this_account_only() -> None:
    # Personalize's confused-deputy guidance: aws:SourceAccount and aws:SourceArn in the trust policy.
    (statement,) = render(TRUST_POLICY, VALUES)["Statement"]
    assert statement["Principal"] == {"Service": "personalize.amazonaws.com"}
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "123456789012"},
        "ArnLike": {"aws:SourceArn": "arn:aws:personalize:eu-west-1:123456789012:*"},
    }


def test_role_reads_only_the_output_prefix() -> None:
    policy = render(ROLE_POLICY, VALUES)["Statement"]
    by_action = {s["Action"]: s for s in policy}
    assert set(by_action) == {"s3:GetObject", "s3:ListBucket"}
    assert by_action["s3:GetObject"]["Resource"] == "arn:aws:s3:::data/transformed/*"
    listing = by_action["s3:ListBucket"]
    assert listing["Resource"] == "arn:aws:s3:::data"
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["transformed/*"]}}
    assert all(s["Effect"] == "Allow" and "Principal" not in s for s in policy)


def test_bucket_policy_grants_personalize_the_same_reads() -> None:
    policy = render(BUCKET_POLICY, VALUES)["Statement"]
    # Merged into the bucket's policy by Sid: every statement has a distinct, project-prefixed Sid.
    assert len({s["Sid"] for s in policy}) == len(policy)
    assert all(s["Sid"].startswith("SegmentPersonalize") for s in policy)
    assert all(s["Principal"] == {"Service": "personalize.amazonaws.com"} for s in policy)
    grants = {(s["Action"], s["Resource"]) for s in policy}
    assert grants == {
        ("s3:ListBucket", "arn:aws:s3:::data"),
        ("s3:GetObject", "arn:aws:s3:::data/transformed/*"),
    }
    for statement in statements(BUCKET_POLICY):
        assert "*" not in statement["Action"]
