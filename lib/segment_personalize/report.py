"""The run report: every input line accounted for, and Personalize's training minimums checked."""

from __future__ import annotations

import json
from typing import Any

from segment_personalize.rules import DropReason, ProductSkip

# Amazon Personalize will not train on less: 1000 interactions, 25 users with 2+ interactions each.
MIN_INTERACTIONS = 1000
MIN_USERS_WITH_TWO = 25


def build_report(
    *,
    job: dict[str, Any],
    files: dict[str, Any],
    line_counts: dict[str, int],
    dedupe_counts: dict[str, int],
    output: dict[str, Any],
) -> dict[str, Any]:
    dropped = {r.value: int(line_counts.get(r.value, 0)) for r in DropReason}
    kept_before = int(line_counts.get("kept_before_dedupe", 0))
    kept = int(dedupe_counts.get("kept_events", 0))
    dropped[DropReason.DUPLICATE_MESSAGE_ID.value] = kept_before - kept
    input_lines = int(line_counts.get("input_lines", 0))
    output_rows = int(dedupe_counts.get("output_rows", 0))
    checks = {
        "interactions": {
            "required": MIN_INTERACTIONS,
            "actual": output["rows"],
            "ok": output["rows"] >= MIN_INTERACTIONS,
        },
        "users_with_2_or_more_interactions": {
            "required": MIN_USERS_WITH_TWO,
            "actual": output["users_with_2_or_more"],
            "ok": output["users_with_2_or_more"] >= MIN_USERS_WITH_TWO,
        },
    }
    return {
        "job": job,
        "files": files,
        "input_lines": input_lines,
        "kept_events": kept,
        "dropped": dropped,
        "product_skips": {s.value: int(line_counts.get(s.value, 0)) for s in ProductSkip},
        "output_rows": output_rows,
        **(
            {"rows_without_value": int(dedupe_counts["rows_without_value"])}
            if "rows_without_value" in dedupe_counts
            else {}
        ),
        **({"identity": _identity(line_counts, dedupe_counts, job)} if "anonymous_events" in job else {}),
        "output": output,
        "accounting": {
            "lines_balance": input_lines == kept + sum(dropped.values()),
            "rows_match_written": output_rows == output["rows"],
        },
        "personalize_minimums": {**checks, "ok": all(c["ok"] for c in checks.values())},
    }


def _identity(
    line_counts: dict[str, int], dedupe_counts: dict[str, int], job: dict[str, Any]
) -> dict[str, Any]:
    """How USER_ID was found (identity.py): kept events stitched to a user or kept under their own
    anonymousId (both after de-duplication), and the anonymousIds linked to several users."""
    return {
        "anonymous_events": job["anonymous_events"],
        "stitched_events": int(dedupe_counts.get("stitched_events", 0)),
        "anonymous_kept_events": int(dedupe_counts.get("anonymous_kept_events", 0)),
        "ambiguous_anonymous_ids": int(line_counts.get("ambiguous_anonymous_ids", 0)),
    }


def format_report(report: dict[str, Any]) -> str:
    """A human summary for the job log; the JSON file has everything."""
    out, files = report["output"], report["files"]
    lines = [
        "Segment -> Personalize run report",
        f"  input files      {files.get('data_files', '?')} read, {files.get('skipped_files', '?')} skipped",
        f"  input lines      {report['input_lines']}",
        f"  kept events      {report['kept_events']}",
    ]
    if "identity" in report:
        identity = report["identity"]
        lines.append(
            f"  identity         {identity['anonymous_events']}: {identity['stitched_events']} stitched, "
            f"{identity['anonymous_kept_events']} kept anonymous, "
            f"{identity['ambiguous_anonymous_ids']} ambiguous anonymousIds"
        )
    for reason, count in report["dropped"].items():
        if count:
            lines.append(f"  dropped          {count:>8}  {reason}")
    for skip, count in report["product_skips"].items():
        if count:
            lines.append(f"  product skipped  {count:>8}  {skip}")
    lines += [
        f"  output rows      {report['output_rows']} in {len(out['files'])} file(s)",
        f"  output folder    {report['job']['output_path']}",
        f"  distinct users   {out['distinct_users']} ({out['users_with_2_or_more']} with 2+ interactions)",
        f"  distinct items   {out['distinct_items']}",
    ]
    for name, what in (("users", "user"), ("items", "item")):
        if name in report:
            section = report[name]
            filled = ", ".join(f"{column} {count}" for column, count in section["filled"].items())
            share = section["share_with_metadata"]
            lines.append(
                f"  {name:<16} {section['rows']} rows ({filled} filled); "
                f"{section['interactions_with_metadata']}/{section['interactions']} interactions' {what}s "
                f"have one ({'-' if share is None else f'{share:.1%}'}); "
                f"{section['values_not_fitting']} values did not fit"
            )
            lines.append(f"  {name + ' folder':<16} {section['output_path']}")
    minimums = report["personalize_minimums"]
    verdict = "OK" if minimums["ok"] else "NOT MET"
    lines.append(
        f"  Personalize minimums {verdict}: {out['rows']}/{MIN_INTERACTIONS} interactions, "
        f"{out['users_with_2_or_more']}/{MIN_USERS_WITH_TWO} users with 2+ interactions"
    )
    accounting = report["accounting"]
    if not all(accounting.values()):
        lines.append(f"  ACCOUNTING MISMATCH: {json.dumps(accounting)}")
    return "\n".join(lines)
