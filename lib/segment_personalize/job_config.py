"""Job parameters -> a frozen JobConfig, parsed once at the edge with Glue's own argument parser."""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from segment_personalize.dataset_config import NO_METADATA, DatasetsConfig
from segment_personalize.identity import DEFAULT_ANONYMOUS_EVENTS
from segment_personalize.personalize_schema import schema_files
from segment_personalize.rules import DEFAULT_SUPPORTED_EVENTS, MappingConfig

REQUIRED = ("JOB_NAME", "S3_JSON_INPUT_PATH", "S3_CSV_OUTPUT_PATH")
OPTIONAL_DEFAULTS = {
    "SUPPORTED_EVENTS": ",".join(DEFAULT_SUPPORTED_EVENTS),
    "ITEM_ID_FIELD": "sku",
    "SINGLE_FILE": "false",
    "RUN_REPORT_PATH": "",
    # Off unless given; given, it must name a field (an empty value is an error, not "off").
    "EVENT_VALUE_FIELD": "",
    "ANONYMOUS_EVENTS": DEFAULT_ANONYMOUS_EVENTS.value,
    # The Users and Items datasets (dataset_config.py): none unless their columns are given; their
    # folders default to users/ and items/ beside the interactions folder.
    "USER_TRAITS": "",
    "ITEM_PROPERTIES": "",
    "USERS_OUTPUT_PATH": "",
    "ITEMS_OUTPUT_PATH": "",
    # The dataset group's domain the schemas are written for: empty (custom) or ECOMMERCE.
    "PERSONALIZE_DOMAIN": "",
}
BOOKMARK_ENABLED = "job-bookmark-enable"
_TRUE, _FALSE = {"true", "1", "yes"}, {"false", "0", "no"}


class ConfigError(Exception):
    """Bad job parameters; the message is meant for the person running the job."""


@dataclass(frozen=True)
class JobConfig:
    job_name: str
    input_path: str
    output_path: str
    report_path: str
    single_file: bool
    mapping: MappingConfig
    bookmarks: bool = False
    raw_args: tuple[tuple[str, str], ...] = ()
    datasets: DatasetsConfig = NO_METADATA
    users_output_path: str = ""  # set when datasets.users
    items_output_path: str = ""  # set when datasets.items

    def outputs(self) -> dict[str, str]:
        """Dataset name (spark/publish.py's) -> output folder, the interactions first."""
        outputs = {"interactions": self.output_path}
        if self.datasets.users:
            outputs["users"] = self.users_output_path
        if self.datasets.items:
            outputs["items"] = self.items_output_path
        return outputs

    def schema_files(self) -> dict[str, str]:
        """{path: JSON text}: the Personalize schema of each dataset, beside the outputs."""
        return schema_files(self.output_path, self.datasets.schemas(self.mapping))

    def describe(self) -> dict[str, object]:
        metadata = self.datasets
        return {
            "job_name": self.job_name,
            "input_path": self.input_path,
            "output_path": self.output_path,
            "report_path": self.report_path,
            "single_file": self.single_file,
            "supported_events": list(self.mapping.supported_events),
            "event_types": {name: self.mapping.event_type(name) for name in self.mapping.supported_events},
            "item_id_field": self.mapping.item_id_field,
            "event_value_field": self.mapping.event_value_field,
            "anonymous_events": self.mapping.anonymous_events.value,
            "bookmarks": self.bookmarks,
            **({"user_traits": [c.name for c in metadata.user_traits]} if metadata.users else {}),
            **({"users_output_path": self.users_output_path} if metadata.users else {}),
            **({"item_properties": [c.name for c in metadata.item_properties]} if metadata.items else {}),
            **({"items_output_path": self.items_output_path} if metadata.items else {}),
            **({"personalize_domain": metadata.domain} if metadata.domain else {}),
        }


