"""The Personalize side of a deployment, idempotent: schemas, dataset group, datasets, event tracker, IAM.

``personalize_plan`` builds every request from the config with no AWS call (``--dry-run`` prints it);
``ensure_personalize`` creates or reuses each resource (the IAM part is deploy/personalize_iam.py),
reports ``created`` / ``updated`` / ``unchanged`` and returns the event tracker's trackingId for the
Lambda's environment.

Personalize's resources are asynchronous (``CREATE PENDING`` ... ``ACTIVE``): each is polled until
ACTIVE, a bounded number of times, with an injectable sleep. Schemas are immutable: when a schema of
the wanted name exists with another definition, the new one is created under a versioned name
(``<name>-<first 8 hex of the definition's sha256>``) and the dataset is moved to it (UpdateDataset).
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from segment_personalize.dataset_config import DatasetsConfig
from segment_personalize.personalize_schema import (
    INTERACTIONS,
    ITEMS,
    USERS,
)
from segment_personalize.rules import MappingConfig

from deploy.config import ConfigError, DeployConfig
from deploy.personalize_iam import (
    BUCKET_POLICY,
    ROLE_POLICY,
    ROLE_POLICY_NAME,
    TRUST_POLICY,
    ensure_bucket_policy,
    ensure_role,
    render,
    role_commands,
)

Report = Callable[[str, str, str], None]
NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9\-_]*")  # Personalize's Name shape (botocore model)
ROLE_ARN = re.compile(r"arn:(aws[a-z-]*):iam::(\d{12}):role/?([a-zA-Z_0-9+=,.@\-_/]+)")
# Leaves room for "-interactions-<8 hex>" (a versioned schema name) within Personalize's 63 characters.
MAX_GROUP_NAME = 40
ACTIVE = "ACTIVE"
# CreateDataset's datasetType values (API reference); list/describe answers may be upper case.
API_DATASET_TYPE = {INTERACTIONS: "Interactions", USERS: "Users", ITEMS: "Items"}
POLL_SECONDS = 10.0
MAX_POLLS = 180  # 30 minutes at 10 s: a dataset group takes about a minute, a tracker a few


class PersonalizeError(Exception):
    """One line: why the Personalize side could not be set up (a failed resource, a conflict)."""


@dataclass(frozen=True)
class Output:
    """Where the datasets live: s3://bucket/<prefix>interactions/ and its users/ and items/ siblings."""

    bucket: str
    prefix: str  # the folder holding the dataset folders, "" or ending in "/"
    folders: dict[str, str]  # dataset type -> s3://... folder URI, ending in "/"


@dataclass(frozen=True)
class PersonalizePlan:
    dataset_group: str
    domain: str
    schemas: dict[str, tuple[str, str]]  # dataset type -> (schema name, JSON text)
    datasets: dict[str, str]  # dataset type -> dataset name
    tracker_name: str
    role_arn: str
    role_name: str
    manage_role: bool
    manage_bucket_policy: bool
    output: Output
    trust_policy: dict[str, Any] = field(default_factory=dict)
    role_policy: dict[str, Any] = field(default_factory=dict)
    bucket_policy: dict[str, Any] = field(default_factory=dict)


def output_folders(output_path: str, kinds: list[str]) -> Output:
    match = re.fullmatch(r"s3://([^/]+)/(.+)", output_path.strip())
    if not match:
        raise ConfigError(
            f"output_path must be an s3:// folder for Personalize to import it, got {output_path!r}"
        )
    bucket, key = match.group(1), match.group(2).strip("/")
    parent = posixpath.dirname(key)
    prefix = f"{parent}/" if parent else ""
    folders = {INTERACTIONS: f"s3://{bucket}/{key}/"}
    for kind in kinds:
        if kind != INTERACTIONS:
            folders[kind] = f"s3://{bucket}/{prefix}{kind.lower()}/"
    return Output(bucket=bucket, prefix=prefix, folders=folders)


def schemas_for(config: DeployConfig) -> dict[str, str]:
    """The schema JSON of each dataset, exactly as the job writes it beside its output."""
    try:
        # The job's and the Lambda's own reading of the setting: renames and the ecommerce preset count
        # as the EVENT_TYPE values they write.
        mapping = MappingConfig.from_settings(
            config.supported_events or None,
            config.item_id_field or None,
            config.event_value_field.strip() or None,
        )
        return (
            DatasetsConfig.from_settings(
                mapping,
                config.user_traits,
                config.item_properties,
                config.domain,
                names=("user_traits", "item_properties"),
            )
            .schemas(mapping)
            .texts()
        )
    except ValueError as error:
        raise ConfigError(str(error)) from None


