"""Each Segment line's outcome, as Spark native expressions built from ``rules``: ``classify``.

One row per input line: its drop reason (null when kept) and the mapped fields of a kept event, from a
single parse of the line (parse.py). Identity's inputs (spark/identity.py), and with Users or Items the
trait rows and item property structs (spark/users.py, spark/items.py), ride in the same rows; transform.py
builds the run from them. No action runs here.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from segment_personalize import rules
from segment_personalize.dataset_config import NO_METADATA, DatasetsConfig
from segment_personalize.identity import ALIAS_TYPE, PREVIOUS_ID, AnonymousEvents
from segment_personalize.rules import DropReason, MappingConfig, ProductSkip
from segment_personalize.spark import identity
from segment_personalize.spark.ids import first_usable as _first_usable
from segment_personalize.spark.ids import id_missing as _id_missing
from segment_personalize.spark.ids import id_problem as _id_problem
from segment_personalize.spark.ids import is_blank as _is_blank
from segment_personalize.spark.ids import usable_id as _usable_id
from segment_personalize.spark.items import ITEM_PROPS, order_properties
from segment_personalize.spark.parse import as_text, parse_event, product_fields
from segment_personalize.spark.schema import CORRUPT_RECORD, PROPERTIES_FIELD, scalar_fields
from segment_personalize.spark.sql import Sql, sql_string, then
from segment_personalize.spark.sql import name as _name
from segment_personalize.spark.timestamps import epoch_seconds as _epoch_seconds
from segment_personalize.spark.users import TRAITS
from segment_personalize.spark.values import item_values, render_value
from segment_personalize.users import IDENTIFY_TYPE, TRAITS_FIELD

LINE_COLUMN = "value"  # what spark.read.text produces

# Columns of the classified frame.
REASON, MESSAGE_ID, ANONYMOUS_ID = "drop_reason", "message_id", "anonymous_id"
USER_ID, EVENT_TYPE, TIMESTAMP, ITEM_IDS = "user_id", "event_type", "timestamp", "item_ids"
EVENT_VALUES = "event_values"  # only when a value field is configured: one EVENT_VALUE text per item
IDENTITY = identity.IDENTITY  # only under ANONYMOUS_EVENTS stitch or keep: where USER_ID came from
TRAITS_PENDING = identity.TRAITS_PENDING  # stitch or keep, with a Users dataset: a trait row's user waits
PRODUCT_SKIP_COLUMNS = {skip: f"n_{skip.value}" for skip in ProductSkip}


def _event_type(event: Sql, config: MappingConfig) -> Sql:
    """config.event_type: the Segment name, or the type it is renamed to."""
    if not config.renames:
        return event
    branches = " ".join(f"WHEN {sql_string(name)} THEN {sql_string(to)}" for name, to in config.renames)
    return f"CASE {event} {branches} ELSE {event} END"


def _missing_or_invalid(problem: Sql, missing: DropReason, invalid: DropReason) -> Sql:
    return _reason_if(f"{problem} = 'missing'", missing, invalid)


def _reason_if(condition: Sql, then: DropReason, otherwise: DropReason) -> Sql:
    return f"CASE WHEN {condition} THEN {sql_string(then.value)} ELSE {sql_string(otherwise.value)} END"


def _field(name: str) -> Sql:
    return _name(f"_f_{name}")


def classify(lines: DataFrame, config: MappingConfig, datasets: DatasetsConfig = NO_METADATA) -> DataFrame:
    """One row per input line: drop_reason (null when kept) and the mapped fields of kept events.

    With a Users dataset, an identify call that can describe a user (spark/users.py) is a *trait row*:
    its TRAITS, TIMESTAMP and USER_ID are set (its drop_reason stays not_track). With an Items dataset, a
    kept event's ITEM_PROPS holds each item's property source, parallel to ITEM_IDS (spark/items.py).
    """
    items = [_name(item) for item in config.item_id_fields]
    # rules.BOM: a copy of the line only where one opens it (Hadoop already skips one opening a file).
    bom = sql_string(rules.BOM)
    lines = lines.selectExpr(
        f"CASE WHEN startswith({_name(LINE_COLUMN)}, {bom}) THEN substring({_name(LINE_COLUMN)}, 2)"
        f" ELSE {_name(LINE_COLUMN)} END AS {_name(LINE_COLUMN)}"
    )
    frame = lines.select(F.col(LINE_COLUMN), parse_event(F.col(LINE_COLUMN), config, datasets).alias("_n"))
    line, parsed = _name(LINE_COLUMN), "_n"
    fits = f"({parsed} IS NOT NULL AND {parsed}.{CORRUPT_RECORD} IS NULL)"
    frame = then(
        frame,
        done=(LINE_COLUMN,),
        _fits=fits,
        _blank=f"NOT {fits} AND {_is_blank(line)}",
        _t=f"CASE WHEN NOT {fits} THEN {as_text(line, config, datasets)} END",
    )
    read_props = f"{parsed}.{PROPERTIES_FIELD}"

    def fitted(read: Sql, as_text_field: str) -> Sql:
        return f"CASE WHEN _fits THEN {read} ELSE _t.{as_text_field} END"

    products = f"{read_props}.{rules.PRODUCTS_FIELD}"
    value_field = config.event_value_field
    value_texts: dict[str, Sql] = {}
    if value_field is not None:
        value_texts = {
            "_top_value": fitted(f"{read_props}.{_name(value_field)}", "top_value"),
            "_product_values": fitted(f"{products}.{_name(value_field)}", "product_values"),
        }
    if datasets.items:
        # The item properties are picked after the lambda stage (spark/items.py), from the parsed
        # properties and, for lines that did not fit, the text path's: picked here, they pushed this
        # codegen stage past what HotSpot compiles (test_every_codegen_stage_can_be_jit_compiled).
        value_texts["_props"] = read_props  # only where the line fits (_t IS NULL): read so below
    if datasets.users:
        value_texts["_traits"] = f"{parsed}.{TRAITS_FIELD}"  # the same: picked below
    frame = then(
        frame,
        # The text path's struct stays for what is picked after the lambda stage (null on most lines).
        done=("_n",) if datasets.users or datasets.items else ("_n", "_t"),
        **value_texts,
        _corrupt="NOT _fits AND _t.corrupt",
        _top_item=fitted(_first_usable([f"{read_props}.{item}" for item in items]), "top_item"),
        # products[].<item> of an array of structs: a plain field extraction, no lambda needed for one field.
        _items=fitted(
            f"{products}.{items[0]}"
            if len(items) == 1
            else f"transform({products}, p -> {_first_usable([f'p.{i}' for i in items])})",
            "product_items",
        ),
        **{f"_f_{name}": fitted(f"{parsed}.{_name(name)}", _name(name)) for name in scalar_fields(config)},
    )
    events = ", ".join(sql_string(event) for event in config.supported_events)
    stitching = config.anonymous_events is not AnonymousEvents.DROP
    frame = then(
        frame,
        done=("_f_type", "_fits"),
        **({"_alias": f"{_field('type')} <=> {sql_string(ALIAS_TYPE)}"} if stitching else {}),
        **({"_identify": f"{_field('type')} <=> {sql_string(IDENTIFY_TYPE)}"} if datasets.users else {}),
        _user_problem=_id_problem(_field("userId")),
        _raw_time="coalesce(" + ", ".join(_field(name) for name in rules.TIMESTAMP_FIELDS) + ")",
        _not_an_event=f"CASE WHEN _blank THEN {sql_string(DropReason.BLANK_LINE.value)}"
        f" WHEN _corrupt THEN {sql_string(DropReason.CORRUPT_RECORD.value)}"
        f" WHEN NOT ({_field('type')} <=> {sql_string(rules.TRACK_TYPE)})"
        f" THEN {sql_string(DropReason.NOT_TRACK.value)}"
        f" WHEN NOT coalesce({_field('event')} IN ({events}), false)"
        f" THEN {sql_string(DropReason.UNSUPPORTED_EVENT.value)} END",
    )
    time_fields = tuple(f"_f_{name}" for name in rules.TIMESTAMP_FIELDS)
    user_reason = _missing_or_invalid("_user_problem", DropReason.MISSING_USER_ID, DropReason.INVALID_USER_ID)
    user_check = "_user_problem IS NOT NULL"
    identity_inputs: dict[str, Sql] = {}
    if stitching:
        # A missing userId waits for the anonymousId's verdict, made after the lambda stage: the id checks
        # of anonymousId and previousId would push this codegen stage past what HotSpot compiles
        # (test_every_codegen_stage_can_be_jit_compiled). Such calls pay for the item and timestamp
        # checks meanwhile; without an anonymousId they are rare.
        user_check = "_user_problem <=> 'invalid'"
        identity_inputs = {
            "_parsed": "NOT _blank AND NOT _corrupt",
            "_missing_user": "_user_problem <=> 'missing'",
            "_user_ok": "_user_problem IS NULL",
        }
    # Drop reasons up to the user id: only the calls that pass them pay for items and timestamps. With a
    # Users dataset, the trait rows' checks (in the last projection) still read _corrupt and _user_problem.
    frame = then(
        frame,
        done=("_blank", "_not_an_event", *time_fields)
        + (() if datasets.users else ("_corrupt", "_user_problem")),
        **identity_inputs,
        _early=f"coalesce(_not_an_event, CASE WHEN {user_check} THEN {user_reason} END)",
    )
    traits_time = " OR _identify" if datasets.users else ""
    frame = then(
        frame,
        done=("_items",),
        _product_items="CASE WHEN _early IS NULL THEN _items END",
        _top_problem=f"CASE WHEN _early IS NULL THEN {_id_problem('_top_item')} END",
    )
    # The one stage with lambdas (they run outside whole-stage codegen, so they share one projection).
    # Such a projection is compiled on its own and split into methods, so the timestamp's parse is here
    # too: in the codegen stage before it, it left no room under HotSpot's limit for the Users and Items
    # columns (test_every_codegen_stage_can_be_jit_compiled).
    frame = then(
        frame,
        _seconds=f"CASE WHEN _early IS NULL{traits_time} THEN {_epoch_seconds('_raw_time')} END",
        _listed=f"filter(_product_items, i -> ({_id_problem('i')}) IS NULL)",
        _n_missing=f"size(filter(_product_items, i -> {_id_missing('i')}))",
    )
    frame = then(
        frame,
        _order_items="array_distinct(_listed)",
        _n_invalid="size(_product_items) - size(_listed) - _n_missing",
    )
    if value_field is not None or datasets.items:
        values = {"_order_values": item_values("_order_items", "_product_items", "_product_values")}
        product_props = "CASE WHEN _t IS NULL THEN _props.products ELSE _t.product_props END"
        props = {"_order_props": order_properties("_order_items", "_product_items", product_props)}
        frame = then(
            frame,
            done=(*(["_product_values"] if value_field else []),),
            **(values if value_field is not None else {}),
            **(props if datasets.items else {}),
        )
    missing_user = ""
    if stitching:
        # Identity (spark/identity.py): the usable anonymousId and an alias call's usable previousId, then
        # the anonymous events (identity.py), whose user settle finds; every parsed call's userId may link.
        frame = then(
            frame,
            done=(f"_f_{PREVIOUS_ID}", "_alias"),
            _anon=_usable_id(_field("anonymousId")),
            **{identity.PREVIOUS: f"CASE WHEN _alias THEN {_usable_id(_field(PREVIOUS_ID))} END"},
        )
        frame = then(
            frame,
            done=("_parsed", "_user_ok"),
            **{
                identity.PENDING: "_early IS NULL AND _missing_user AND _anon IS NOT NULL",
                identity.LINK_USER: f"CASE WHEN _parsed AND _user_ok THEN {_field('userId')} END",
            },
        )
        missing_user = (
            f" WHEN _missing_user AND _anon IS NULL THEN {sql_string(DropReason.MISSING_USER_ID.value)}"
        )
    item_reason = _reason_if("_n_invalid > 0", DropReason.INVALID_ITEM_ID, DropReason.MISSING_ITEM_ID)
    top_reason = _missing_or_invalid("_top_problem", DropReason.MISSING_ITEM_ID, DropReason.INVALID_ITEM_ID)
    reason = (
        f"coalesce(_early, CASE{missing_user}"
        f" WHEN _product_items IS NOT NULL AND size(_order_items) = 0 THEN {item_reason}"
        f" WHEN _product_items IS NULL AND _top_problem IS NOT NULL THEN {top_reason}"
        f" WHEN _raw_time IS NULL THEN {sql_string(DropReason.MISSING_TIMESTAMP.value)}"
        f" WHEN _seconds IS NULL THEN {sql_string(DropReason.INVALID_TIMESTAMP.value)} END)"
    )
    frame = then(frame, **{REASON: reason})
    skips = {
        ProductSkip.MISSING_ITEM_ID: "_n_missing",
        ProductSkip.INVALID_ITEM_ID: "_n_invalid",
        ProductSkip.DUPLICATE_ITEM_ID: "size(_listed) - size(_order_items)",
    }
    kept = f"{_name(REASON)} IS NULL"
    kept_order = f"{kept} AND _product_items IS NOT NULL"
    values_column = (
        []
        if value_field is None
        else [
            f"CASE WHEN {kept} THEN coalesce(_order_values, array({render_value('_top_value')}))"
            f" END AS {EVENT_VALUES}"
        ]
    )
    trait_user = trait_row = "false"
    metadata_columns = []
    if datasets.users:
        # spark/users.py: an identify call with a traits object, a usable userId (or, stitching, none and a
        # usable anonymousId) and a valid timestamp describes a user. Checked here, after the lambda
        # stage, for the same JIT limit as the identity columns.
        traits = "CASE WHEN _t IS NULL THEN _traits ELSE _t.traits END"
        described = f"_identify AND NOT _corrupt AND ({traits}) IS NOT NULL AND _seconds IS NOT NULL"
        trait_user = trait_row = f"({described} AND _user_problem IS NULL)"
        if stitching:
            waiting = f"({described} AND _user_problem <=> 'missing' AND _anon IS NOT NULL)"
            trait_row = f"({trait_user} OR {waiting})"
            metadata_columns.append(f"{waiting} AS {TRAITS_PENDING}")
        metadata_columns.append(f"CASE WHEN {trait_row} THEN {traits} END AS {TRAITS}")
    if datasets.items:
        top_props = (
            f"CASE WHEN _t IS NOT NULL THEN _t.top_props"
            f" WHEN _props IS NOT NULL THEN {product_fields('_props', config, datasets)} END"
        )
        metadata_columns.append(
            f"CASE WHEN {kept} THEN coalesce(_order_props, array({top_props})) END AS {ITEM_PROPS}"
        )
    if stitching:
        # Every row's anonymousId (a link needs it, kept or not); a pending row has no user yet.
        anonymous_id = "_anon"
        user_id = f"CASE WHEN ({kept} AND NOT {identity.PENDING}) OR {trait_user} THEN {_field('userId')} END"
        identity_columns = list(identity.CLASSIFY_COLUMNS)
    else:
        anonymous_id = f"CASE WHEN {kept} THEN {_usable_id(_field('anonymousId'))} END"
        user_id = f"CASE WHEN {kept} OR {trait_user} THEN {_field('userId')} END"
        identity_columns = []
    return frame.selectExpr(
        _name(REASON),
        f"CASE WHEN {kept} THEN {_usable_id(_field('messageId'))} END AS {MESSAGE_ID}",
        f"{anonymous_id} AS {ANONYMOUS_ID}",
        f"{user_id} AS {USER_ID}",
        f"CASE WHEN {kept} THEN {_event_type(_field('event'), config)} END AS {EVENT_TYPE}",
        f"CASE WHEN {kept} OR {trait_row} THEN _seconds END AS {_name(TIMESTAMP)}",
        f"CASE WHEN {kept} THEN coalesce(_order_items, array(_top_item)) END AS {ITEM_IDS}",
        *(
            f"CASE WHEN {kept_order} THEN {count} ELSE 0 END AS {PRODUCT_SKIP_COLUMNS[skip]}"
            for skip, count in skips.items()
        ),
        *values_column,
        *identity_columns,
        *metadata_columns,
    )
