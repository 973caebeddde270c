"""docker-compose.yml is valid (Debian's docker-compose validates it; no Docker engine needed)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = shutil.which("docker-compose")

pytestmark = pytest.mark.skipif(
    COMPOSE is None, reason="docker-compose is not installed (apt-get install docker-compose)"
)


def compose(*args: str) -> subprocess.CompletedProcess[str]:
    assert COMPOSE is not None
    return subprocess.run(
        [COMPOSE, "-f", str(ROOT / "docker-compose.yml"), *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )


def test_compose_file_validates() -> None:
    result = compose("config", "-q")
    assert result.returncode == 0, result.stderr


def test_job_service_runs_the_job_script_on_s3a_against_local_s3() -> None:
    config = " ".join(compose("config").stdout.split())  # YAML folds long lines
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


def test_every_service_uses_the_glue_image() -> None:
    """The Glue image is the only registry pull the setup relies on (the local S3 runs in it too)."""
    images = {
        line.split(":", 1)[1].strip()
        for line in compose("config").stdout.splitlines()
        if line.strip().startswith("image:")
    }
    assert images == {"public.ecr.aws/glue/aws-glue-libs:5"}
