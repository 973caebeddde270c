"""The Lambda's configuration: read once from the environment, at the edge."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from segment_personalize.rules import MappingConfig

TRACKING_ID_VAR = "PERSONALIZE_TRACKING_ID"
RETRY_MODES = ("standard", "adaptive")


class ConfigError(Exception):
    """The function is misconfigured; raised before any record is touched, so Lambda retries the batch."""


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
    connect_timeout: float = 2.0
    read_timeout: float = 5.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> StreamSettings:
        tracking_id = env.get(TRACKING_ID_VAR, "").strip()
        if not tracking_id:
            raise ConfigError(
                f"{TRACKING_ID_VAR} is not set: set it to the Personalize event tracker's tracking ID "
                "(aws personalize describe-event-tracker ... --query eventTracker.trackingId)"
            )
        try:
            mapping = MappingConfig.from_settings(env.get("SUPPORTED_EVENTS"), env.get("ITEM_ID_FIELD"))
            settings = cls(
                tracking_id=tracking_id,
                mapping=mapping,
                max_concurrency=int(env.get("MAX_CONCURRENCY", str(cls.max_concurrency))),
                retry_mode=env.get("RETRY_MODE", "standard"),
                max_attempts=int(env.get("MAX_ATTEMPTS", "5")),
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
