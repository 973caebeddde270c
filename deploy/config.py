"""Deployment configuration: one TOML file, overridable from the environment, parsed once.

Each key's own rule (a type, a range, a set of values) is checked here, on its own. Whether the Glue job
and the Lambda accept the values deploy derives from the keys is deploy/validate.py's question.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

DEFAULT_PATH = Path(__file__).with_name("deploy.toml")
PLACEHOLDER = "CHANGE-ME"
ENV_PREFIX = "SP_"
T = TypeVar("T")

# The Glue versions the one job script is tested on (Makefile's GLUE_VERSIONS); the first is the default.
GLUE_VERSIONS = ("6.0", "5.1")
# Worker types Glue offers Spark ETL jobs (botocore's glue model, CreateJob WorkerType): G.025X is for
# streaming jobs only, Z.2X for Ray, and Standard is not offered for Spark jobs. The same on 5.1 and 6.0;
# G.4X and up and the R types exist only in some regions, which Glue itself reports.
SPARK_WORKER_TYPES = ("G.1X", "G.2X", "G.4X", "G.8X", "G.12X", "G.16X", "R.1X", "R.2X", "R.4X", "R.8X")

# A key's rule: what is wrong with a parsed value, or None.
Rule = Callable[[Any], "str | None"]


class ConfigError(Exception):
    """What is wrong in the deployment configuration: every problem, one line each."""

    def __init__(self, *problems: str) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def one_of(*allowed: str) -> Rule:
    return lambda value: None if value in allowed else f"must be one of {', '.join(allowed)}, got {value!r}"


def between(low: int, high: int | None = None) -> Rule:
    def rule(value: int) -> str | None:
        if value >= low and (high is None or value <= high):
            return None
        return (
            f"must be at least {low}, got {value}" if high is None else f"must be {low}..{high}, got {value}"
        )

    return rule


def record_age(value: int) -> str | None:
    # Lambda's API reference: -1 (keep records until they expire) or 60..604800; 0..59 fall inside the
    # parameter's absolute range (-1..604800) but are refused.
    if value == -1 or 60 <= value <= 604800:
        return None
    return f"must be -1 (no limit) or 60..604800 seconds, got {value}"


def checked(default: Any, rule: Rule) -> Any:
    """A key with a default and a rule its value must pass."""
    return field(default=default, metadata={"rule": rule})


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
    kinesis_stream_arn: str
    prefix: str = "segment-personalize"
    # Empty: the trackingId of the event tracker deploy creates ([personalize] dataset_group_name).
    tracking_id: str = ""
    glue_version: str = checked(GLUE_VERSIONS[0], one_of(*GLUE_VERSIONS))
    worker_type: str = checked("G.1X", one_of(*SPARK_WORKER_TYPES))
    # Glue's minimum for a Spark job: one driver and at least one executor. The maximum is an account
    # quota, which Glue reports itself.
    number_of_workers: int = checked(2, between(2))
    bookmarks: bool = False
    supported_events: str = ""
    item_id_field: str = "sku"
    # The job's --ANONYMOUS_EVENTS and the Lambda's ANONYMOUS_EVENTS (drop, stitch, keep).
    anonymous_events: str = "stitch"
    single_file: bool = False
    database: str = "segmentdata"
    crawler_name: str = "segment-personalize-interactions"
    workgroup: str = "primary"
    # Event source mapping ranges from Lambda's CreateEventSourceMapping (botocore's lambda model).
    batch_size: int = checked(100, between(1, 10000))
    maximum_retry_attempts: int = checked(10, between(-1, 10000))
    maximum_record_age_seconds: int = checked(3600, record_age)
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
    # [stream] the Users dataset PutUsers writes to (the Lambda's USERS_DATASET_ARN); empty: the one deploy
    # creates in dataset_group_name. Declared before user_traits: validate._blame sets keys back in
    # this order, and so names user_traits, not this key, when put_users has no traits.
    users_dataset_arn: str = ""
    user_traits: str = ""  # e.g. "plan,country,lifetime_value:float": a Users dataset
    item_properties: str = ""  # e.g. "category,brand,price:float": an Items dataset
    event_value_field: str = ""  # e.g. "price": the interactions schema gets EVENT_VALUE
    # [stream] true: the Lambda sends identify calls' user_traits to PutUsers (the Lambda's PUT_USERS).
    put_users: bool = False

    @property
    def artifacts_prefix(self) -> str:
        return f"{self.prefix.strip('/')}/artifacts"


_WHOLE_NUMBER = re.compile(r"\s*[-+]?\d+\s*")


def _coerce(name: str, kind: Any, value: Any) -> Any:
    if kind in (int, "int"):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and _WHOLE_NUMBER.fullmatch(value):
            return int(value)
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    if kind in (bool, "bool"):
        if isinstance(value, bool):
            return value
        if str(value).lower() in {"true", "1", "yes"}:
            return True
        if str(value).lower() in {"false", "0", "no", ""}:
            return False
        raise ValueError(f"{name} must be true or false, got {value!r}")
    if isinstance(value, dict | list):
        raise ValueError(f"{name} must be a single value, got {value!r}")
    # TOML numbers are fine where text is wanted: glue_version = 5.1 reads as "5.1".
    return str(value)


def _read(path: Path) -> dict[str, Any]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"no deployment config at {path}") from None
    except IsADirectoryError:
        raise ConfigError(
            f"{path} is a folder: --config takes a TOML file such as deploy/deploy.toml"
        ) from None
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error.strerror}") from None
    try:
        text = data.decode("utf-8")  # TOML is UTF-8 whatever the locale says
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ConfigError(f"{path} is not UTF-8 (line {line}): TOML files must be UTF-8") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML: {error}") from None


def _values(
    path: Path, env: Mapping[str, str], known: set[str]
) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """The file's keys (its sections are only for reading), then SP_* from the environment on top.

    Also returns where each environment value came from, for the messages.
    """
    document = _read(path)
    values: dict[str, Any] = {k: v for k, v in document.items() if not isinstance(v, dict)}
    for section in document.values():
        values.update(section if isinstance(section, dict) else {})
    every_key = {f.name for f in fields(DeployConfig)}
    problems = [f"unknown key {k!r} in {path.name}" for k in sorted(set(values) - every_key)]
    origins = {}
    for name in known:
        if ENV_PREFIX + name.upper() in env:
            values[name] = env[ENV_PREFIX + name.upper()]
            origins[name] = ENV_PREFIX + name.upper()
    return values, origins, problems


def _parse(cls: type[T], path: Path, env: Mapping[str, str]) -> T:
    known = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
    values, origins, problems = _values(path, env, set(known))
    parsed: dict[str, Any] = {}
    for name, spec in known.items():
        source = f" (from {origins[name]})" if name in origins else ""
        if name not in values:
            if spec.default is MISSING:  # no default: required
                problems.append(f"{name} is not set (in {path.name} or {ENV_PREFIX}{name.upper()})")
            continue
        try:
            parsed[name] = _coerce(name, spec.type, values[name])
        except ValueError as error:
            problems.append(f"{error}{source}")
            continue
        if PLACEHOLDER in str(parsed[name]):
            problems.append(
                f"{name} is still {values[name]!r}: set it in {path.name} or {ENV_PREFIX}{name.upper()}"
            )
        elif spec.default is MISSING and not str(parsed[name]).strip():
            problems.append(f"{name} is empty{source}")
        elif "rule" in spec.metadata and (wrong := spec.metadata["rule"](parsed[name])):
            problems.append(f"{name} {wrong}{source}")
    if problems:
        raise ConfigError(*problems)
    return cls(**parsed)


def load_config(path: Path = DEFAULT_PATH, env: Mapping[str, str] = os.environ) -> DeployConfig:
    """Each key parsed and checked on its own; deploy.validate.load_deployable adds the job's and the
    Lambda's own parsers on top."""
    return _parse(DeployConfig, path, env)


@dataclass(frozen=True)
class JobTarget:
    """What `glue-run` needs: starting a run of a deployed job needs none of the Lambda's settings."""

    region: str
    job_name: str
    # The version the deployed job must be on: a run never silently tests another runtime.
    glue_version: str = checked(GLUE_VERSIONS[0], one_of(*GLUE_VERSIONS))
    endpoint_url: str = ""


def load_job_target(path: Path = DEFAULT_PATH, env: Mapping[str, str] = os.environ) -> JobTarget:
    return _parse(JobTarget, path, env)
