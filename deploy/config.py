"""Deployment configuration: one TOML file, overridable from the environment, parsed once."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

DEFAULT_PATH = Path(__file__).with_name("deploy.toml")
PLACEHOLDER = "CHANGE-ME"
ENV_PREFIX = "SP_"
T = TypeVar("T")


class ConfigError(Exception):
    """What is missing or wrong in the deployment configuration, all of it at once."""


@dataclass(frozen=True)
class DeployConfig:
    region: str
    bucket: str
    job_name: str
    glue_role_arn: str
    input_path: str
    output_path: str
    function_name: str
    lambda_role_arn: str
    tracking_id: str
    kinesis_stream_arn: str
    prefix: str = "segment-personalize"
    worker_type: str = "G.1X"
    number_of_workers: int = 2
    bookmarks: bool = False
    supported_events: str = ""
    item_id_field: str = "sku"
    single_file: bool = False
    database: str = "segmentdata"
    crawler_name: str = "segment-personalize-interactions"
    workgroup: str = "primary"
    batch_size: int = 100
    maximum_retry_attempts: int = 10
    maximum_record_age_seconds: int = 3600
    on_failure_arn: str = ""
    endpoint_url: str = ""  # a local moto server, for tests; empty means AWS
    # [personalize] (deploy/personalize.py, deploy/personalize_import.py). An empty dataset_group_name
    # leaves Personalize to you: then tracking_id must be set.
    dataset_group_name: str = ""
    domain: str = ""  # "" (custom dataset group) or ECOMMERCE
    personalize_role_arn: str = ""  # the role Personalize assumes to read the output (iam/personalize-*)
    manage_personalize_role: bool = False  # true: deploy creates/updates that role and its inline policy
    manage_bucket_policy: bool = True  # merge iam/personalize-bucket-policy.json into the bucket's policy
    import_mode: str = "FULL"  # FULL or INCREMENTAL (needs a prior import)
    user_traits: str = ""  # e.g. "plan,country,lifetime_value:float": a Users dataset
    item_properties: str = ""  # e.g. "category,brand,price:float": an Items dataset
    event_value_field: str = ""  # e.g. "price": the interactions schema gets EVENT_VALUE

    @property
    def artifacts_prefix(self) -> str:
        return f"{self.prefix.strip('/')}/artifacts"


def _coerce(name: str, kind: Any, value: Any) -> Any:
    if kind in (int, "int"):
        return int(value)
    if kind in (bool, "bool"):
        if isinstance(value, bool):
            return value
        if str(value).lower() in {"true", "1", "yes"}:
            return True
        if str(value).lower() in {"false", "0", "no", ""}:
            return False
        raise ValueError(f"{name} must be true or false, got {value!r}")
    return str(value)


def _values(path: Path, env: Mapping[str, str], known: set[str]) -> tuple[dict[str, Any], list[str]]:
    """The file's keys (its sections are only for reading), then SP_* from the environment on top."""
    try:
        document = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"no deployment config at {path}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML: {error}") from None
    values: dict[str, Any] = {}
    for section in document.values():
        values.update(section if isinstance(section, dict) else {})
    every_key = {f.name for f in fields(DeployConfig)}
    problems = [f"unknown key {k!r} in {path.name}" for k in sorted(set(values) - every_key)]
    for name in known:
        if ENV_PREFIX + name.upper() in env:
            values[name] = env[ENV_PREFIX + name.upper()]
    return values, problems


def _parse(cls: type[T], path: Path, env: Mapping[str, str]) -> T:
    known = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
    values, problems = _values(path, env, set(known))
    parsed: dict[str, Any] = {}
    for name, spec in known.items():
        if name not in values:
            if spec.default is MISSING:  # no default: required
                problems.append(f"{name} is not set (in {path.name} or {ENV_PREFIX}{name.upper()})")
            continue
        try:
            parsed[name] = _coerce(name, spec.type, values[name])
        except ValueError as error:
            problems.append(str(error))
            continue
        if PLACEHOLDER in str(parsed[name]):
            problems.append(
                f"{name} is still {values[name]!r}: set it in {path.name} or {ENV_PREFIX}{name.upper()}"
            )
    if problems:
        raise ConfigError("deployment config incomplete:\n  " + "\n  ".join(problems))
    return cls(**parsed)


def load_config(path: Path = DEFAULT_PATH, env: Mapping[str, str] = os.environ) -> DeployConfig:
    return _parse(DeployConfig, path, env)


@dataclass(frozen=True)
class JobTarget:
    """What `glue-run` needs: starting a run of a deployed job needs none of the Lambda's settings."""

    region: str
    job_name: str
    endpoint_url: str = ""


def load_job_target(path: Path = DEFAULT_PATH, env: Mapping[str, str] = os.environ) -> JobTarget:
    return _parse(JobTarget, path, env)