def personalize_plan(config: DeployConfig) -> PersonalizePlan | None:
    """None when deploy leaves Personalize alone (no dataset_group_name); ConfigError on a bad value."""
    group = config.dataset_group_name.strip()
    if not group:
        if not config.tracking_id.strip():
            raise ConfigError(
                "tracking_id is empty: set it to your event tracker's trackingId, or set "
                "dataset_group_name so deploy creates the event tracker"
            )
        return None
    problems = []
    if not NAME.fullmatch(group) or len(group) > MAX_GROUP_NAME:
        problems.append(
            f"dataset_group_name {group!r}: letters, digits, - and _, starting with a letter or digit, "
            f"at most {MAX_GROUP_NAME} characters"
        )
    role = ROLE_ARN.fullmatch(config.personalize_role_arn.strip())
    if not role:
        problems.append(
            f"personalize_role_arn must be an IAM role ARN (arn:aws:iam::<account>:role/<name>), "
            f"got {config.personalize_role_arn!r}"
        )
    if config.import_mode not in ("FULL", "INCREMENTAL"):
        problems.append(f"import_mode must be FULL or INCREMENTAL, got {config.import_mode!r}")
    try:
        schemas = schemas_for(config)
    except ConfigError as error:
        problems.append(str(error))
        schemas = {}
    if problems:
        raise ConfigError(*problems)
    assert role is not None
    output = output_folders(config.output_path, list(schemas))
    account, role_name = role.group(2), role.group(3).rsplit("/", 1)[-1]
    values = {
        "Account": account,
        "Region": config.region,
        "Bucket": output.bucket,
        "OutputPrefix": output.prefix,
    }
    return PersonalizePlan(
        dataset_group=group,
        domain=config.domain,
        schemas={kind: (f"{group}-{kind.lower()}", text) for kind, text in schemas.items()},
        datasets={kind: f"{group}-{kind.lower()}" for kind in schemas},
        tracker_name=f"{group}-tracker",
        role_arn=config.personalize_role_arn.strip(),
        role_name=role_name,
        manage_role=config.manage_personalize_role,
        manage_bucket_policy=config.manage_bucket_policy,
        output=output,
        trust_policy=render(TRUST_POLICY, values),
        role_policy=render(ROLE_POLICY, values),
        bucket_policy=render(BUCKET_POLICY, values),
    )


def tracking_placeholder(plan: PersonalizePlan) -> str:
    return f"<trackingId of event tracker {plan.tracker_name}, known once deploy creates it>"


def plan_steps(plan: PersonalizePlan) -> list[tuple[str, str, dict[str, Any]]]:
    """(resource, name, request) for --dry-run, in the order deploy makes them."""
    steps: list[tuple[str, str, dict[str, Any]]] = []
    role_request: dict[str, Any] = {
        "RoleName": plan.role_name,
        "AssumeRolePolicyDocument": plan.trust_policy,
        "PolicyName": ROLE_POLICY_NAME,
        "PolicyDocument": plan.role_policy,
    }
    if not plan.manage_role:
        commands = role_commands(plan.role_name, plan.trust_policy, plan.role_policy)
        role_request["not managed (manage_personalize_role = false): apply yourself"] = commands
    steps.append(("iam role", plan.role_arn, role_request))
    bucket_request: dict[str, Any] = {
        "Bucket": plan.output.bucket,
        "Statements merged by Sid": plan.bucket_policy,
    }
    if not plan.manage_bucket_policy:
        bucket_request["not managed (manage_bucket_policy = false): add these statements yourself"] = True
    steps.append(("s3 bucket policy", plan.output.bucket, bucket_request))
    for name, text in plan.schemas.values():
        request = {
            "name": name,
            "schema": json.loads(text),
            **({"domain": plan.domain} if plan.domain else {}),
        }
        steps.append(("personalize schema", name, request))
    group = {"name": plan.dataset_group, **({"domain": plan.domain} if plan.domain else {})}
    steps.append(("personalize dataset group", plan.dataset_group, group))
    for kind, name in plan.datasets.items():
        steps.append(
            (
                "personalize dataset",
                name,
                {
                    "name": name,
                    "datasetType": API_DATASET_TYPE[kind],
                    "schemaArn": f"<arn of schema {plan.schemas[kind][0]}>",
                    "datasetGroupArn": f"<arn of dataset group {plan.dataset_group}>",
                    "importFrom": plan.output.folders[kind],
                },
            )
        )
    steps.append(
        (
            "personalize event tracker",
            plan.tracker_name,
            {
                "name": plan.tracker_name,
                "datasetGroupArn": f"<arn of dataset group {plan.dataset_group}>",
                "wiredInto": "the Lambda's PERSONALIZE_TRACKING_ID (unless tracking_id is set)",
            },
        )
    )
    return steps


