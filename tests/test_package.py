"""The artifacts: reproducible, and the Lambda zip holds the handler and the pure rules only."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

from deploy.package import build_glue, build_lambda


def test_builds_are_byte_identical(tmp_path: Path) -> None:
    first = [p.read_bytes() for p in [*build_glue(tmp_path / "a"), build_lambda(tmp_path / "a")]]
    second = [p.read_bytes() for p in [*build_glue(tmp_path / "b"), build_lambda(tmp_path / "b")]]
    assert first == second


def test_lambda_zip_has_exactly_the_handler_and_rules(tmp_path: Path) -> None:
    path = build_lambda(tmp_path)
    names = zipfile.ZipFile(path).namelist()
    assert names == sorted(names)
    assert [n for n in names if not n.startswith("personalize_stream/")] == [
        "segment_personalize/__init__.py",
        "segment_personalize/event_types.py",
        "segment_personalize/identity.py",
        "segment_personalize/ids.py",
        "segment_personalize/json_lines.py",
        "segment_personalize/metadata.py",
        "segment_personalize/outcomes.py",
        "segment_personalize/personalize_schema.py",
        "segment_personalize/rules.py",
        "segment_personalize/timestamps.py",
        "segment_personalize/users.py",
        "segment_personalize/values.py",
    ]
    assert {"personalize_stream/handler.py", "personalize_stream/sender.py"} <= set(names)
    sources = [zipfile.ZipFile(path).read(n).decode() for n in names]
    assert not any(re.search(r"^\s*(from|import) pyspark", text, re.MULTILINE) for text in sources)
    assert path.stat().st_size < 1_000_000  # far below Lambda's 50 MB direct-upload limit


def test_lambda_zip_imports_on_its_own(tmp_path: Path) -> None:
    """Only the zip (and boto3, as in the Lambda runtime) on the path: the handler must import."""
    path = build_lambda(tmp_path)
    code = (
        "import sys; sys.path[:0] = [sys.argv[1]]; "
        "import personalize_stream.handler as h, segment_personalize.rules as r; "
        "assert 'pyspark' not in sys.modules; print(h.handler.__module__, r.__file__.startswith(sys.argv[1]))"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", code, str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["personalize_stream.handler", "True"]


def test_glue_zip_carries_the_whole_package(tmp_path: Path) -> None:
    archive, script = build_glue(tmp_path)
    names = zipfile.ZipFile(archive).namelist()
    assert "segment_personalize/spark/transform.py" in names and "segment_personalize/pipeline.py" in names
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    assert script.name == "segment_events_to_personalize.py"
