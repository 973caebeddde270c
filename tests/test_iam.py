"""The IAM policy documents in iam/: valid JSON, least privilege (no wildcard actions, scoped resources)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

IAM = Path(__file__).resolve().parent.parent / "iam"
POLICIES = sorted(IAM.glob("*-role-policy.json"))
PUT_EVENTS_SID = "PutEventsHasNoResourceLevelPermissions"
PUT_USERS_SID = "PutUsersWhenPutUsersIsTrue"


def statements(path: Path) -> list[dict]:
    document = json.loads(path.read_text())
    assert document["Version"] == "2012-10-17"
    return document["Statement"]


def as_list(value) -> list[str]:
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.name)
def test_no_wildcard_actions_and_scoped_resources(path: Path) -> None:
    for statement in statements(path):
        assert statement["Effect"] == "Allow"
        for action in as_list(statement["Action"]):
            assert "*" not in action, f"{path.name} {statement['Sid']}: {action}"
        for resource in as_list(statement["Resource"]):
            # CloudWatch metrics have no resource ARN; that statement is scoped by namespace instead.
            # PutEvents has none either (test_put_events_is_granted_on_every_resource), and PutUsers is
            # granted the same way (test_put_users_is_granted_on_every_resource).
            if resource == "*":
                assert (
                    statement["Action"] == "cloudwatch:PutMetricData" and "Condition" in statement
                ) or statement["Sid"] in (PUT_EVENTS_SID, PUT_USERS_SID), f"{path.name} {statement['Sid']}"
            else:
                assert resource.startswith("arn:aws:"), resource


def test_the_roles_can_do_their_jobs() -> None:
    glue = {a for s in statements(IAM / "glue-job-role-policy.json") for a in as_list(s["Action"])}
    assert {"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket", "glue:CreateTable"} <= glue
    stream = {a for s in statements(IAM / "lambda-role-policy.json") for a in as_list(s["Action"])}
    assert {
        "personalize:PutEvents",
        "personalize:PutUsers",
        "kinesis:GetRecords",
        "kinesis:GetShardIterator",
        "sqs:SendMessage",
    } <= stream


def test_put_events_is_granted_on_every_resource() -> None:
    # The PutEvents API reference: "If you use an AWS Lambda function to call the PutEvents operation,
    # your function's execution role must have permission to perform the personalize:PutEvents action
    # with the wildcard * in the Resource element." Scoped to the event tracker's ARN, every call is denied.
    granting = [
        s
        for s in statements(IAM / "lambda-role-policy.json")
        if "personalize:PutEvents" in as_list(s["Action"])
    ]
    assert granting == [
        {"Sid": PUT_EVENTS_SID, "Effect": "Allow", "Action": "personalize:PutEvents", "Resource": "*"}
    ]


def test_put_users_is_granted_on_every_resource() -> None:
    # PUT_USERS=true: the Lambda calls PutUsers on the Users dataset, granted as PutEvents is (on "*"),
    # so the policy does not depend on a dataset ARN that deploy only learns once it has created it.
    granting = [
        s
        for s in statements(IAM / "lambda-role-policy.json")
        if "personalize:PutUsers" in as_list(s["Action"])
    ]
    assert granting == [
        {"Sid": PUT_USERS_SID, "Effect": "Allow", "Action": "personalize:PutUsers", "Resource": "*"}
    ]


@pytest.mark.parametrize("name,service", [("glue", "glue.amazonaws.com"), ("lambda", "lambda.amazonaws.com")])
def test_trust_policies(name: str, service: str) -> None:
    (statement,) = statements(IAM / f"{name}-trust-policy.json")
    assert statement["Principal"] == {"Service": service} and statement["Action"] == "sts:AssumeRole"
