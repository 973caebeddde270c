"""The Lambda's configuration: read once from the environment, at the edge."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from segment_personalize.metadata import validate_sources
from segment_personalize.personalize_schema import Column, parse_columns
from segment_personalize.rules import MappingConfig

from .user_updates import property_key

TRACKING_ID_VAR = "PERSONALIZE_TRACKING_ID"
PUT_USERS_VAR, USER_TRAITS_VAR, USERS_DATASET_VAR = "PUT_USERS", "USER_TRAITS", "USERS_DATASET_ARN"
BOOLEANS = {"true": True, "false": False}
RETRY_MODES = ("standard", "adaptive")
CONNECT_TIMEOUT_S = 2.0
READ_TIMEOUT_S = 5.0
# The work after the last call (the response, the log lines) and clock skew get this much on top of one
# attempt (connect + read timeout).
DEADLINE_SLACK_MS = 1000
LONGEST_LAMBDA_TIMEOUT_MS = 900_000


def one_attempt_ms(connect_timeout: float, read_timeout: float) -> int:
    """The longest one PutEvents HTTP attempt can take: a new connection, then the wait for the answer."""
    return round((connect_timeout + read_timeout) * 1000)


class ConfigError(Exception):
    """The function is misconfigured; raised before any record is touched, so Lambda retries the batch."""


def _integer(env: Mapping[str, str], key: str, default: int) -> int:
    value = env.get(key)
    if value is None:
        return default
    try:
        return int(value.strip())
    except ValueError:
        raise ConfigError(f"{key} must be an integer, got {value!r}") from None


def _boolean(env: Mapping[str, str], key: str) -> bool:
    value = env.get(key, "false")
    parsed = BOOLEANS.get(value.strip().lower())
    if parsed is None:
        raise ConfigError(f"{key} must be true or false, got {value!r}")
    return parsed


def user_traits(env: Mapping[str, str]) -> tuple[Column, ...]:
    """USER_TRAITS, read as the job reads --USER_TRAITS: the same spec and source rules. (Personalize's
    schema rules, reserved names included, are deploy's and Personalize's to check, as for the job.)"""
    spec = env.get(USER_TRAITS_VAR, "")
    try:
        columns = validate_sources(parse_columns(spec, USER_TRAITS_VAR), USER_TRAITS_VAR)
    except ValueError as error:
        raise ConfigError(f"invalid Lambda environment: {error}") from None
    keys: dict[str, str] = {}
    for column in columns:
        # PutUsers keys are camel case: LIFETIME_VALUE and lifetimeValue would be one key.
        seen = keys.setdefault(property_key(column.name), column.name)
        if seen != column.name:
            raise ConfigError(
                f"invalid Lambda environment: {USER_TRAITS_VAR}: columns {seen!r} and {column.name!r} are "
                f"the same PutUsers property ({property_key(column.name)!r})"
            )
    return columns


@dataclass(frozen=True)
class StreamSettings:
    tracking_id: str
    mapping: MappingConfig = field(default_factory=MappingConfig)
    # Sessions sent in parallel; botocore's connection pool is sized to match. Each call is ~1 ms of
    # botocore CPU under the GIL and ~20 ms or more of waiting, so more in flight keeps the one core busy:
    # 32 beat 16 by ~10% in bench/bench_stream.py; 64 did not beat 32.
    max_concurrency: int = 32
    # botocore retry mode and total attempts for throttling and transient errors.
    retry_mode: str = "standard"
    max_attempts: int = 5
    connect_timeout: float = CONNECT_TIMEOUT_S
    read_timeout: float = READ_TIMEOUT_S
    # No PutEvents attempt starts, and no retry sleep ends, with less than this left in the invocation
    # (see deadline.py); one attempt plus slack by default.
    deadline_margin_ms: int = one_attempt_ms(CONNECT_TIMEOUT_S, READ_TIMEOUT_S) + DEADLINE_SLACK_MS
    # PUT_USERS=true: identify calls' configured traits go to PutUsers on this Users dataset.
    put_users: bool = False
    user_traits: tuple[Column, ...] = ()
    users_dataset_arn: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> StreamSettings:
        tracking_id = env.get(TRACKING_ID_VAR, "").strip()
        if not tracking_id:
            raise ConfigError(
                f"{TRACKING_ID_VAR} is not set: set it to the Personalize event tracker's tracking ID "
                "(aws personalize describe-event-tracker ... --query eventTracker.trackingId)"
            )
        put_users = _boolean(env, PUT_USERS_VAR)
        traits = user_traits(env)
        dataset_arn = env.get(USERS_DATASET_VAR, "").strip()
        if put_users and not traits:
            raise ConfigError(
                f"{PUT_USERS_VAR}=true needs {USER_TRAITS_VAR}: PutUsers sends only the configured traits, "
                "and there are none (set it to the job's --USER_TRAITS)"
            )
        if put_users and not dataset_arn:
            raise ConfigError(
                f"{PUT_USERS_VAR}=true needs {USERS_DATASET_VAR}: the ARN of the Users dataset PutUsers "
                "writes to (aws personalize list-datasets --dataset-group-arn ...)"
            )
        try:
            mapping = MappingConfig.from_settings(
                env.get("SUPPORTED_EVENTS"),
                env.get("ITEM_ID_FIELD"),
                env.get("EVENT_VALUE_FIELD"),
                env.get("ANONYMOUS_EVENTS"),
            )
            settings = cls(
                tracking_id=tracking_id,
                mapping=mapping,
                max_concurrency=_integer(env, "MAX_CONCURRENCY", cls.max_concurrency),
                retry_mode=env.get("RETRY_MODE", "standard"),
                max_attempts=_integer(env, "MAX_ATTEMPTS", cls.max_attempts),
                deadline_margin_ms=_integer(env, "DEADLINE_MARGIN_MS", cls.deadline_margin_ms),
                put_users=put_users,
                user_traits=traits,
                users_dataset_arn=dataset_arn,
            )
        except ValueError as error:
            raise ConfigError(f"invalid Lambda environment: {error}") from None
        if settings.retry_mode not in RETRY_MODES:
            raise ConfigError(
                f"RETRY_MODE must be one of {', '.join(RETRY_MODES)}, got {settings.retry_mode!r}"
            )
        if not 1 <= settings.max_concurrency <= 64:
            raise ConfigError(f"MAX_CONCURRENCY must be 1..64, got {settings.max_concurrency}")
        if not 1 <= settings.max_attempts <= 10:
            raise ConfigError(f"MAX_ATTEMPTS must be 1..10, got {settings.max_attempts}")
        return settings

    def __post_init__(self) -> None:
        # Checked on construction, not only from the environment: a margin below one attempt would let an
        # attempt started just above it run past the deadline.
        attempt = one_attempt_ms(self.connect_timeout, self.read_timeout)
        if not attempt <= self.deadline_margin_ms <= LONGEST_LAMBDA_TIMEOUT_MS:
            raise ConfigError(
                f"DEADLINE_MARGIN_MS must be {attempt}..{LONGEST_LAMBDA_TIMEOUT_MS} (at least one PutEvents "
                f"attempt: connect + read timeout), got {self.deadline_margin_ms}"
            )
