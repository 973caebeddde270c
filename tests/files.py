"""Input files for the job's tests, written as Segment's S3 destination writes them."""

from __future__ import annotations

import gzip
from pathlib import Path


def write_gz(path: Path, lines: list[str]) -> None:
    """Gzipped newline-delimited lines, parent folders created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def write_truncated_gz(path: Path, lines: list[str]) -> None:
    """A .gz cut in half, as an interrupted upload leaves it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = gzip.compress(("\n".join(lines) + "\n").encode("utf-8"))
    path.write_bytes(data[: len(data) // 2])


def snapshot(output: Path, report: Path) -> dict[str, bytes]:
    """Every byte of an output folder and its report, by name (a missing one is absent)."""
    found = {}
    if output.is_dir():
        found.update({f"{output.name}/{p.name}": p.read_bytes() for p in sorted(output.iterdir())})
    elif output.exists():
        found[output.name] = output.read_bytes()
    if report.exists():
        found[report.name] = report.read_bytes()
    return found


def leftovers(output: Path) -> list[str]:
    """What the job left beside the output folder besides the folder and its report."""
    keep = {output.name, output.name + ".report.json", output.name + ".schema.json"}
    return sorted(
        p.name for p in output.parent.iterdir() if p.name.startswith(output.name) and p.name not in keep
    )
