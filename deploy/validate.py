"""Deploy's values through the Glue job's and the Lambda's own parsers, before anything is called.

The job arguments and the Lambda environment are built by the same functions the requests use
(deploy.plan.job_arguments, lambda_environment) and parsed by the job's parse_job_args and the Lambda's
StreamSettings.from_env, so a parameter either side adds or tightens is checked here with no change.

Their messages speak of job parameters and environment variables; each is traced back to the deploy
keys responsible by re-checking with one key at a time on top of a baseline both sides accept.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import MISSING, fields, replace
from itertools import chain
from pathlib import Path
from typing import Any

from deploy.config import DEFAULT_PATH, ConfigError, DeployConfig, load_config
from deploy.personalize import personalize_plan
from deploy.plan import job_arguments, lambda_environment, with_tracking_placeholder

LAMBDAS = Path(__file__).resolve().parent.parent / "lambdas"
# Keys with no default get these in the baseline: values both parsers accept, unrelated to each other.
BASELINE = {
    "input_path": "s3://deploy-baseline/segment-logs/",
    "output_path": "s3://deploy-baseline/transformed/interactions/",
    "tracking_id": "deploy-baseline",
    # So that put_users alone is no refusal: PutUsers needs traits and a Users dataset (the Lambda's
    # checks), and _blame then names whichever of the two the config lacks.
    "user_traits": "baseline_trait",
    "users_dataset_arn": "arn:aws:personalize:us-east-1:000000000000:dataset/deploy-baseline/USERS",
}

Refusal = Callable[[DeployConfig], "str | None"]


def job_argv(job_name: str, arguments: Mapping[str, str]) -> list[str]:
    """sys.argv as Glue hands it to the script: --JOB_NAME and every argument as a `--KEY value` pair."""
    return [
        "segment_events_to_personalize.py",
        "--JOB_NAME",
        job_name,
        *chain.from_iterable(arguments.items()),
    ]


def job_refusal(job_name: str, arguments: Mapping[str, str]) -> str | None:
    """What the job's own parser says about these arguments, or None if it accepts them."""
    from segment_personalize.job_config import ConfigError as JobConfigError
    from segment_personalize.job_config import parse_job_args

    try:
        parse_job_args(job_argv(job_name, arguments))
    except JobConfigError as error:
        return str(error)
    return None


def _stream_settings() -> tuple[Any, type[Exception]]:
    # The Lambda imports as `personalize_stream` from lambdas/, as in its zip; a plain `python -m deploy`
    # from the checkout does not have lambdas/ on the path.
    if importlib.util.find_spec("personalize_stream") is None:
        sys.path.append(str(LAMBDAS))
    from personalize_stream.settings import ConfigError as StreamConfigError
    from personalize_stream.settings import StreamSettings

    return StreamSettings, StreamConfigError


def glue_job_refusal(config: DeployConfig) -> str | None:
    return job_refusal(config.job_name, job_arguments(config))


def lambda_refusal(config: DeployConfig) -> str | None:
    settings, error_type = _stream_settings()
    try:
        wired = with_tracking_placeholder(config)
    except ConfigError:
        # No tracking id and no dataset group (a trial of _blame's): personalize_plan's own line says so.
        return None
    try:
        settings.from_env(lambda_environment(wired))
    except error_type as error:
        return str(error)
    return None


SIDES: tuple[tuple[str, Refusal], ...] = (("the Glue job", glue_job_refusal), ("the Lambda", lambda_refusal))


def baseline(config: DeployConfig) -> DeployConfig:
    """Every key at its default, BASELINE for the rest: what both sides accept (a test holds it)."""
    defaults = {f.name: f.default for f in fields(config) if f.default is not MISSING}
    return replace(config, **(defaults | {k: v for k, v in BASELINE.items() if hasattr(config, k)}))


def _blame(config: DeployConfig, base: DeployConfig, refusal: Refusal) -> dict[tuple[str, ...], str]:
    """{deploy keys responsible: the side's message} for every refusal of config by one side."""
    if refusal(config) is None:
        return {}
    differing = [f.name for f in fields(config) if getattr(config, f.name) != getattr(base, f.name)]
    found: dict[tuple[str, ...], str] = {}
    # A key refused on its own.
    for key in differing:
        if message := refusal(replace(base, **{key: getattr(config, key)})):
            found[(key,)] = message
    # Keys refused together (an output path inside the input path): with the lone culprits set back,
    # set back every key the refusal does not need; what is left is responsible.
    rest = replace(config, **{key: getattr(base, key) for (key,) in found})
    if refusal(rest) is not None:
        for key in differing:
            trial = replace(rest, **{key: getattr(base, key)})
            if refusal(trial) is not None:
                rest = trial
        keys = tuple(k for k in differing if getattr(rest, k) != getattr(base, k))
        found[keys] = refusal(rest) or ""
    return found


def refusals(config: DeployConfig) -> list[str]:
    """One line per problem, naming the deploy keys and the side(s) that would refuse them."""
    base = baseline(config)
    problems: list[str] = []
    by_keys: dict[tuple[str, ...], tuple[list[str], str]] = {}
    for side, refusal in SIDES:
        # Refused even at the baseline: no key is to blame, deploy itself does not set what the side
        # now needs (a new required parameter), so every deploy would be broken.
        if message := refusal(base):
            problems.append(f"{side} would refuse what deploy sets, whatever the config: {message}")
            continue
        for keys, message in _blame(config, base, refusal).items():
            by_keys.setdefault(keys, ([], message))[0].append(side)
    for keys, (sides, message) in by_keys.items():
        values = ", ".join(f"{key} = {getattr(config, key)!r}" for key in keys)
        problems.append(f"{values}: {message} ({' and '.join(sides)} would refuse it)")
    return problems


def load_deployable(path: Path = DEFAULT_PATH, env: Mapping[str, str] = os.environ) -> DeployConfig:
    """The config, each key checked on its own, then as the job and the Lambda will read it."""
    config = load_config(path, env)
    problems = refusals(config)
    if config.put_users and not config.user_traits.strip() and lambda_refusal(config) is None:
        # Said here only while the Lambda's own parser does not say it.
        problems.append(
            "put_users = true needs user_traits: PutUsers sends only the configured traits, and there are "
            "none"
        )
    try:
        personalize_plan(config)
    except ConfigError as error:
        # The Users / Items schemas are checked by the job's own parser too (dataset_config.py): a
        # problem it already refused is said once, in its words.
        refused = "\n".join(problems)
        problems.extend(p for p in error.problems if p.split(": ", 1)[-1] not in refused)
    if problems:
        raise ConfigError(*dict.fromkeys(problems))
    return config
