"""Apply the plan with boto3, idempotently: each resource is created, updated or left unchanged."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from athena_queries.named import register_named_queries
from crawler.ensure import ensure_classifier, ensure_crawler, ensure_database, error_code, matches
from deploy.config import DeployConfig
from deploy.personalize import PersonalizeClients, ensure_personalize, personalize_plan
from deploy.plan import (
    ARTIFACTS,
    crawler_specs,
    event_source_mapping_request,
    glue_job_request,
    lambda_request,
    named_query_target,
    with_users_dataset,
)

Report = Callable[[str, str, str], None]


@dataclass(frozen=True)
class Clients:
    s3: Any
    glue: Any
    athena: Any
    lambda_: Any
    personalize: Any = None  # with iam: only when deploy manages the Personalize side
    iam: Any = None


def upload_artifacts(s3: Any, config: DeployConfig, dist: Path) -> dict[str, str]:
    """Upload what changed, so re-deploys of the same build touch nothing.

    The content hash travels as object metadata: an ETag is only an MD5 for unencrypted single-part
    uploads, so it cannot tell "same bytes" in a bucket with SSE-KMS.
    """
    actions = {}
    for name in ARTIFACTS:
        path = dist / name
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing: run `make package` first")
        body = path.read_bytes()
        digest = hashlib.sha256(body).hexdigest()
        key = f"{config.artifacts_prefix}/{name}"
        try:
            stored = s3.head_object(Bucket=config.bucket, Key=key)["Metadata"].get("sha256")
            exists = True
        except ClientError as error:
            if error_code(error) not in {"404", "NoSuchKey", "NotFound"}:
                raise
            stored, exists = None, False
        if stored == digest:
            actions[key] = "unchanged"
            continue
        s3.put_object(Bucket=config.bucket, Key=key, Body=body, Metadata={"sha256": digest})
        actions[key] = "updated" if exists else "uploaded"
    return actions


def ensure_glue_job(glue: Any, config: DeployConfig) -> str:
    wanted = glue_job_request(config)
    try:
        current = glue.get_job(JobName=config.job_name)["Job"]
    except ClientError as error:
        if error_code(error) != "EntityNotFoundException":
            raise
        glue.create_job(Name=config.job_name, **wanted)
        return "created"
    if matches(current, wanted):
        return "unchanged"
    glue.update_job(JobName=config.job_name, JobUpdate=wanted)
    return "updated"


def _code_sha256(zip_bytes: bytes) -> str:
    return base64.b64encode(hashlib.sha256(zip_bytes).digest()).decode()


def ensure_lambda(lambda_: Any, config: DeployConfig, zip_bytes: bytes) -> str:
    wanted = lambda_request(config)
    try:
        current = lambda_.get_function(FunctionName=config.function_name)["Configuration"]
    except ClientError as error:
        if error_code(error) != "ResourceNotFoundException":
            raise
        lambda_.create_function(**wanted, Code={"ZipFile": zip_bytes}, Publish=False)
        lambda_.get_waiter("function_active_v2").wait(FunctionName=config.function_name)
        return "created"
    action = "unchanged"
    if current.get("CodeSha256") != _code_sha256(zip_bytes):
        lambda_.update_function_code(FunctionName=config.function_name, ZipFile=zip_bytes)
        # Lambda refuses a configuration update while the code update is in progress.
        lambda_.get_waiter("function_updated_v2").wait(FunctionName=config.function_name)
        action = "updated"
    configuration = {k: v for k, v in wanted.items() if k != "FunctionName"}
    if not matches(current, configuration):
        lambda_.update_function_configuration(FunctionName=config.function_name, **configuration)
        lambda_.get_waiter("function_updated_v2").wait(FunctionName=config.function_name)
        action = "updated"
    return action


def ensure_event_source_mapping(lambda_: Any, config: DeployConfig) -> str:
    wanted = event_source_mapping_request(config)
    mappings = lambda_.list_event_source_mappings(
        FunctionName=config.function_name, EventSourceArn=config.kinesis_stream_arn
    )["EventSourceMappings"]
    if not mappings:
        lambda_.create_event_source_mapping(**wanted)
        return "created"
    current = mappings[0]
    # StartingPosition and the source cannot change on an existing mapping; the rest can.
    changeable = {k: v for k, v in wanted.items() if k not in {"EventSourceArn", "StartingPosition"}}
    comparable = {k: v for k, v in changeable.items() if k != "FunctionName"}
    if matches(current, comparable):
        return "unchanged"
    lambda_.update_event_source_mapping(UUID=current["UUID"], **changeable)
    return "updated"


def deploy(clients: Clients, config: DeployConfig, dist: Path, report: Report) -> None:
    for key, action in upload_artifacts(clients.s3, config, dist).items():
        report("s3 object", f"s3://{config.bucket}/{key}", action)
    report("glue job", config.job_name, ensure_glue_job(clients.glue, config))
    specs = crawler_specs(config)
    report("glue database", config.database, ensure_database(clients.glue, config.database))
    for spec in specs:
        report("glue classifier", spec.classifier_name, ensure_classifier(clients.glue, spec))
        report("glue crawler", spec.crawler_name, ensure_crawler(clients.glue, spec))
    target = named_query_target(config)
    queries = register_named_queries(
        clients.athena,
        database=target["Database"],
        table=target["Table"],
        workgroup=config.workgroup,
        columns=target["Columns"],
        tables=target["MetadataTables"],
        category=target["Category"],
    )
    for name, action in queries.items():
        report("athena named query", name, action)
    personalize = personalize_plan(config)
    if personalize:
        clients_ = PersonalizeClients(clients.personalize, clients.s3, clients.iam)
        tracking_id = ensure_personalize(clients_, personalize, report)
        # A configured tracking id still wins over the tracker's.
        config = replace(config, tracking_id=config.tracking_id.strip() or tracking_id)
        config = with_users_dataset(config, personalize)  # put_users: the Users dataset just ensured
    zip_bytes = (dist / "personalize_stream.zip").read_bytes()
    report("lambda function", config.function_name, ensure_lambda(clients.lambda_, config, zip_bytes))
    report(
        "event source mapping",
        config.kinesis_stream_arn,
        ensure_event_source_mapping(clients.lambda_, config),
    )
