"""What a deployment creates: every request built from the config, with no AWS call (--dry-run prints it)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from segment_personalize.personalize_schema import USERS

from athena_queries.saved import choose_category
from crawler.definition import CrawlerSpec, classifier_request, crawler_request, dataset_specs
from deploy.config import DeployConfig
from deploy.personalize import PersonalizePlan, personalize_plan, plan_steps, tracking_placeholder

LAMBDA_RUNTIME = "python3.11"
LAMBDA_HANDLER = "personalize_stream.handler.handler"
DIST = Path(__file__).resolve().parent.parent / "build" / "dist"
ARTIFACTS = ("segment_personalize.zip", "segment_events_to_personalize.py", "personalize_stream.zip")


@dataclass(frozen=True)
class Step:
    resource: str
    name: str
    request: dict[str, Any]


def artifact_uri(config: DeployConfig, name: str) -> str:
    return f"s3://{config.bucket}/{config.artifacts_prefix}/{name}"


def job_arguments(config: DeployConfig) -> dict[str, str]:
    """The job's DefaultArguments: the one builder, used by the request and by deploy.validate."""
    arguments = {
        "--S3_JSON_INPUT_PATH": config.input_path,
        "--S3_CSV_OUTPUT_PATH": config.output_path,
        "--extra-py-files": artifact_uri(config, "segment_personalize.zip"),
        "--job-bookmark-option": "job-bookmark-enable" if config.bookmarks else "job-bookmark-disable",
        "--ITEM_ID_FIELD": config.item_id_field,
        "--ANONYMOUS_EVENTS": config.anonymous_events,
        "--SINGLE_FILE": "true" if config.single_file else "false",
        "--enable-metrics": "true",
        "--enable-continuous-cloudwatch-log": "true",
    }
    if config.supported_events:
        arguments["--SUPPORTED_EVENTS"] = config.supported_events
    # The same settings the Personalize schemas are built from (deploy/personalize.py), so they agree.
    for argument, value in (
        ("--USER_TRAITS", config.user_traits),
        ("--ITEM_PROPERTIES", config.item_properties),
        ("--EVENT_VALUE_FIELD", config.event_value_field),
        ("--PERSONALIZE_DOMAIN", config.domain),
    ):
        if value.strip():
            arguments[argument] = value
    return arguments


def glue_job_request(config: DeployConfig) -> dict[str, Any]:
    return {
        "Description": "Segment S3 export -> Amazon Personalize interactions CSV (segment-personalize)",
        "Role": config.glue_role_arn,
        "Command": {
            "Name": "glueetl",
            "ScriptLocation": artifact_uri(config, "segment_events_to_personalize.py"),
            "PythonVersion": "3",
        },
        "DefaultArguments": job_arguments(config),
        # Selects Spark and Python together (6.0: Spark 4.1.1, Python 3.13; 5.1: Spark 3.5.6, Python 3.11);
        # Command.PythonVersion stays "3", which for glueetl only means Python 3.
        "GlueVersion": config.glue_version,
        "WorkerType": config.worker_type,
        "NumberOfWorkers": config.number_of_workers,
        "MaxRetries": 0,
        "Timeout": 120,
        "ExecutionProperty": {"MaxConcurrentRuns": 1},  # runs overwrite one output folder
    }


def crawler_spec(config: DeployConfig) -> CrawlerSpec:
    return CrawlerSpec(
        s3_target=config.output_path,
        role_arn=config.glue_role_arn,
        database=config.database,
        crawler_name=config.crawler_name,
        event_value=bool(config.event_value_field.strip()),
    )


def crawler_specs(config: DeployConfig) -> tuple[CrawlerSpec, ...]:
    """The interactions crawler, then one per Users / Items folder the job writes (the job's default
    users/ and items/ siblings of output_path: deploy sets no --USERS_OUTPUT_PATH / --ITEMS_OUTPUT_PATH)."""
    return dataset_specs(
        crawler_spec(config), user_traits=config.user_traits, item_properties=config.item_properties
    )


def named_query_target(config: DeployConfig) -> dict[str, Any]:
    """What the named queries are registered for: the tables the crawlers make, and the Items category."""
    specs = crawler_specs(config)
    tables = {spec.dataset.lower(): spec.table for spec in specs[1:]}
    items = [spec for spec in specs if spec.dataset == "ITEMS"]
    return {
        "Database": config.database,
        "Table": specs[0].table,
        "Columns": list(specs[0].column_names),
        "MetadataTables": tables,
        "Category": choose_category(items[0].column_names) if items else None,
    }


