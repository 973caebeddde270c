"""Input files for the job's tests, written as Segment's S3 destination writes them."""

from __future__ import annotations

import gzip
from pathlib import Path


def write_gz(path: Path, lines: list[str]) -> None:
    """Gzipped newline-delimited lines, parent folders created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