def _bool(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigError(f"--{name} must be true or false, got {value!r}")


def _reject_abbreviations(argv: list[str]) -> None:
    """Glue 6.0's getResolvedOptions refuses a prefix of a parameter name; 5.1's takes it for the name.
    Refused here on both, with the name it stood for, so a job's parameters work on either version."""
    known = (*REQUIRED, *OPTIONAL_DEFAULTS)
    for token in argv:
        name = token[2:].split("=", 1)[0] if token.startswith("--") else ""
        meant = [full for full in known if name and full != name and full.startswith(name)]
        if meant and name not in known:
            spelled = " or ".join("--" + full for full in meant)
            raise ConfigError(f"--{name} is not a job parameter: write {spelled} in full")


def _normalise(path: str) -> str:
    """A comparable form: scheme-less paths are local and made absolute; trailing slashes dropped."""
    if "://" in path:
        scheme, rest = path.split("://", 1)
        scheme = {"s3a": "s3", "s3n": "s3"}.get(scheme, scheme)
        return f"{scheme}://{posixpath.normpath(rest)}"
    local = path[len("file:") :] if path.startswith("file:") else path
    return "file://" + str(Path(local).resolve())


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _check_paths(input_path: str, output_path: str, report_path: str) -> None:
    source, target, report = _normalise(input_path), _normalise(output_path), _normalise(report_path)
    # The output folder is replaced on every run: it must never hold, or sit in, the input.
    if _inside(source, target):
        raise ConfigError(f"the output path {output_path} contains the input path {input_path}")
    if _inside(target, source):
        raise ConfigError(f"the output path {output_path} is inside the input path {input_path}")
    if _inside(report, target):
        raise ConfigError(f"the run report path {report_path} is inside the CSV output folder")
    if _inside(report, source):
        raise ConfigError(f"the run report path {report_path} is inside the input path")


def _local(path: str) -> Path | None:
    """The local path, or None for a path on another file system (s3://, hdfs://)."""
    if path.startswith("file:"):
        return Path(unquote(urlparse(path).path)).absolute()
    return None if "://" in path else Path(path).absolute()


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _writable(folder: Path) -> bool:
    return os.access(folder, os.W_OK | os.X_OK)


def check_local_paths(config: JobConfig) -> None:
    """Faults of local output and report paths, found before Spark starts (S3: publish.preflight).

    The run is staged beside the output folder and then replaces it, so the folder and its parent must
    be writable; the report is a file, replaced beside whatever is there. Then every output folder and
    published file together (check_output_paths).
    """
    _check_local_folder(config.output_path, "output")
    report = _local(config.report_path)
    if report is not None:
        if report.is_dir():
            raise ConfigError(f"the run report path {config.report_path} is a folder; it must be a file")
        beside = _nearest_existing(report.parent)
        if not _writable(beside):
            raise ConfigError(f"cannot write the run report: {beside} is not writable")
    check_output_paths(config.input_path, config.outputs(), config.report_path, config.schema_files())


def _sibling(output_path: str, name: str) -> str:
    """``x/interactions/`` -> ``x/<name>``: a folder beside the interactions folder."""
    parent = posixpath.dirname(output_path.rstrip("/"))
    return f"{parent}/{name}" if parent else name


def parse_job_args(argv: list[str]) -> JobConfig:
    """sys.argv (as Glue passes it: ``--NAME value`` pairs) -> JobConfig."""
    from awsglue.utils import GlueArgumentError, getResolvedOptions

    _reject_abbreviations(argv)
    present = [name for name in OPTIONAL_DEFAULTS if f"--{name}" in argv]
    try:
        args = getResolvedOptions(argv, [*REQUIRED, *present])
    except GlueArgumentError as error:
        raise ConfigError(
            f"{error}; required job parameters: {', '.join('--' + r for r in REQUIRED)}"
        ) from None
    values = {name: args.get(name) or default for name, default in OPTIONAL_DEFAULTS.items()}

    input_path, output_path = args["S3_JSON_INPUT_PATH"], args["S3_CSV_OUTPUT_PATH"]
    if not input_path.strip() or not output_path.strip():
        raise ConfigError("--S3_JSON_INPUT_PATH and --S3_CSV_OUTPUT_PATH must not be empty")
    report_path = values["RUN_REPORT_PATH"] or output_path.rstrip("/") + ".report.json"
    _check_paths(input_path, output_path, report_path)
    try:
        mapping = MappingConfig.from_settings(
            values["SUPPORTED_EVENTS"],
            values["ITEM_ID_FIELD"],
            args.get("EVENT_VALUE_FIELD") if "EVENT_VALUE_FIELD" in present else None,
            values["ANONYMOUS_EVENTS"],
        )
        datasets = DatasetsConfig.from_settings(
            mapping, values["USER_TRAITS"], values["ITEM_PROPERTIES"], values["PERSONALIZE_DOMAIN"]
        )
    except ValueError as error:
        raise ConfigError(str(error)) from None
    folders = {
        name: (values[f"{name.upper()}_OUTPUT_PATH"] or _sibling(output_path, name)) if wanted else ""
        for name, wanted in (("users", datasets.users), ("items", datasets.items))
    }
    for name, wanted in (("users", datasets.users), ("items", datasets.items)):
        if values[f"{name.upper()}_OUTPUT_PATH"] and not wanted:
            setting = "--USER_TRAITS" if name == "users" else "--ITEM_PROPERTIES"
            raise ConfigError(
                f"--{name.upper()}_OUTPUT_PATH is given but {setting} is not: no {name} to write"
            )
    return JobConfig(
        job_name=args["JOB_NAME"],
        input_path=input_path,
        output_path=output_path,
        report_path=report_path,
        single_file=_bool("SINGLE_FILE", values["SINGLE_FILE"]),
        mapping=mapping,
        bookmarks=args.get("job_bookmark_option") == BOOKMARK_ENABLED,
        raw_args=tuple((k, str(v)) for k, v in sorted(args.items()) if v is not None),
        datasets=datasets,
        users_output_path=folders["users"],
        items_output_path=folders["items"],
    )


# -- several outputs (interactions, users, items) and the files published with them --------------------
STAGING_INFIX = ".staging-"  # spark/publish.py stages a run in <interactions output>.staging-<run id>/


def check_output_paths(
    input_path: str,
    outputs: Mapping[str, str],
    report_path: str,
    files: Iterable[str] = (),
) -> None:
    """Every output folder, the report and the extra files of one run, checked before Spark starts.

    ``outputs``: dataset name -> output folder, the ``interactions`` one included (the staging folder
    sits beside it); ``files``: the other files published with the run (the schema JSON files). On any
    file system: no output holds or sits in the input, no two outputs overlap, none is inside the
    staging folders, and the report and files are inside no output folder nor the input, each its own
    path. Local paths are also checked on disk, as ``check_local_paths`` does (a folder, writable, and
    writable beside it). Raises ConfigError naming the dataset and path.
    """
    source = _normalise(input_path)
    named = [(name, path, _normalise(path)) for name, path in outputs.items()]
    anchor = _normalise(outputs["interactions"]) if "interactions" in outputs else None
    for index, (name, path, folder) in enumerate(named):
        what = f"the {name} output path {path}"
        if _inside(source, folder):
            raise ConfigError(f"{what} contains the input path {input_path}")
        if _inside(folder, source):
            raise ConfigError(f"{what} is inside the input path {input_path}")
        if anchor is not None and folder.startswith(anchor + STAGING_INFIX):
            raise ConfigError(f"{what} is inside the staging folders of the interactions output")
        for other_name, other_path, other in named[:index]:
            if folder == other:
                raise ConfigError(f"{what} is also the {other_name} output path")
            if _inside(folder, other) or _inside(other, folder):
                pairs = ((name, path), (other_name, other_path))
                (inner, inner_path), (outer, outer_path) = pairs if _inside(folder, other) else pairs[::-1]
                raise ConfigError(
                    f"the {inner} output folder {inner_path} is inside the {outer} output folder {outer_path}"
                )
    published = [("the run report path", report_path), *(("the published file", f) for f in files)]
    seen: dict[str, str] = {}
    for what, path in published:
        target = _normalise(path)
        if target in seen:
            raise ConfigError(f"{what} {path} is also {seen[target]}")
        seen[target] = f"{what} {path}"
        if _inside(target, source):
            raise ConfigError(f"{what} {path} is inside the input path")
        for name, _, folder in named:
            if _inside(target, folder):
                raise ConfigError(f"{what} {path} is inside the {name} output folder")
    for name, path, _ in named:
        _check_local_folder(path, f"{name} output")
    for what, path in published:
        _check_local_file(path, what)


def _check_local_folder(path: str, label: str) -> None:
    """A local folder the run replaces: not a file, writable, and so is what it sits in (``label``:
    "output", "users output", ...)."""
    folder = _local(path)
    if folder is None:
        return
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"the {label} path {path} is a file; it must be a folder")
    if folder.is_dir() and not _writable(folder):
        raise ConfigError(f"the {label} folder {path} is not writable")
    beside = _nearest_existing(folder.parent)
    if not _writable(beside):
        raise ConfigError(f"cannot write beside the {label} folder: {beside} is not writable")


def _check_local_file(path: str, what: str) -> None:
    file = _local(path)
    if file is None:
        return
    if file.is_dir():
        raise ConfigError(f"{what} {path} is a folder; it must be a file")
    beside = _nearest_existing(file.parent)
    if not _writable(beside):
        raise ConfigError(f"cannot write {what} {path}: {beside} is not writable")