def with_tracking_placeholder(
    config: DeployConfig, personalize: PersonalizePlan | None = None
) -> DeployConfig:
    """The config as the Lambda will get it before deploy knows the tracker's trackingId: a placeholder
    where the event tracker deploy creates will supply it (a configured tracking_id wins)."""
    personalize = personalize or personalize_plan(config)
    config = with_users_dataset(config, personalize)
    if personalize and not config.tracking_id.strip():
        return replace(config, tracking_id=tracking_placeholder(personalize))
    return config


def users_dataset_arn(config: DeployConfig, personalize: PersonalizePlan) -> str:
    """The Users dataset's ARN, known before it exists: Personalize names a dataset by its group and type."""
    partition, account = personalize.role_arn.split(":")[1], personalize.role_arn.split(":")[4]
    return f"arn:{partition}:personalize:{config.region}:{account}:dataset/{personalize.dataset_group}/USERS"


def with_users_dataset(config: DeployConfig, personalize: PersonalizePlan | None) -> DeployConfig:
    """put_users: the Users dataset deploy creates, unless users_dataset_arn names one."""
    wanted = config.put_users and not config.users_dataset_arn.strip()
    if wanted and personalize and USERS in personalize.datasets:
        return replace(config, users_dataset_arn=users_dataset_arn(config, personalize))
    return config


def lambda_environment(config: DeployConfig) -> dict[str, str]:
    """The Lambda's environment: the one builder, used by the request and by deploy.validate."""
    return {
        "PERSONALIZE_TRACKING_ID": config.tracking_id,
        "ITEM_ID_FIELD": config.item_id_field,
        "ANONYMOUS_EVENTS": config.anonymous_events,
        **({"SUPPORTED_EVENTS": config.supported_events} if config.supported_events else {}),
        **({"EVENT_VALUE_FIELD": config.event_value_field} if config.event_value_field else {}),
        # PutUsers from identify calls: the traits are the batch job's, so both feed one Users schema.
        "PUT_USERS": "true" if config.put_users else "false",
        **({"USER_TRAITS": config.user_traits} if config.user_traits.strip() else {}),
        **({"USERS_DATASET_ARN": config.users_dataset_arn.strip()} if config.put_users else {}),
    }


def lambda_request(config: DeployConfig) -> dict[str, Any]:
    return {
        "FunctionName": config.function_name,
        "Runtime": LAMBDA_RUNTIME,
        "Role": config.lambda_role_arn,
        "Handler": LAMBDA_HANDLER,
        "Description": "Segment calls from Kinesis -> Personalize PutEvents (segment-personalize)",
        "Timeout": 60,
        "MemorySize": 512,
        "Environment": {"Variables": lambda_environment(config)},
    }


def event_source_mapping_request(config: DeployConfig) -> dict[str, Any]:
    request: dict[str, Any] = {
        "EventSourceArn": config.kinesis_stream_arn,
        "FunctionName": config.function_name,
        "BatchSize": config.batch_size,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "BisectBatchOnFunctionError": True,
        "MaximumRetryAttempts": config.maximum_retry_attempts,
        "MaximumRecordAgeInSeconds": config.maximum_record_age_seconds,
        "StartingPosition": "LATEST",
    }
    if config.on_failure_arn:
        request["DestinationConfig"] = {"OnFailure": {"Destination": config.on_failure_arn}}
    return request


def plan(config: DeployConfig) -> list[Step]:
    specs = crawler_specs(config)
    # The Personalize side (deploy/personalize.py), and the tracker's trackingId wired into the Lambda.
    personalize = personalize_plan(config)
    config = with_tracking_placeholder(config, personalize)
    personalize_steps = [Step(*step) for step in plan_steps(personalize)] if personalize else []
    return [
        *(
            Step("s3 object", artifact_uri(config, name), {"source": f"build/dist/{name}"})
            for name in ARTIFACTS
        ),
        Step("glue job", config.job_name, glue_job_request(config)),
        Step("glue database", config.database, {"Name": config.database}),
        *(
            step
            for spec in specs
            for step in (
                Step("glue classifier", spec.classifier_name, classifier_request(spec)),
                Step("glue crawler", spec.crawler_name, crawler_request(spec)),
            )
        ),
        Step("athena named queries", config.workgroup, named_query_target(config)),
        *personalize_steps,
        Step("lambda function", config.function_name, lambda_request(config)),
        Step("event source mapping", config.kinesis_stream_arn, event_source_mapping_request(config)),
    ]
