"""The IAM side of Personalize: the service role it assumes to read the output, and the bucket policy.

The documents are iam/personalize-*.json with their ${...} placeholders filled. Deploy sets them where
it may (``manage_personalize_role``, ``manage_bucket_policy``); otherwise ``--dry-run`` prints exactly
what to apply (``role_commands``).
"""

from __future__ import annotations

import json
from pathlib import Path
from string import Template
from typing import Any
from urllib.parse import unquote

from botocore.exceptions import ClientError

IAM = Path(__file__).resolve().parent.parent / "iam"
TRUST_POLICY = IAM / "personalize-service-role-trust-policy.json"
ROLE_POLICY = IAM / "personalize-service-role-policy.json"
BUCKET_POLICY = IAM / "personalize-bucket-policy.json"
ROLE_POLICY_NAME = "segment-personalize-read-output"


def render(template: Path, values: dict[str, str]) -> dict[str, Any]:
    """An iam/ document with its ${...} placeholders filled; a missing value is a bug, so it raises."""
    return json.loads(Template(template.read_text()).substitute(values))


def role_commands(role_name: str, trust_policy: dict[str, Any], role_policy: dict[str, Any]) -> list[str]:
    """The `aws iam` commands that create the role, for when deploy does not manage it."""
    trust = json.dumps(trust_policy, separators=(",", ":"))
    policy = json.dumps(role_policy, separators=(",", ":"))
    return [
        f"aws iam create-role --role-name {role_name} --assume-role-policy-document '{trust}'",
        f"aws iam put-role-policy --role-name {role_name} --policy-name {ROLE_POLICY_NAME} "
        f"--policy-document '{policy}'",
    ]


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _decoded(document: Any) -> Any:
    # boto3 hands IAM policy documents back decoded; a raw (URL-encoded) string is decoded here.
    return json.loads(unquote(document)) if isinstance(document, str) else document


def ensure_role(
    iam: Any, role_name: str, trust_policy: dict[str, Any], role_policy: dict[str, Any]
) -> list[tuple[str, str]]:
    """[("iam role", action), ("iam role policy", action)]: created, updated or unchanged."""
    actions = []
    try:
        current = iam.get_role(RoleName=role_name)["Role"]
    except ClientError as error:
        if _code(error) != "NoSuchEntity":
            raise
        iam.create_role(
            RoleName=role_name,
            AssumeRolePolicyDocument=json.dumps(trust_policy),
            Description="Amazon Personalize reads the segment-personalize output (dataset import jobs)",
        )
        actions.append(("iam role", "created"))
    else:
        if _decoded(current.get("AssumeRolePolicyDocument")) == trust_policy:
            actions.append(("iam role", "unchanged"))
        else:
            iam.update_assume_role_policy(RoleName=role_name, PolicyDocument=json.dumps(trust_policy))
            actions.append(("iam role", "updated"))
    try:
        stored = _decoded(
            iam.get_role_policy(RoleName=role_name, PolicyName=ROLE_POLICY_NAME)["PolicyDocument"]
        )
    except ClientError as error:
        if _code(error) != "NoSuchEntity":
            raise
        stored = None
    if stored == role_policy:
        actions.append(("iam role policy", "unchanged"))
    else:
        iam.put_role_policy(
            RoleName=role_name, PolicyName=ROLE_POLICY_NAME, PolicyDocument=json.dumps(role_policy)
        )
        actions.append(("iam role policy", "created" if stored is None else "updated"))
    return actions


def _statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    statements = policy.get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def merged_bucket_policy(current: dict[str, Any] | None, ours: dict[str, Any]) -> dict[str, Any]:
    """The bucket's policy with our statements replacing any of the same Sid; the others untouched."""
    base = current or {"Version": ours["Version"], "Statement": []}
    sids = {s["Sid"] for s in ours["Statement"]}
    kept = [s for s in _statements(base) if s.get("Sid") not in sids]
    return {**base, "Statement": kept + list(ours["Statement"])}


def ensure_bucket_policy(s3: Any, bucket: str, ours: dict[str, Any]) -> str:
    try:
        current = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    except ClientError as error:
        if _code(error) != "NoSuchBucketPolicy":
            raise
        current = None
    wanted = merged_bucket_policy(current, ours)
    if current is not None and _same_statements(current, wanted):
        return "unchanged"
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(wanted))
    return "created" if current is None else "updated"


def _same_statements(a: dict[str, Any], b: dict[str, Any]) -> bool:
    def key(policy: dict[str, Any]) -> list[str]:
        return sorted(json.dumps(s, sort_keys=True) for s in _statements(policy))

    return key(a) == key(b)
