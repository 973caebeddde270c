"""Reproducible artifacts in build/dist/: the same sources give byte-identical zips.

segment_personalize.zip        the lib/ package, for the Glue job's --extra-py-files
segment_events_to_personalize.py  the Glue entry script
personalize_stream.zip         the Lambda: its package and the pure rules only (no pyspark; boto3 is
                               in the Lambda runtime)
"""

from __future__ import annotations

import argparse
import shutil
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "build" / "dist"
# Fixed metadata: zip entries carry mtimes and modes, which would otherwise differ per checkout.
EPOCH = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o644 << 16

JOB_SCRIPT = ROOT / "jobs" / "segment_events_to_personalize.py"
LIB = ROOT / "lib"
LAMBDA_PACKAGE = ROOT / "lambdas" / "personalize_stream"
LAMBDA_RULES = (
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
)


def _sources(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def write_zip(target: Path, members: dict[str, Path]) -> Path:
    """members: archive name -> source file. Sorted, fixed times and modes, deflated."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name in sorted(members):
            info = zipfile.ZipInfo(name, date_time=EPOCH)
            info.external_attr = FILE_MODE
            info.create_system = 3  # Unix, wherever the build runs: the mode above is a Unix mode
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, members[name].read_bytes(), compresslevel=9)
    return target


def lib_members() -> dict[str, Path]:
    return {str(p.relative_to(LIB)): p for p in _sources(LIB / "segment_personalize")}


def lambda_members() -> dict[str, Path]:
    members = {str(p.relative_to(LAMBDA_PACKAGE.parent)): p for p in _sources(LAMBDA_PACKAGE)}
    members.update({name: LIB / name for name in LAMBDA_RULES})
    return members


def build_lambda(dist: Path = DIST) -> Path:
    return write_zip(dist / "personalize_stream.zip", lambda_members())


def build_glue(dist: Path = DIST) -> list[Path]:
    dist.mkdir(parents=True, exist_ok=True)
    script = dist / JOB_SCRIPT.name
    shutil.copyfile(JOB_SCRIPT, script)
    return [write_zip(dist / "segment_personalize.zip", lib_members()), script]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="build the deployable artifacts")
    parser.add_argument("what", choices=["all", "glue", "lambda"], nargs="?", default="all")
    parser.add_argument("--dist", type=Path, default=DIST)
    args = parser.parse_args(argv)
    built = []
    if args.what in {"all", "glue"}:
        built += build_glue(args.dist)
    if args.what in {"all", "lambda"}:
        built.append(build_lambda(args.dist))
    for path in built:
        print(
            f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}  {path.stat().st_size:,} bytes"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
