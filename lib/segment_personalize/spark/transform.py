"""Segment lines -> Personalize interactions (and Users and Items), as Spark native expressions.

``classify`` (classify.py) gives every input line its outcome (a drop reason, or the mapped fields);
``transform`` adds identity's settling, the run-wide messageId de-duplication, the products[] expansion
and the Users and Items datasets. Neither runs an action: the counts for the run report ride along as
``Observation``s, collected by whatever action writes the output, so the input is read exactly once.
The counts are exact for an action that runs the plan once, as a write does; a global sort would not
(its sampling job runs the plan a second time).
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, Observation
from pyspark.sql import functions as F

from segment_personalize import rules
from segment_personalize.dataset_config import NO_METADATA, DatasetsConfig
from segment_personalize.identity import AnonymousEvents
from segment_personalize.rules import CSV_HEADER, DropReason, MappingConfig
from segment_personalize.spark import identity
from segment_personalize.spark.classify import (
    EVENT_TYPE,
    EVENT_VALUES,
    IDENTITY,
    ITEM_IDS,
    MESSAGE_ID,
    PRODUCT_SKIP_COLUMNS,
    REASON,
    TIMESTAMP,
    USER_ID,
    classify,
)
from segment_personalize.spark.items import item_rows, latest_items
from segment_personalize.spark.metadata import MetadataOutput
from segment_personalize.spark.sql import name as _name
from segment_personalize.spark.sql import sql_string, total
from segment_personalize.spark.users import TRAITS, latest_users, user_rows


def dedupe(kept: DataFrame) -> DataFrame:
    """One event per messageId, the smallest by rules.dedupe_key; events without a messageId all stay."""
    # A null messageId must not group with other nulls: give each such row a key of its own.
    own_key = F.expr(f"CASE WHEN {MESSAGE_ID} IS NULL THEN monotonically_increasing_id() END")
    # rules.dedupe_key: the values, when there are any, come after the item ids.
    values = f", {EVENT_VALUES}" if EVENT_VALUES in kept.columns else ""
    # rules.dedupe_key: then where the user came from, when identity is stitched.
    source = f", {IDENTITY}" if IDENTITY in kept.columns else ""
    chosen = F.expr(
        f"min(struct({_name(TIMESTAMP)}, {USER_ID}, {EVENT_TYPE}, {ITEM_IDS}{values}{source})) AS chosen"
    )
    return kept.groupBy(F.col(MESSAGE_ID), own_key.alias("_own_key")).agg(chosen).select("chosen.*")


def to_interactions(events: DataFrame) -> DataFrame:
    """Expand each event's items into rows with Personalize's column names, in CSV_HEADER order."""
    user, item, event_type, ts = CSV_HEADER
    if EVENT_VALUES in events.columns:
        # Each item with its own value: the arrays are parallel.
        return events.selectExpr(
            f"{USER_ID} AS {user}",
            f"explode(arrays_zip({ITEM_IDS}, {EVENT_VALUES})) AS _z",
            f"{EVENT_TYPE} AS {event_type}",
            f"{_name(TIMESTAMP)} AS {ts}",
        ).selectExpr(
            user,
            f"_z.{ITEM_IDS} AS {item}",
            event_type,
            ts,
            f"_z.{EVENT_VALUES} AS {rules.EVENT_VALUE_COLUMN}",
        )
    return events.selectExpr(
        f"{USER_ID} AS {user}",
        f"explode({ITEM_IDS}) AS {item}",
        f"{EVENT_TYPE} AS {event_type}",
        f"{_name(TIMESTAMP)} AS {ts}",
    )


@dataclass(frozen=True)
class Transformed:
    interactions: DataFrame
    line_counts: Observation  # input_lines, kept_before_dedupe, each DropReason but duplicates, product skips
    dedupe_counts: Observation  # kept_events, output_rows, stitched_events, anonymous_kept_events
    # Stitch or keep only: the pending rows' outcomes (line_counts leaves them out), ambiguous anonymousIds.
    identity_counts: Observation | None = None
    users: MetadataOutput | None = None  # with a Users dataset
    items: MetadataOutput | None = None  # with an Items dataset
    cached: DataFrame | None = None  # what the three writes share

    def metadata(self) -> dict[str, MetadataOutput]:
        """The Users and Items datasets to write, by dataset name (spark/publish.py's)."""
        outputs = {"users": self.users, "items": self.items}
        return {name: output for name, output in outputs.items() if output is not None}

    def release(self) -> None:
        if self.cached is not None:
            self.cached.unpersist()

    def counts(self) -> tuple[dict[str, int], dict[str, int]]:
        """(line counts, dedupe counts), with the pending rows' outcomes; only after the write's action."""
        lines = dict(self.line_counts.get)
        if self.identity_counts is not None:
            pending = self.identity_counts.get
            for name, count in pending.items():
                if name == identity.PENDING_KEPT:
                    lines["kept_before_dedupe"] = lines.get("kept_before_dedupe", 0) + count
                elif name == identity.AMBIGUOUS_IDS:
                    lines[name] = count
                else:
                    lines[name] = lines.get(name, 0) + count
        return lines, dict(self.dedupe_counts.get)


def line_metrics(config: MappingConfig | None = None) -> list[Column]:
    reason = _name(REASON)
    # A pending row's outcome is known only once settled: identity.pending_metrics counts it.
    settled = (
        ""
        if config is None or config.anonymous_events is AnonymousEvents.DROP
        else f" AND NOT {identity.PENDING}"
    )
    per_reason = [
        total(f"CASE WHEN {reason} = {sql_string(r.value)}{settled} THEN 1 ELSE 0 END", r.value)
        for r in DropReason
        if r is not DropReason.DUPLICATE_MESSAGE_ID
    ]
    skips = [
        total(f"CASE WHEN TRUE{settled} THEN {column} ELSE 0 END" if settled else column, skip.value)
        for skip, column in PRODUCT_SKIP_COLUMNS.items()
    ]
    return [
        F.expr("count(1) AS input_lines"),
        total(f"CASE WHEN {reason} IS NULL{settled} THEN 1 ELSE 0 END", "kept_before_dedupe"),
        *per_reason,
        *skips,
    ]


def dedupe_metrics(config: MappingConfig | None = None) -> list[Column]:
    metrics = [F.expr("count(1) AS kept_events"), total(f"size({ITEM_IDS})", "output_rows")]
    if config is not None and config.event_value_field is not None:
        # Output rows whose EVENT_VALUE cell is empty: the field was absent or not a usable value.
        metrics.append(total(f"size(filter({EVENT_VALUES}, v -> v IS NULL))", "rows_without_value"))
    if config is not None and config.anonymous_events is not AnonymousEvents.DROP:
        for name, source in (("stitched_events", "stitched"), ("anonymous_kept_events", "anonymous")):
            metrics.append(total(f"CASE WHEN {IDENTITY} = {sql_string(source)} THEN 1 ELSE 0 END", name))
    return metrics


def transform(lines: DataFrame, config: MappingConfig, datasets: DatasetsConfig = NO_METADATA) -> Transformed:
    """Lines (a ``value`` string column) -> interactions (and the Users and Items datasets configured),
    with the report's counts attached."""
    line_counts = Observation("line_counts")
    dedupe_counts = Observation("dedupe_counts")
    # Besides counting, the Observation keeps the filter below out of the classification: Spark pushes a
    # filter through projections (inlining every alias, the parse included) but not through one. A
    # test pins it.
    classified = classify(lines, config, datasets).observe(line_counts, *line_metrics(config))
    wanted = f"{REASON} IS NULL" + (f" OR {TRAITS} IS NOT NULL" if datasets.users else "")
    if config.anonymous_events is AnonymousEvents.DROP:
        rows, identity_counts = classified.where(wanted), None
    else:
        identity_counts = Observation("identity_counts")
        settled = identity.settle(
            classified.where(identity.relevant(classified.columns)),
            config.anonymous_events,
            identity_counts,
            PRODUCT_SKIP_COLUMNS,
        )
        rows = settled.where(wanted)
    cached = None
    if datasets.users or datasets.items:
        # Three outputs, one read of the input: the rows they come from are kept (memory, spilling to
        # disk) by the first write, the interactions', which also collects the line counts; the Users
        # and Items writes read them back. Released by Transformed.release.
        rows = cached = rows.persist(StorageLevel.MEMORY_AND_DISK)
    kept = rows.where(F.col(REASON).isNull()) if datasets.users else rows
    events = dedupe(kept).observe(dedupe_counts, *dedupe_metrics(config))
    users = latest_users(user_rows(rows), datasets.user_traits) if datasets.users else None
    items = latest_items(item_rows(kept), datasets.item_properties) if datasets.items else None
    return Transformed(
        to_interactions(events), line_counts, dedupe_counts, identity_counts, users, items, cached
    )
