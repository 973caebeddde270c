"""docker-compose.yml is valid for both Glue versions (Debian's docker-compose validates it; no Docker
engine needed), and make picks the Glue image from GLUE_VERSION."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = shutil.which("docker-compose")
MAKE = shutil.which("make")
GLUE_5_IMAGE = "public.ecr.aws/glue/aws-glue-libs:5"
# AWS has published no Glue 6.0 image: the 6.0 services run whatever image GLUE_IMAGE names.
OWN_GLUE_6_IMAGE = "registry.example/glue-libs:6.0"

needs_compose = pytest.mark.skipif(
    COMPOSE is None, reason="docker-compose is not installed (apt-get install docker-compose)"
)
needs_make = pytest.mark.skipif(MAKE is None, reason="make is not installed")


def _env(**variables: str | None) -> dict[str, str]:
    # Not inherited from an outer `make test GLUE_VERSION=...`: MAKEFLAGS would pass its overrides on.
    dropped = {"GLUE_IMAGE", "GLUE_VERSION", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES", "MAKELEVEL"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update({k: v for k, v in variables.items() if v is not None})
    return env


def compose(*args: str, **variables: str | None) -> subprocess.CompletedProcess[str]:
    assert COMPOSE is not None
    return subprocess.run(
        [COMPOSE, "-f", str(ROOT / "docker-compose.yml"), *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env=_env(**variables),
    )


def make(*args: str, **variables: str | None) -> subprocess.CompletedProcess[str]:
    assert MAKE is not None
    return subprocess.run(
        [MAKE, "-s", "--no-print-directory", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env=_env(**variables),
    )


def images(config: str) -> set[str]:
    return {
        line.split(":", 1)[1].strip() for line in config.splitlines() if line.strip().startswith("image:")
    }


VERSIONS = [
    pytest.param({"GLUE_VERSION": "5.1", "GLUE_IMAGE": GLUE_5_IMAGE}, GLUE_5_IMAGE, id="5.1"),
    pytest.param({"GLUE_VERSION": "6.0", "GLUE_IMAGE": OWN_GLUE_6_IMAGE}, OWN_GLUE_6_IMAGE, id="6.0"),
    pytest.param({}, GLUE_5_IMAGE, id="plain-docker-compose"),
]


@needs_compose
@pytest.mark.parametrize(("variables", "image"), VERSIONS)
def test_compose_file_validates(variables: dict[str, str], image: str) -> None:
    result = compose("config", "-q", **variables)
    assert result.returncode == 0, result.stderr


@needs_compose
@pytest.mark.parametrize(("variables", "image"), VERSIONS)
def test_every_service_uses_the_glue_image_of_the_version(variables: dict[str, str], image: str) -> None:
    """The Glue image is the only registry pull the setup relies on (the local S3 runs in it too), and
    the services know which Glue version they stand for (the suite checks the image's Spark against it)."""
    config = compose("config", **variables).stdout
    assert images(config) == {image}
    version = variables.get("GLUE_VERSION", "5.1")
    glue_services = ("seed", "glue-job", "glue-tests")
    assert config.count(f"GLUE_VERSION: '{version}'") == len(glue_services), config


@needs_compose
def test_job_service_runs_the_job_script_on_s3a_against_local_s3() -> None:
    config = " ".join(compose("config", GLUE_VERSION="5.1").stdout.split())  # YAML folds long lines
    assert "/home/hadoop/workspace" in config
    for expected in (
        "spark-submit",
        "spark.hadoop.fs.s3a.endpoint=http://s3:5000",
        "spark.hadoop.fs.s3a.path.style.access=true",
        "jobs/segment_events_to_personalize.py",
        "--S3_JSON_INPUT_PATH s3a://segment-local/segment-logs/",
        "service_completed_successfully",
    ):
        assert expected in config, expected


@needs_make
def test_make_takes_the_glue_5_image_for_glue_5_1() -> None:
    result = make("glue-docker-image", GLUE_VERSION="5.1")
    assert (result.returncode, result.stdout) == (0, GLUE_5_IMAGE + "\n")


@needs_make
def test_make_refuses_glue_6_without_an_image_in_one_line() -> None:
    """The default version has no AWS image: the docker targets stop before touching Docker."""
    for variables in ({}, {"GLUE_VERSION": "6.0"}):
        result = make("glue-docker-run", **variables)
        assert result.returncode == 2
        assert result.stdout == ""
        assert result.stderr.splitlines()[0] == (
            "error: AWS publishes no Glue 6.0 docker image yet; use GLUE_VERSION=5.1, "
            "or GLUE_IMAGE=<an image with Glue 6.0> (docs/glue-docker.md)"
        )


@needs_make
def test_make_uses_the_image_given_for_glue_6() -> None:
    result = make("glue-docker-image", GLUE_VERSION="6.0", GLUE_IMAGE=OWN_GLUE_6_IMAGE)
    assert (result.returncode, result.stdout) == (0, OWN_GLUE_6_IMAGE + "\n")
