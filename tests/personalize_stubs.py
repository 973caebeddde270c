"""Personalize answers for botocore's Stubber: exact requests, responses validated against the service model.

moto implements almost none of Personalize, so these play the service; S3 and IAM stay on moto server.
"""

from __future__ import annotations

from typing import Any

from botocore.stub import Stubber

ACCOUNT = "123456789012"
REGION = "us-east-1"


def arn(kind: str, name: str) -> str:
    return f"arn:aws:personalize:{REGION}:{ACCOUNT}:{kind}/{name}"


class PersonalizeStub:
    """Thin helpers over a Stubber, one per Personalize operation the project calls."""

    def __init__(self, stubber: Stubber) -> None:
        self.stub = stubber

    def add(self, operation: str, response: dict[str, Any], params: dict[str, Any]) -> None:
        self.stub.add_response(operation, response, params)

    # --- deploy ---
    def list_schemas(self, schemas: dict[str, str]) -> None:
        items = [{"name": n, "schemaArn": a} for n, a in schemas.items()]
        self.add("list_schemas", {"schemas": items}, {})

    def create_schema(self, name: str, text: str, domain: str = "") -> str:
        params: dict[str, Any] = {"name": name, "schema": text}
        if domain:
            params["domain"] = domain
        self.add("create_schema", {"schemaArn": arn("schema", name)}, params)
        return arn("schema", name)

    def describe_schema(self, name: str, text: str, schema_arn: str | None = None) -> None:
        schema_arn = schema_arn or arn("schema", name)
        self.add(
            "describe_schema",
            {"schema": {"name": name, "schemaArn": schema_arn, "schema": text}},
            {"schemaArn": schema_arn},
        )

    def list_dataset_groups(self, names: list[str]) -> None:
        groups = [{"name": n, "datasetGroupArn": arn("dataset-group", n), "status": "ACTIVE"} for n in names]
        self.add("list_dataset_groups", {"datasetGroups": groups}, {})

    def create_dataset_group(self, name: str, domain: str = "") -> None:
        params: dict[str, Any] = {"name": name}
        if domain:
            params["domain"] = domain
        self.add("create_dataset_group", {"datasetGroupArn": arn("dataset-group", name)}, params)

    def describe_dataset_group(self, name: str, status: str = "ACTIVE", domain: str = "") -> None:
        group: dict[str, Any] = {
            "name": name,
            "datasetGroupArn": arn("dataset-group", name),
            "status": status,
        }
        if domain:
            group["domain"] = domain
        self.add(
            "describe_dataset_group", {"datasetGroup": group}, {"datasetGroupArn": group["datasetGroupArn"]}
        )

    def list_datasets(self, group: str, datasets: dict[str, str]) -> None:
        """datasets: {dataset type (INTERACTIONS...): dataset name}."""
        items = [
            {"name": n, "datasetArn": arn("dataset", f"{group}/{t}"), "datasetType": t}
            for t, n in datasets.items()
        ]
        self.add("list_datasets", {"datasets": items}, {"datasetGroupArn": arn("dataset-group", group)})

    def create_dataset(self, group: str, kind: str, name: str, schema: str) -> None:
        self.add(
            "create_dataset",
            {"datasetArn": arn("dataset", f"{group}/{kind}")},
            {
                "name": name,
                "schemaArn": arn("schema", schema),
                "datasetGroupArn": arn("dataset-group", group),
                "datasetType": kind.capitalize(),
            },
        )

    def describe_dataset(
        self, group: str, kind: str, schema: str, status: str = "ACTIVE", **extra: Any
    ) -> None:
        dataset_arn = arn("dataset", f"{group}/{kind}")
        dataset = {"datasetArn": dataset_arn, "status": status, "schemaArn": arn("schema", schema), **extra}
        self.add("describe_dataset", {"dataset": dataset}, {"datasetArn": dataset_arn})

    def list_event_trackers(self, group: str, names: list[str]) -> None:
        trackers = [
            {"name": n, "eventTrackerArn": arn("event-tracker", "abc123"), "status": "ACTIVE"} for n in names
        ]
        self.add(
            "list_event_trackers",
            {"eventTrackers": trackers},
            {"datasetGroupArn": arn("dataset-group", group)},
        )

    def create_event_tracker(self, group: str, name: str, tracking_id: str) -> None:
        self.add(
            "create_event_tracker",
            {"eventTrackerArn": arn("event-tracker", "abc123"), "trackingId": tracking_id},
            {"name": name, "datasetGroupArn": arn("dataset-group", group)},
        )

    def describe_event_tracker(self, name: str, tracking_id: str, status: str = "ACTIVE") -> None:
        tracker_arn = arn("event-tracker", "abc123")
        tracker = {"name": name, "eventTrackerArn": tracker_arn, "trackingId": tracking_id, "status": status}
        self.add("describe_event_tracker", {"eventTracker": tracker}, {"eventTrackerArn": tracker_arn})

    # --- import ---
    def list_import_jobs(self, group: str, kind: str, jobs: list[dict[str, Any]]) -> None:
        summaries = [{"datasetImportJobArn": arn("dataset-import-job", j["jobName"]), **j} for j in jobs]
        self.add(
            "list_dataset_import_jobs",
            {"datasetImportJobs": summaries},
            {"datasetArn": arn("dataset", f"{group}/{kind}")},
        )

    def create_import_job(self, group: str, kind: str, name: str, folder: str, role: str, mode: str) -> None:
        self.add(
            "create_dataset_import_job",
            {"datasetImportJobArn": arn("dataset-import-job", name)},
            {
                "jobName": name,
                "datasetArn": arn("dataset", f"{group}/{kind}"),
                "dataSource": {"dataLocation": folder},
                "roleArn": role,
                "importMode": mode,
            },
        )

    def describe_import_job(self, name: str, status: str, reason: str = "") -> None:
        job: dict[str, Any] = {
            "jobName": name,
            "datasetImportJobArn": arn("dataset-import-job", name),
            "status": status,
        }
        if reason:
            job["failureReason"] = reason
        self.add(
            "describe_dataset_import_job",
            {"datasetImportJob": job},
            {"datasetImportJobArn": job["datasetImportJobArn"]},
        )