# --- Applying --------------------------------------------------------------------------------------


def _all(client: Any, operation: str, key: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for page in client.get_paginator(operation).paginate(**params):
        items += page.get(key, [])
    return items


@dataclass(frozen=True)
class Waiter:
    """Bounded polling for ACTIVE; ``sleep`` is injectable so tests never wait."""

    sleep: Callable[[float], None] = time.sleep
    poll_seconds: float = POLL_SECONDS
    max_polls: int = MAX_POLLS

    def active(self, what: str, describe: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        for attempt in range(self.max_polls):
            resource = describe()
            status = resource.get("status", "")
            if status == ACTIVE:
                return resource
            if "FAILED" in status or status.startswith("DELETE"):
                reason = resource.get("failureReason", "no reason given")
                raise PersonalizeError(f"{what} is {status}: {reason}")
            if attempt + 1 < self.max_polls:
                self.sleep(self.poll_seconds)
        raise PersonalizeError(
            f"{what} is still {status} after {self.max_polls} checks: run deploy again to keep waiting"
        )


def ensure_schema(
    personalize: Any, name: str, text: str, domain: str, existing: dict[str, str]
) -> tuple[str, str, str]:
    """(schema name, arn, action): the wanted name, or its versioned name when that one is taken."""
    wanted = json.loads(text)
    versioned = f"{name}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"
    for candidate in (name, versioned):
        arn = existing.get(candidate)
        if arn is None:
            arn = personalize.create_schema(
                name=candidate, schema=text, **({"domain": domain} if domain else {})
            )["schemaArn"]
            return candidate, arn, "created" if candidate == name else f"created (versioned: {name} differs)"
        stored = personalize.describe_schema(schemaArn=arn)["schema"]
        if json.loads(stored["schema"]) == wanted and stored.get("domain", "") == domain:
            return candidate, arn, "unchanged"
    raise PersonalizeError(f"schemas {name} and {versioned} both exist with other definitions")


def ensure_dataset_group(personalize: Any, plan: PersonalizePlan, waiter: Waiter) -> tuple[str, str]:
    groups = {g["name"]: g for g in _all(personalize, "list_dataset_groups", "datasetGroups")}
    what = f"dataset group {plan.dataset_group}"
    if plan.dataset_group in groups:
        arn = groups[plan.dataset_group]["datasetGroupArn"]
        group = personalize.describe_dataset_group(datasetGroupArn=arn)["datasetGroup"]
        if group.get("domain", "") != plan.domain:
            raise PersonalizeError(
                f"{what} exists with domain {group.get('domain') or 'none (custom)'}; a dataset group's "
                "domain cannot change: set another dataset_group_name"
            )
        action = "unchanged"
        if group.get("status") == ACTIVE:
            return arn, action
    else:
        request = {"name": plan.dataset_group, **({"domain": plan.domain} if plan.domain else {})}
        arn = personalize.create_dataset_group(**request)["datasetGroupArn"]
        action = "created"
    waiter.active(what, lambda: personalize.describe_dataset_group(datasetGroupArn=arn)["datasetGroup"])
    return arn, action


def ensure_dataset(
    personalize: Any,
    group_arn: str,
    kind: str,
    name: str,
    schema_arn: str,
    current: dict[str, Any] | None,
    waiter: Waiter,
) -> tuple[str, str]:
    what = f"dataset {name}"

    def describe() -> dict[str, Any]:
        dataset = personalize.describe_dataset(datasetArn=arn)["dataset"]
        update = dataset.get("latestDatasetUpdate") or {}
        # A schema update runs on an ACTIVE dataset: it is settled once the update is ACTIVE too.
        if dataset.get("status") == ACTIVE and update.get("status", ACTIVE) != ACTIVE:
            return {**update, "status": update["status"]}
        return dataset

    if current is None:
        arn = personalize.create_dataset(
            name=name, schemaArn=schema_arn, datasetGroupArn=group_arn, datasetType=API_DATASET_TYPE[kind]
        )["datasetArn"]
        action = "created"
    else:
        arn = current["datasetArn"]
        dataset = describe()
        if dataset.get("schemaArn", schema_arn) == schema_arn:
            if dataset.get("status") == ACTIVE:
                return arn, "unchanged"
            action = "unchanged"
        else:
            personalize.update_dataset(datasetArn=arn, schemaArn=schema_arn)
            action = "updated"
    waiter.active(what, describe)
    return arn, action


def ensure_event_tracker(
    personalize: Any, plan: PersonalizePlan, group_arn: str, waiter: Waiter
) -> tuple[str, str, str]:
    """(tracker name, trackingId, action). Personalize allows one tracker per dataset group: reuse it."""
    trackers = _all(personalize, "list_event_trackers", "eventTrackers", datasetGroupArn=group_arn)
    if trackers:
        arn, name, action = trackers[0]["eventTrackerArn"], trackers[0]["name"], "unchanged"
    else:
        arn = personalize.create_event_tracker(name=plan.tracker_name, datasetGroupArn=group_arn)[
            "eventTrackerArn"
        ]
        name, action = plan.tracker_name, "created"
    tracker = waiter.active(
        f"event tracker {name}",
        lambda: personalize.describe_event_tracker(eventTrackerArn=arn)["eventTracker"],
    )
    return name, tracker["trackingId"], action


@dataclass(frozen=True)
class PersonalizeClients:
    personalize: Any
    s3: Any
    iam: Any


def ensure_personalize(
    clients: PersonalizeClients, plan: PersonalizePlan, report: Report, waiter: Waiter | None = None
) -> str:
    """Create or reuse everything in ``plan``; returns the event tracker's trackingId."""
    waiter = waiter or Waiter()
    if plan.manage_role:
        for resource, action in ensure_role(clients.iam, plan.role_name, plan.trust_policy, plan.role_policy):
            report(resource, plan.role_arn, action)
    else:
        report(
            "iam role",
            plan.role_arn,
            "not managed (manage_personalize_role = false): apply what --dry-run prints",
        )
    if plan.manage_bucket_policy:
        action = ensure_bucket_policy(clients.s3, plan.output.bucket, plan.bucket_policy)
    else:
        action = "not managed (manage_bucket_policy = false): add what --dry-run prints"
    report("s3 bucket policy", plan.output.bucket, action)
    personalize = clients.personalize
    existing = {s["name"]: s["schemaArn"] for s in _all(personalize, "list_schemas", "schemas")}
    schema_arns = {}
    for kind, (name, text) in plan.schemas.items():
        used, arn, action = ensure_schema(personalize, name, text, plan.domain, existing)
        schema_arns[kind] = arn
        report("personalize schema", used, action)
    group_arn, action = ensure_dataset_group(personalize, plan, waiter)
    report("personalize dataset group", plan.dataset_group, action)
    datasets = {
        d["datasetType"].upper(): d
        for d in _all(personalize, "list_datasets", "datasets", datasetGroupArn=group_arn)
    }
    for kind, name in plan.datasets.items():
        _, action = ensure_dataset(
            personalize, group_arn, kind, name, schema_arns[kind], datasets.get(kind), waiter
        )
        report("personalize dataset", datasets[kind]["name"] if kind in datasets else name, action)
    tracker, tracking_id, action = ensure_event_tracker(personalize, plan, group_arn, waiter)
    report("personalize event tracker", tracker, action)
    return tracking_id


def find_datasets(personalize: Any, group_name: str) -> dict[str, str] | None:
    """{dataset type: arn} of a deployed dataset group, or None when the group does not exist."""
    groups = {
        g["name"]: g["datasetGroupArn"] for g in _all(personalize, "list_dataset_groups", "datasetGroups")
    }
    if group_name not in groups:
        return None
    datasets = _all(personalize, "list_datasets", "datasets", datasetGroupArn=groups[group_name])
    return {d["datasetType"].upper(): d["datasetArn"] for d in datasets}
