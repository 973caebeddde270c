"""Identity stitching as Spark native expressions, built from ``segment_personalize.identity``.

``classify.classify`` marks each line's part in identity: ``_pending`` for an anonymous event (a
supported call whose user check waits on the run's links), ``_user`` (its usable userId), the usable
``anonymous_id``, and ``_previous`` for an alias call's previousId. ``settle`` then gives every pending
row its user in one shuffle: a window over the rows of each anonymousId (links and pending events
together) takes the least and the greatest linked userId -- equal, they are the stitch target; different,
the anonymousId is ambiguous. The input is not read again: the links ride in the same rows.

With a Users dataset, an anonymous identify call's trait row (``_traits_pending``, spark/users.py) gets
its user the same way; its drop_reason stays not_track.

Only under ANONYMOUS_EVENTS stitch or keep; under drop, the plan has none of this.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Observation

from segment_personalize.identity import AnonymousEvents
from segment_personalize.outcomes import DropReason, Identity, ProductSkip
from segment_personalize.spark.sql import sql_string, total
from segment_personalize.spark.users import TRAITS

Sql = str
REASON, ANONYMOUS_ID, USER_ID = "drop_reason", "anonymous_id", "user_id"
IDENTITY = "identity"  # a kept event's outcomes.Identity
PENDING, LINK_USER, PREVIOUS = "_pending", "_user", "_previous"
# The columns classify adds for settle, which settle reads for the last time.
CLASSIFY_COLUMNS = (PENDING, LINK_USER, PREVIOUS)
TRAITS_PENDING = "_traits_pending"
AMBIGUOUS_IDS = "ambiguous_anonymous_ids"
PENDING_KEPT = "pending_kept"


def relevant(columns: list[str] | None = None) -> Sql:
    """The rows settle needs: kept ones, pending ones, those that make a link, and trait rows (when
    ``columns``, the classified frame's, have them)."""
    links = f"{LINK_USER} IS NOT NULL AND ({ANONYMOUS_ID} IS NOT NULL OR {PREVIOUS} IS NOT NULL)"
    traits = f" OR {TRAITS} IS NOT NULL" if columns is not None and TRAITS in columns else ""
    return f"{REASON} IS NULL OR {PENDING} OR ({links}){traits}"


def settle(
    rows: DataFrame, mode: AnonymousEvents, counts: Observation, skip_columns: dict[ProductSkip, str]
) -> DataFrame:
    """Classified rows -> the same rows, pending ones with their user (or anonymous_user), link-only copies
    gone; ``counts`` gets the pending rows' outcomes and the ambiguous anonymousIds."""
    assert mode is not AnonymousEvents.DROP
    # An alias call links its previousId too: one more row, keyed by it. A row can sit in one window only.
    key = (
        f"explode(CASE WHEN {PREVIOUS} IS NOT NULL AND {LINK_USER} IS NOT NULL"
        f" AND NOT ({PREVIOUS} <=> {ANONYMOUS_ID}) THEN array({ANONYMOUS_ID}, {PREVIOUS})"
        f" ELSE array({ANONYMOUS_ID}) END) AS _key"
    )
    traits = TRAITS in rows.columns
    names = [f"`{c}`" for c in rows.columns if c not in (PREVIOUS,)]
    keyed = rows.selectExpr(*names, key)
    # Rows without an anonymousId (kept calls of identified users) share no window: spread them by user,
    # or they would all meet in one task.
    window = f"PARTITION BY _key, CASE WHEN _key IS NULL THEN {USER_ID} END ORDER BY _key"
    whole = f"({window} ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)"
    link = f"CASE WHEN _key IS NOT NULL THEN {LINK_USER} END"
    windowed = keyed.selectExpr(
        *names,
        "_key",
        f"min({link}) OVER {whole} AS _least",
        f"max({link}) OVER {whole} AS _greatest",
        f"row_number() OVER ({window}) AS _nth",
    )
    target = "CASE WHEN _least = _greatest THEN _least END"
    anonymous_user = sql_string(DropReason.ANONYMOUS_USER.value)
    stitched, anonymous, user = (
        sql_string(i.value) for i in (Identity.STITCHED, Identity.ANONYMOUS, Identity.USER)
    )
    waits = f"({PENDING} OR {TRAITS_PENDING})" if traits else PENDING
    if mode is AnonymousEvents.STITCH:
        reason = f"CASE WHEN {PENDING} AND ({target}) IS NULL THEN {anonymous_user} ELSE {REASON} END"
        user_id = f"CASE WHEN {waits} THEN {target} ELSE {USER_ID} END"
        identity = f"CASE WHEN {PENDING} THEN {stitched} ELSE {user} END"
    else:
        reason = REASON
        user_id = f"CASE WHEN {waits} THEN coalesce({target}, {ANONYMOUS_ID}) ELSE {USER_ID} END"
        settled_as = f"CASE WHEN ({target}) IS NULL THEN {anonymous} ELSE {stitched} END"
        identity = f"CASE WHEN NOT {PENDING} THEN {user} ELSE {settled_as} END"
    others = [n for n in names if n.strip("`") not in (REASON, USER_ID, PENDING, LINK_USER, TRAITS_PENDING)]
    settled = windowed.selectExpr(
        *others,
        f"{reason} AS {REASON}",
        f"{user_id} AS {USER_ID}",
        f"{identity} AS {IDENTITY}",
        f"{PENDING}",
        "_key IS NOT NULL AND _nth = 1 AND _least <> _greatest AS _first_ambiguous",
        # The original row of an alias call is the one keyed by its anonymousId.
        f"_key <=> {ANONYMOUS_ID} AS _original",
    )
    settled = settled.observe(counts, *pending_metrics(skip_columns))
    kept_names = [n for n in settled.columns if n not in (PENDING, "_first_ambiguous", "_original")]
    # A link-only row (dropped for its own reason, not pending) has done its work.
    trait_rows = f" OR {TRAITS} IS NOT NULL" if traits else ""
    return settled.where(f"_original AND ({REASON} IS NULL OR {PENDING}{trait_rows})").select(*kept_names)


def pending_metrics(skip_columns: dict[ProductSkip, str]) -> list[Column]:
    """The pending rows' final outcomes (classify's line counts leave them out) and the ambiguous ids."""
    pending = f"_original AND {PENDING}"
    per_reason = [
        total(f"CASE WHEN {pending} AND {REASON} = {sql_string(r.value)} THEN 1 ELSE 0 END", r.value)
        for r in DropReason
        if r is not DropReason.DUPLICATE_MESSAGE_ID
    ]
    skips = [
        total(f"CASE WHEN {pending} AND {REASON} IS NULL THEN {column} ELSE 0 END", skip.value)
        for skip, column in skip_columns.items()
    ]
    return [
        total(f"CASE WHEN {pending} AND {REASON} IS NULL THEN 1 ELSE 0 END", PENDING_KEPT),
        *per_reason,
        *skips,
        total("CASE WHEN _first_ambiguous THEN 1 ELSE 0 END", AMBIGUOUS_IDS),
    ]
