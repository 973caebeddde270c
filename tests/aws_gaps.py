"""Fill moto server's gaps for one boto3 client, in the test process, so a whole deploy can run on it.

moto 5.2.5 answers HTTP 500 for Glue's classifier calls, UpdateJob and UpdateCrawler. These hooks answer
those operations before they are sent (botocore's before-call event): classifiers from an in-memory
store, updates as delete-and-create on the moto server itself, so later reads see the update. Every
other call goes over HTTP to moto.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

from botocore.exceptions import ClientError


def _ok(parsed: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    return SimpleNamespace(status_code=200, headers={}), {
        **parsed,
        "ResponseMetadata": {"HTTPStatusCode": 200},
    }


def _not_found(operation: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": "EntityNotFoundException", "Message": message}}, operation)


def fill_glue_gaps(glue: Any, classifiers: dict[str, dict[str, Any]]) -> None:
    """``classifiers`` plays Glue's classifier store: share it between clients of one account."""

    def body(params: dict[str, Any]) -> dict[str, Any]:
        return json.loads(params["body"] or b"{}")

    def get_classifier(params, **kwargs):
        name = body(params)["Name"]
        if name not in classifiers:
            raise _not_found("GetClassifier", f"Classifier {name} not found")
        return _ok({"Classifier": {"CsvClassifier": classifiers[name]}})

    def put_classifier(params, **kwargs):
        csv = body(params)["CsvClassifier"]
        classifiers[csv["Name"]] = csv
        return _ok({})

    def update_job(params, **kwargs):
        request = body(params)
        glue.delete_job(JobName=request["JobName"])
        glue.create_job(Name=request["JobName"], **request["JobUpdate"])
        return _ok({"JobName": request["JobName"]})

    def update_crawler(params, **kwargs):
        request = body(params)
        glue.delete_crawler(Name=request["Name"])
        glue.create_crawler(**request)
        return _ok({})

    events = glue.meta.events
    events.register("before-call.glue.GetClassifier", get_classifier)
    events.register("before-call.glue.CreateClassifier", put_classifier)
    events.register("before-call.glue.UpdateClassifier", put_classifier)
    events.register("before-call.glue.UpdateJob", update_job)
    events.register("before-call.glue.UpdateCrawler", update_crawler)
