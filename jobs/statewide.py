"""The statewide job: DOJ extract -> validated, annotated Delta table per county.

Runs from the CLI (``relief run``) or directly under spark-submit::

    spark-submit --py-files dist/relief.zip --files conf/... jobs/statewide.py \\
        --input /data/doj/*.csv.gz --warehouse /data/relief

Wiring only: extract (read and fingerprint inputs), transform (the pure functions of
transforms/), load (stage Parquet with Spark, commit with delta-rs, record the ledger).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import to_arrow_schema
from pyspark.sql.types import StructType

from relief.expectations.runner import (
    SuiteResult,
    critical_failure_message,
    summarize,
    validate,
    validate_together,
)
from relief.jobs import __version__
from relief.jobs.audit import validation_page
from relief.jobs.config import ConfigError, Guards, load_counties, load_guards
from relief.jobs.config.offenses import load_offenses
from relief.jobs.config.policies import PolicySet, load_policy_set
from relief.jobs.runtime import faults
from relief.jobs.runtime.progress import Progress, fmt_count
from relief.jobs.runtime.spark import JavaMissingError, build_session, storage_conf
from relief.jobs.warehouse import fs, ledger
from relief.jobs.warehouse.access import (
    AccessError,
    AccessSettings,
    load_access,
    owner_only,
    resolve_groups,
    secure_warehouse,
)
from relief.jobs.warehouse.county_files import FACTS_RANGE, write_county_files
from relief.jobs.warehouse.fs import StorePath
from relief.jobs.warehouse.inputs import (
    InputError,
    InputFile,
    LineStats,
    describe_inputs,
    expand_inputs,
    read_staged,
    run_ingest_pass,
    staged_file,
    staged_row_count,
)
from relief.jobs.warehouse.lock import WarehouseLocked, warehouse_lock
from relief.jobs.warehouse.publication import Publication, publication, shrink_message
from relief.jobs.warehouse.recovery import recover, roll_back_tables
from relief.jobs.warehouse.storage import (
    LocationError,
    Warehouse,
    WarehouseUnwritable,
    append_rows,
    check_writable,
    commit_files,
    parquet_rows,
    remove_staging,
    staged_parquet_files,
    staged_partitions,
)
from relief.jobs.warehouse.validation import record_evidence
from relief.transforms import conservation, ingest
from relief.transforms.columns import (
    CNT_ORDER,
    COMMENT_TEXT,
    CONV_STAT_DESCR,
    COUNTY_SLUG,
    DISP_DATE,
    DISP_DESCR,
    INPUT_INDEX,
    OFFENSE_DESCR,
    OFFENSE_TOC,
    OFN,
    PRI_DOB,
    RACE_DESCR,
    RECORD_ID,
    SENT_LENGTH,
    SENT_TIME_CODE,
    SOURCE_FILE,
    SOURCE_LINE,
    STP_EVENT_DATE,
    STP_ORI_CNTY_NAME,
    STP_TYPE_DESCR,
    SUBJECT_ID,
    TARGET_COUNTY,
)
from relief.transforms.eligibility import apply_policies
from relief.transforms.history import fan_out_to_counties, history_facts, prop64_subject_rows
from relief.transforms.ingest import LOCAL_LINE, RANGE_ID
from relief.transforms.normalize import normalize
from relief.transforms.offenses import Offenses
from relief.transforms.summary import county_summary
from relief.transforms.vocabulary import Counties, UnknownCounty


class UsageError(Exception):
    """Bad arguments, inputs or configuration: exit code 2, nothing written."""


class RunFailed(Exception):
    """The run started but could not publish its results: exit code 1."""


class ValidationFailed(RunFailed):
    """A critical expectation failed: nothing was committed (runs status failed_validation)."""


@dataclass
class RunOptions:
    inputs: str | list[str]
    warehouse: Path | str  # a local folder or a URI (s3a://, gs://, abfss://, hdfs://)
    compute_at: dt.date = field(default_factory=dt.date.today)
    counties: list[str] | None = None
    master: str | None = None
    conf: dict[str, str] = field(default_factory=dict)
    policy_dir: Path | None = None
    eligibility_options: Path | None = None
    force: bool = False
    allow_shrink: bool = False  # publish tables that keep < shrink_min_share of their rows


@dataclass
class Prepared:
    """Everything validated before Spark starts."""

    files: list[InputFile]
    counties: Counties
    offenses: Offenses
    policies: PolicySet
    targets: list[str] | None  # county slugs requested, None = all
    access: AccessSettings = field(default_factory=AccessSettings)  # conf/access.yaml
    guards: Guards = field(default_factory=Guards)  # pipeline.yaml relief:


# Ages and "years since" are measured at compute-at: a date outside this range is a typo
# (0005-01-01), and date arithmetic on it fails deep inside a run.
COMPUTE_AT_MIN = dt.date(1900, 1, 1)
COMPUTE_AT_MAX = dt.date(2200, 12, 31)


def check_compute_at(day: dt.date) -> None:
    if not COMPUTE_AT_MIN <= day <= COMPUTE_AT_MAX:
        raise UsageError(
            f"--compute-at {day.isoformat()}: out of range; give the day ages are measured at, "
            f"between {COMPUTE_AT_MIN.isoformat()} and {COMPUTE_AT_MAX.isoformat()}"
        )


def prepare(options: RunOptions) -> Prepared:
    """Validate inputs and configuration; raise UsageError with a message for people."""
    check_compute_at(options.compute_at)
    try:
        counties = load_counties()
        offenses = load_offenses()
        targets = None
        if options.counties:
            targets = []
            for name in options.counties:
                try:
                    targets.append(counties.require(name).slug)
                except UnknownCounty as exc:
                    raise UsageError(f"--counties: {exc}") from None
        policies = load_policy_set(
            counties, policy_dir=options.policy_dir, options_file=options.eligibility_options
        )
        files = describe_inputs(expand_inputs(options.inputs))
        access = load_access(known_slugs=set(counties.by_slug()))
        guards = load_guards()
        if fs.is_local(str(options.warehouse)):
            resolve_groups(access)  # a missing group or membership: exit 2, nothing written
    except (ConfigError, InputError, AccessError) as exc:
        raise UsageError(str(exc)) from exc
    return Prepared(files, counties, offenses, policies, targets, access, guards)


# --- transform ----------------------------------------------------------------------------


class StagedIngest(NamedTuple):
    """What the ingest stage staged: the lines, their counts, and the files fingerprinted."""

    lines: DataFrame  # kept and quarantined lines (transforms/ingest.py with_provenance)
    stats: LineStats
    files: list[InputFile]  # as given, with the fingerprints the ingest pass computed
    ranges: list[tuple[int, str, int, int, str]]  # per byte range (IngestPass.ranges)
    directory: str  # the staged Parquet files, one per range (inputs.staged_file)


def stage_ingest(
    spark: SparkSession, files: list[InputFile], directory: Path | StorePath
) -> StagedIngest:
    """Read, classify, parse and fingerprint the inputs once, into staged Parquet under
    ``directory`` (jobs/warehouse/inputs.py: one Spark task per byte range).

    Counts, quarantine and the pipeline then read the staged Parquet. Raises InputError for
    an input that cannot be read, is given twice or holds no rows.
    """
    done = run_ingest_pass(spark, files, str(directory))
    return StagedIngest(
        read_staged(spark, str(directory), done),
        done.stats,
        done.files,
        done.ranges,
        str(directory),
    )


# The raw columns the transform reads (normalize, history, eligibility, the screen) and the
# line key: the narrow query reads only these, the county files get the others from the
# staged rows (jobs/warehouse/county_files.py).
FACT_INPUTS = (
    SUBJECT_ID,
    CNT_ORDER,
    STP_TYPE_DESCR,
    RACE_DESCR,
    STP_ORI_CNTY_NAME,
    PRI_DOB,
    STP_EVENT_DATE,
    DISP_DATE,
    OFFENSE_DESCR,
    COMMENT_TEXT,
    DISP_DESCR,
    CONV_STAT_DESCR,
    OFFENSE_TOC,
    SENT_LENGTH,
    SENT_TIME_CODE,
    OFN,
    RECORD_ID,
    INPUT_INDEX,
    SOURCE_LINE,
)
LINE_KEY = (INPUT_INDEX, SOURCE_LINE)


def annotate_steps(
    rows: DataFrame, prepared: Prepared, compute_at: dt.date, carry: tuple[str, ...] = ()
) -> dict[str, DataFrame]:
    """The transform cut after each of its steps, in order; the last is the facts of
    :func:`annotate_facts`.

    Runs on the narrow rows (FACT_INPUTS and ``carry``). Only rows of subjects who may have
    a Prop 64 conviction are normalized (a cheap screen on the raw rows first): the others
    can reach no county table. ``make bench`` times the cuts one by one.
    """
    narrow = rows.select(*FACT_INPUTS, *[c for c in carry if c not in FACT_INPUTS])
    candidates = prop64_subject_rows(narrow, prepared.counties, prepared.offenses)
    normalized = normalize(candidates, prepared.counties, prepared.offenses)
    history = normalized.transform(history_facts).transform(fan_out_to_counties)
    if prepared.targets is not None:
        history = history.where(F.col(TARGET_COUNTY).isin(prepared.targets))
    eligible = apply_policies(
        history, prepared.policies.by_county, prepared.policies.default, compute_at
    )
    raw = [c for c in narrow.columns if c not in (*LINE_KEY, *carry)]
    facts = eligible.drop(*raw)
    return {"screen_and_normalize": normalized, "history": history, "eligibility": facts}


def annotate_facts(
    rows: DataFrame, prepared: Prepared, compute_at: dt.date, carry: tuple[str, ...] = ()
) -> DataFrame:
    """Kept extract rows -> the *facts* of each county table row: the line key
    (INPUT_INDEX, SOURCE_LINE), the ``carry`` columns, then every column the transform adds
    (normalized, history, TARGET_COUNTY, determinations), one row per line and county. The
    raw columns stay out: a county table row is the line's raw columns + its facts."""
    return annotate_steps(rows, prepared, compute_at, carry)["eligibility"]


def with_facts(rows: DataFrame, facts: DataFrame, carry: tuple[str, ...] = ()) -> DataFrame:
    """Kept rows joined with their facts: the rows of every county table (TARGET_COUNTY)."""
    added = [c for c in facts.columns if c not in (*LINE_KEY, *carry)]
    return rows.join(facts.drop(*carry), list(LINE_KEY), "inner").select(*rows.columns, *added)


def annotate(rows: DataFrame, prepared: Prepared, compute_at: dt.date) -> DataFrame:
    """Kept extract rows -> rows of each county table, with determinations (the logical
    transform; the job joins the facts to the rows in jobs/warehouse/county_files.py)."""
    return with_facts(rows, annotate_facts(rows, prepared, compute_at))


def validate_extract(
    spark: SparkSession,
    input_spec: str | list[str],
    counties: Counties,
    offenses: Offenses,
) -> list[SuiteResult]:
    """Run the raw and normalized suites on an extract; write nothing to any table.

    Raises relief.jobs.warehouse.inputs.InputError for a missing or unreadable input (bad usage,
    exit 2). Lines ingest would quarantine are left out, as in a run: the suites see kept rows.
    """
    files = describe_inputs(expand_inputs(input_spec))
    with tempfile.TemporaryDirectory(prefix="relief-validate-") as work:
        staged = stage_ingest(spark, files, Path(work) / "ingested")
        raw = ingest.kept_rows(staged.lines)
        # normalize keeps every raw column unchanged: one projection of the normalized rows
        # serves both suites, so the staged rows are read once.
        normalized = normalize(raw, counties, offenses)
        minimum = load_guards().min_kept_rows(staged.stats.rows_read)
        return validate_together(
            normalized,
            ["raw", "normalized"],
            schemas={"raw": raw},
            parameters={"raw_min_kept_rows": minimum},
        )


# --- the run ------------------------------------------------------------------------------


# Spark settings that change what a run writes (others only change how fast): part of the
# run key.
RESULT_SETTINGS = ("spark.sql.session.timeZone", "spark.sql.ansi.enabled")


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def run_key_parts(
    prepared: Prepared,
    compute_at: dt.date,
    files: list[InputFile],
    settings: Mapping[str, str],
) -> dict[str, Any]:
    """Everything that changes a run's output, part by part (the ledger keeps them, so a run
    can say what changed since the published one)."""
    return {
        "inputs": [f.fingerprint for f in sorted(files, key=lambda f: f.index)],
        "policies": prepared.policies.hashes(prepared.targets),
        "offenses": _sha256(prepared.offenses.model_dump_json()),
        "counties": _sha256(json.dumps(_county_vocabulary(prepared.counties), sort_keys=True)),
        "settings": dict(sorted(settings.items())),
        "compute_at": compute_at.isoformat(),
        "counties_requested": prepared.targets,
        "relief": __version__,
    }


def _county_vocabulary(counties: Counties) -> list[dict[str, Any]]:
    """What of counties.yaml decides results: names (DOJ spelling), slugs, codes. The
    population only weights the synthetic extract."""
    return [c.model_dump(include={"name", "slug", "code"}) for c in counties.counties]


def run_key(parts: Mapping[str, Any]) -> str:
    """Identity of a run's result: same key -> same tables (idempotence)."""
    return _sha256(json.dumps(parts, sort_keys=True))


KEY_PART_NAMES = {
    "inputs": "the input files",
    "policies": "the policies",
    "offenses": "offenses.yaml",
    "counties": "counties.yaml",
    "settings": "result-affecting Spark settings",
    "compute_at": "compute-at",
    "counties_requested": "the counties requested",
    "relief": "the relief version",
}


def changed_parts(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    return [name for key, name in KEY_PART_NAMES.items() if before.get(key) != after.get(key)]


def result_settings(spark: SparkSession) -> dict[str, str]:
    return {key: str(spark.conf.get(key)) for key in RESULT_SETTINGS}


def ingested_files(prepared: Prepared, staged: StagedIngest) -> list[InputFile]:
    """The inputs with the fingerprints the ingest pass computed (distributed block hashes;
    ``prepare`` leaves them empty). The run key is computed from these, after ingest."""
    files = list(staged.files or prepared.files)
    missing = [f.path for f in files if not f.fingerprint]
    if missing:
        raise RunFailed(f"ingest left no fingerprint for {', '.join(missing)}")
    return files


def run(options: RunOptions, progress: Progress | None = None) -> ledger.RunRecord:
    progress = progress or Progress()
    prepared = prepare(options)  # before Spark: bad config never starts a job
    # Everything the run creates is owner-only (0700/0600): warehouse folders, delta-rs
    # commits, the ledger, validation results, and a local Spark JVM started from here.
    with owner_only():
        return _run(options, prepared, progress)


def _run(options: RunOptions, prepared: Prepared, progress: Progress) -> ledger.RunRecord:
    try:
        warehouse = Warehouse(options.warehouse)
        check_writable(warehouse.root)
    except LocationError as exc:
        raise UsageError(f"--warehouse {exc}") from None
    except WarehouseUnwritable as exc:
        raise UsageError(str(exc)) from None
    run_id = ledger.new_run_id()
    try:
        with warehouse_lock(warehouse.root, run_id) as dead:
            if dead:
                progress.warn(
                    f"run {dead.get('run_id')} died without finishing (pid {dead.get('pid')} on "
                    f"{dead.get('host')} is gone); cleaning up after it"
                )
            report = recover(warehouse, holder=run_id, by=f"run {run_id}")
            for line in report.lines():
                progress.info(f"recovery: {line}")
            if report.unreadable:
                raise RunFailed(
                    f"cannot run: the log of {', '.join(report.unreadable)} cannot be read and "
                    "its files are kept; nothing was written. Restore the _delta_log from a "
                    "backup (`relief audit verify` lists what is damaged), then run again"
                )
            try:
                return _run_locked(options, prepared, warehouse, run_id, progress)
            finally:
                _secure(warehouse, prepared.access, progress)
    except WarehouseLocked as exc:
        raise RunFailed(str(exc)) from exc


def _run_locked(
    options: RunOptions,
    prepared: Prepared,
    warehouse: Warehouse,
    run_id: str,
    progress: Progress,
) -> ledger.RunRecord:
    try:
        # An object-store location adds the S3A settings and jars (jobs/runtime/spark.py); the
        # caller's own settings win.
        locations = [str(warehouse.root), *(f.path for f in prepared.files)]
        conf = {**storage_conf(locations, options.master), **options.conf}
        spark = build_session("relief-statewide", master=options.master, conf=conf)
        check_settings(spark, options.conf)
    except JavaMissingError as exc:
        raise UsageError(str(exc)) from exc
    record = ledger.RunRecord(
        run_id=run_id,
        started_at=dt.datetime.now(dt.UTC),
        compute_at=options.compute_at,
        inputs=prepared.files,
        counties_requested=prepared.targets,
    )
    try:
        _execute(spark, prepared, options, warehouse, record, progress)
    except UsageError:
        raise  # bad input found while reading it: nothing was recorded or committed
    except BaseException as exc:
        record.status = (
            ledger.STATUS_FAILED_VALIDATION
            if isinstance(exc, ValidationFailed)
            else ledger.STATUS_FAILED
        )
        record.message = f"{type(exc).__name__}: {exc}"[:4000]
        record.finished_at = dt.datetime.now(dt.UTC)
        record.stage_seconds = dict(progress.seconds)
        _record_failure(warehouse, record, progress)
        if isinstance(exc, RunFailed | KeyboardInterrupt | SystemExit):
            raise
        # Anything else (a full disk, a read-only remount, a Spark or delta-rs error, a
        # delta-rs panic) is a failed run for the person too: one line, exit 1.
        raise RunFailed(failure_line(exc)) from exc
    finally:
        try:
            remove_staging(warehouse, run_id)
        except OSError as exc:  # e.g. a read-only remount: the next run or recover removes it
            progress.warn(f"could not remove the run's staging folder ({exc.strerror or exc})")
    return record


# Conditions of the machine, not of relief, that a Spark or delta-rs error names deep inside
# its text: said first, with what to do.
_MACHINE_FAILURES = {
    "No space left on device": "the disk is full",
    "Disk quota exceeded": "the disk quota is exceeded",
    "Read-only file system": "the file system became read-only",
}


def failure_line(exc: BaseException) -> str:
    """One line for people about an unexpected failure of a run (the ledger keeps it whole)."""
    text = str(exc)
    for marker, meaning in _MACHINE_FAILURES.items():
        if marker in text:
            return (
                f"{meaning} ({marker}) while the run wrote; nothing it wrote is published and "
                "the published tables are unchanged. Free space or remount, then run again "
                "(or `relief recover`)"
            )
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    first = lines[0] if lines else ""
    return f"{type(exc).__name__}: {first[:500]}" if first else type(exc).__name__


def check_settings(spark: SparkSession, settings: Mapping[str, str]) -> None:
    """UsageError for a ``--conf`` SQL setting Spark would reject: Spark checks a SQL
    setting's value only when a query first reads it, deep inside the run; setting it again
    on the session runs the same check before anything is written."""
    for key, value in settings.items():
        if not key.startswith("spark.sql."):
            continue
        try:
            # Static SQL settings (spark.sql.extensions ...) took effect when the session
            # was built and cannot be set again. Asking builds the session's state, which
            # itself fails on some bad values.
            if spark.conf.isModifiable(key):
                spark.conf.set(key, value)
        except Exception as exc:  # pyspark's IllegalArgumentException and kin
            raise UsageError(
                f"--conf {key}={value}: {_setting_reason(exc, key)}; nothing was written"
            ) from None


def _setting_reason(exc: BaseException, key: str) -> str:
    """The line of Spark's error that says what is wrong with ``key`` (Spark wraps it, e.g.
    in "Error while instantiating 'SessionStateBuilder'"), without the Java class names."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    named = [line for line in lines if key in line and not line.startswith("at ")]
    reason = (named or lines or [type(exc).__name__])[0]
    return re.sub(r"^(?:Caused by:\s*)?(?:[\w.$]+(?:Exception|Error):\s*)+", "", reason)[:300]


def _secure(warehouse: Warehouse, access: AccessSettings, progress: Progress) -> None:
    """Modes and groups of the whole warehouse as conf/access.yaml says (owner-only by
    default). A failure leaves files more private than configured, never less: warned."""
    try:
        secure_warehouse(warehouse.root, access)
    except (AccessError, OSError) as exc:
        progress.warn(f"could not set the warehouse's permissions: {exc}")


def _record_failure(warehouse: Warehouse, record: ledger.RunRecord, progress: Progress) -> None:
    """The failed run's final row, then its table versions rolled back (it may have
    committed some before failing). A failure here is reported, not raised: the run's own
    failure is the error, and the next run's recovery finishes the job."""
    try:
        ledger.record(warehouse, record)
        report = roll_back_tables(warehouse, by=f"run {record.run_id}", only_run=record.run_id)
    except Exception as exc:  # e.g. the warehouse became unwritable
        progress.warn(
            f"could not record the failure of run {record.run_id} or roll back its table "
            f"versions ({type(exc).__name__}: {exc}); the next run or `relief recover` will"
        )
        return
    for line in report.lines():
        progress.info(f"rolled back: {line}")


def _no_change(
    record: ledger.RunRecord, published: Publication, force: bool, progress: Progress
) -> bool:
    """True when the run would reproduce the published tables (and is not forced)."""
    run = published.run
    if run is None:
        return False
    if run["run_key"] == record.run_key:
        if force:
            progress.info(f"same result as the published run {run['run_id']}; --force: committing")
            return False
        record.status = ledger.STATUS_NO_CHANGE
        record.finished_at = dt.datetime.now(dt.UTC)
        record.message = (
            f"same inputs, configuration and compute-at as the published run {run['run_id']}: "
            "nothing committed"
        )
        progress.info(record.message + " (use --force to commit a new version anyway)")
        return True
    before = ledger.run_key_parts(dict(run))  # {}: the run predates recorded key parts
    changed = changed_parts(before, record.run_key_parts or {}) if before else []
    if changed:
        progress.info(f"changed since the published run {run['run_id']}: {', '.join(changed)}")
    return False


def write_tables(
    spark: SparkSession,
    staged_ingest: StagedIngest,
    prepared: Prepared,
    compute_at: dt.date,
    staging: Path | StorePath,
) -> tuple[dict[str, list[Path | StorePath]], StructType, pa.Schema]:
    """The transform and the county files: the narrow query writes the facts (one Spark
    job, only FACT_INPUTS read from the staged rows), then the zip-writer
    (jobs/warehouse/county_files.py) writes each county's Parquet files from the staged
    rows and the facts. Returns the staged files per county, the Spark schema of the
    county rows (with TARGET_COUNTY) and the tables' Arrow schema."""
    rows = ingest.kept_rows_in_ranges(staged_ingest.lines)
    carry = (RANGE_ID, LOCAL_LINE)
    facts = annotate_facts(rows, prepared, compute_at, carry)
    raw_fields = [f for f in rows.schema.fields if f.name not in carry]
    added = [f for f in facts.schema.fields if f.name not in (*LINE_KEY, *carry)]
    staged_schema = StructType([*raw_fields, *added])
    schema = to_arrow_schema(StructType([f for f in staged_schema if f.name != TARGET_COUNTY]))
    facts_dir = staging / "facts"
    (
        facts.drop(*LINE_KEY)
        .withColumnRenamed(RANGE_ID, FACTS_RANGE)
        .write.mode("overwrite")
        .partitionBy(FACTS_RANGE)
        .parquet(str(facts_dir))
    )
    tables_dir = staging / "counties"
    out_fs, out_path = fs.filesystem(str(tables_dir))
    out_fs.create_dir(out_path, recursive=True)  # read back even when no county has rows
    ranges = staged_ingest.ranges
    write_county_files(
        spark,
        ranges,
        [staged_file(staged_ingest.directory, r[0]) for r in ranges],
        str(facts_dir),
        str(tables_dir),
        schema,
    )
    return staged_partitions(tables_dir, TARGET_COUNTY), staged_schema, schema


class Extracted(NamedTuple):
    """What extract hands on: the staged lines, the quarantine's staged files, the counts."""

    staged: StagedIngest
    quarantine_files: list[Path | StorePath]
    rows_kept: int
    rows_quarantined: int


class Transformed(NamedTuple):
    """The county tables, staged: files per county slug, and the rows as Spark reads them."""

    files: dict[str, list[Path | StorePath]]
    rows: DataFrame  # the staged county rows, with TARGET_COUNTY
    schema: pa.Schema  # every county table's Arrow schema


def _execute(
    spark: SparkSession,
    prepared: Prepared,
    options: RunOptions,
    warehouse: Warehouse,
    record: ledger.RunRecord,
    progress: Progress,
) -> None:
    """extract -> transform -> validate -> load, each a function of values; the ledger
    record is filled in from what each returns."""
    staging = warehouse.staging(record.run_id)
    # Created here (owner-only) before Spark writes into it: never readable by others even
    # with a JVM started elsewhere under another umask.
    if isinstance(staging, Path):
        staging.mkdir(mode=0o700, parents=True, exist_ok=True)

    staged = ingest_stage(spark, prepared, staging, progress)
    record.rows_read = staged.stats.rows_read
    record.inputs = prepared.files = ingested_files(prepared, staged)
    record.run_key_parts = run_key_parts(
        prepared, options.compute_at, record.inputs, result_settings(spark)
    )
    record.run_key = run_key(record.run_key_parts)
    published = publication(warehouse)
    if _no_change(record, published, options.force, progress):
        ledger.record(warehouse, record)
        return
    ledger.record(warehouse, record)  # running: from here on the run may change tables

    extracted = quarantine_stage(staged, staging, record.run_id, progress)
    record.rows_kept = extracted.rows_kept
    record.rows_quarantined = extracted.rows_quarantined
    if record.rows_read != record.rows_kept + record.rows_quarantined:
        raise RunFailed(
            f"conservation check failed: {record.rows_read} rows read != "
            f"{record.rows_kept} kept + {record.rows_quarantined} quarantined"
        )
    tables = transform_stage(spark, staged, prepared, options.compute_at, staging, progress)
    placement = conservation_stage(extracted, tables, prepared, progress)
    record.prop64_lines = placement.lines
    record.prop64_lines_in_tables = placement.in_tables
    record.prop64_lines_unplaced = placement.unplaced
    checked = validation_stage(extracted, tables, prepared, warehouse, record.run_id, progress)
    record.validation = checked.validation
    if checked.failure:
        raise ValidationFailed(checked.failure)
    summary = summary_stage(tables, record, progress)

    slugs = prepared.targets or [c.slug for c in prepared.counties.counties]
    rows = {s: parquet_rows(tables.files.get(s, [])) for s in slugs}
    check_shrink(published, rows, prepared, options)
    load_stage(tables, extracted, summary, slugs, published, prepared, warehouse, record, progress)
    record.status = ledger.STATUS_SUCCEEDED
    record.finished_at = dt.datetime.now(dt.UTC)
    record.stage_seconds = dict(progress.seconds)
    ledger.record(warehouse, record)  # the commit point: from now on readers serve this run


# --- the stages ---------------------------------------------------------------------------


def ingest_stage(
    spark: SparkSession, prepared: Prepared, staging: Path | StorePath, progress: Progress
) -> StagedIngest:
    """Extract, part one: every input line staged as Parquet (one task per byte range)."""
    with progress.stage("ingest", f"Reading {len(prepared.files)} input file(s)"):
        try:
            staged = stage_ingest(spark, prepared.files, staging / "ingested")
        except InputError as exc:
            raise UsageError(str(exc)) from exc
        progress.note(f"{fmt_count(staged.stats.rows_read)} rows read")
    if not staged.stats.rows_read:
        names = ", ".join(fs.normalize(f.path) for f in staged.files or prepared.files)
        raise UsageError(
            f"--input {names}: no data lines (empty, or a header only). Check that the extract "
            "is complete; nothing was written."
        )
    return staged


def quarantine_stage(
    staged: StagedIngest, staging: Path | StorePath, run_id: str, progress: Progress
) -> Extracted:
    """Extract, part two: the quarantined lines staged for their table, and the counts."""
    with progress.stage("quarantine", "Setting bad lines aside"):
        quarantine_dir = staging / "quarantine"
        quarantine_files: list[Path | StorePath] = []
        if staged.stats.quarantined:
            (
                ingest.quarantine_rows(staged.lines)
                .withColumn("run_id", F.lit(run_id))
                .coalesce(1)
                .sortWithinPartitions(SOURCE_FILE, SOURCE_LINE)
                .write.mode("overwrite")
                .parquet(str(quarantine_dir))
            )
            quarantine_files = staged_parquet_files(quarantine_dir)
        rows_quarantined = parquet_rows(quarantine_files)
        # Kept rows from the staged files' footers: an independent count of what was staged.
        rows_kept = staged_row_count(str(staging / "ingested")) - staged.stats.quarantined
        progress.note(
            f"{fmt_count(rows_kept)} rows kept, {fmt_count(rows_quarantined)} lines quarantined"
        )
    return Extracted(staged, quarantine_files, rows_kept, rows_quarantined)


def transform_stage(
    spark: SparkSession,
    staged: StagedIngest,
    prepared: Prepared,
    compute_at: dt.date,
    staging: Path | StorePath,
    progress: Progress,
) -> Transformed:
    """The narrow query (facts) and the zip-writer: every county table staged."""
    with progress.stage("transform", "Normalizing, building histories, applying policies"):
        tables_dir = staging / "counties"
        files, staged_schema, schema = write_tables(spark, staged, prepared, compute_at, staging)
        progress.note(f"{len(files)} county tables with rows staged")
    # Read back with the annotated schema: a run whose extract holds no county's rows has
    # no staged file to infer a schema from.
    rows = spark.read.schema(staged_schema).parquet(str(tables_dir))
    return Transformed(files, rows, schema)


def conservation_stage(
    extracted: Extracted, tables: Transformed, prepared: Prepared, progress: Progress
) -> Placement:
    """Every kept Prop 64 conviction line is in its county's table or counted with a reason
    (raises RunFailed otherwise)."""
    with progress.stage("conservation", "Checking every Prop 64 conviction reached its county"):
        placement = check_prop64_placed(
            ingest.kept_rows(extracted.staged.lines), tables.rows, prepared
        )
        progress.note(placement.note())
    return placement


class Checked(NamedTuple):
    validation: str  # the ledger's one-line summary of the suites
    failure: str | None  # the message of a critical failure: nothing may be committed


def validation_stage(
    extracted: Extracted,
    tables: Transformed,
    prepared: Prepared,
    warehouse: Warehouse,
    run_id: str,
    progress: Progress,
) -> Checked:
    """The suites on the staged rows; their results and page written to the warehouse."""
    with progress.stage("validation", "Validating with Great Expectations"):
        results = validate_staged(
            extracted.staged.lines,
            tables.rows,
            prepared.guards.min_kept_rows(extracted.staged.stats.rows_read),
        )
        evidence = record_evidence(
            results, warehouse.validation(run_id), run_id, page=validation_page.render
        )
        validation = evidence.summary(summarize(results))
        if evidence.problem:
            progress.warn(f"validation results could not be written: {evidence.problem}")
        for result in results:
            for outcome in result.warnings():
                progress.warn(outcome.message())
        progress.note(f"{validation}; results: {evidence.index or 'not written'}")
        failure = critical_failure_message(results)
        if failure:
            failure += f"\nNothing was committed. Results: {evidence.index or 'not written'}"
    return Checked(validation, failure)


def summary_stage(tables: Transformed, record: ledger.RunRecord, progress: Progress) -> pa.Table:
    """The summary table's rows: figures per county, from the staged county rows."""
    with progress.stage("summary", "Computing county figures"):
        figures = county_summary(tables.rows, record.compute_at).collect()  # small: aggregates
        summary_table = summary_arrow(figures, record)
        progress.note(f"{summary_table.num_rows:,} figures")
    return summary_table


def load_stage(
    tables: Transformed,
    extracted: Extracted,
    summary_table: pa.Table,
    slugs: list[str],
    published: Publication,
    prepared: Prepared,
    warehouse: Warehouse,
    record: ledger.RunRecord,
    progress: Progress,
) -> None:
    """One Delta version per county table (record.county_versions grows with each, so a run
    that dies part way names what it committed), then the quarantine and the summary."""
    run_id = record.run_id
    with progress.stage("commit", "Committing county tables"):
        for slug in sorted(slugs):
            files = tables.files.get(slug, [])
            policy_hash = prepared.policies.hash_for(slug)
            metadata = _commit_metadata(
                record,
                {
                    "county": slug,
                    "policy_hash": policy_hash,
                    "policy": prepared.policies.for_county(slug).canonical_json(),
                },
            )
            rows_in_table = parquet_rows(files)
            version = commit_files(
                warehouse.county(slug), files, run_id, metadata, schema=tables.schema
            )
            record.county_versions.append(
                {
                    "county": slug,
                    "version": version,
                    "rows": rows_in_table,
                    "policy_hash": policy_hash,
                    "carried_from": None,
                }
            )
            faults.point("county_committed")
        record.county_versions += carried_versions(published, slugs)
        if extracted.quarantine_files:
            record.quarantine_version = commit_files(
                warehouse.quarantine,
                extracted.quarantine_files,
                run_id,
                _commit_metadata(record, {}),
                mode="append",
            )
        if summary_table.num_rows:
            record.summary_version = append_rows(
                warehouse.summary, summary_table, _commit_metadata(record, {})
            )
        faults.point("tables_committed")
        written = len(slugs)
        empty = sum(1 for slug in slugs if slug not in tables.files)
        progress.note(
            f"{written} county tables committed ({empty} empty)"
            + (
                f"; {len(record.county_versions) - written} left as they were"
                if prepared.targets
                else ""
            )
        )


def carried_versions(published: Publication, written: list[str]) -> list[dict[str, Any]]:
    """Ledger entries for the counties a --counties run left as they were: their published
    versions, each with the run that wrote it."""
    return [
        {
            "county": slug,
            "version": entry.version,
            "rows": entry.rows,
            "policy_hash": entry.policy_hash,
            "carried_from": entry.written_by,
        }
        for slug, entry in sorted(published.counties.items())
        if slug not in written
    ]


class Placement(NamedTuple):
    """Conservation, part two, counted: Prop 64 conviction lines, those in their county's
    table, and the others by county and reason."""

    lines: int
    in_tables: int
    unplaced: list[dict[str, Any]]

    def note(self) -> str:
        unplaced = sum(int(u["rows"]) for u in self.unplaced)
        return (
            f"{fmt_count(self.lines)} Prop 64 conviction lines = "
            f"{fmt_count(self.in_tables)} in their county's table + "
            f"{unplaced:,} counted with a reason"
        )


def _counts_by(rows: DataFrame, column: str) -> dict[str, int]:
    return {r[column]: int(r["count"]) for r in rows.groupBy(column).count().collect()}


def check_prop64_placed(rows: DataFrame, staged_rows: DataFrame, prepared: Prepared) -> Placement:
    """Conservation, part two (transforms/conservation.py): every kept Prop 64 conviction line
    of a California county (of the counties run) is in its county's table or counted in the
    ledger with a reason. Raises RunFailed, before any commit, for a line no reason explains.
    Collects counts only."""
    lines = conservation.prop64_conviction_lines(
        rows, prepared.counties, prepared.offenses, prepared.targets
    )
    # From counts first: the lines per county against the tables' such rows per county. The
    # join that names each line runs only when they differ.
    expected = _counts_by(lines, COUNTY_SLUG)
    if expected == _counts_by(conservation.placed_lines(staged_rows), COUNTY_SLUG):
        total = sum(expected.values())
        return Placement(total, total, [])
    placed = conservation.with_placed(lines, staged_rows)
    counts = placed.groupBy(conservation.PLACED).count().collect()
    by_placed = {bool(r[conservation.PLACED]): int(r["count"]) for r in counts}
    total, in_tables = sum(by_placed.values()), by_placed.get(True, 0)
    if not by_placed.get(False):
        return Placement(total, in_tables, [])
    unplaced = placed.where(~F.col(conservation.PLACED)).drop(conservation.PLACED)
    subjects = conservation.subjects_rows(rows, unplaced.where(F.col("subject").isNotNull()))
    reasons = conservation.with_unplaced_reason(
        unplaced, subjects, prepared.counties, prepared.offenses
    )
    grouped = (
        reasons.groupBy(COUNTY_SLUG, conservation.UNPLACED_REASON)
        .agg(F.count("*").alias("rows"), F.min(F.struct("source_line", "record_id")).alias("first"))
        .collect()
    )
    unexplained = [r for r in grouped if r[conservation.UNPLACED_REASON] is None]
    if unexplained:
        count = sum(int(r["rows"]) for r in unexplained)
        first = unexplained[0]
        raise RunFailed(
            f"conservation check failed: {count} kept Prop 64 conviction line(s) of "
            f"{', '.join(sorted(r[COUNTY_SLUG] for r in unexplained))} are in no county table "
            f"and no reason explains it (e.g. record {first['first']['record_id']}). Nothing "
            "was committed; this is a defect of relief: report it with the record."
        )
    return Placement(
        total,
        in_tables,
        [
            {
                "county": r[COUNTY_SLUG],
                "reason": r[conservation.UNPLACED_REASON],
                "rows": int(r["rows"]),
            }
            for r in sorted(
                grouped, key=lambda r: (r[COUNTY_SLUG], r[conservation.UNPLACED_REASON])
            )
        ],
    )


SUMMARY_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("compute_at", pa.date32()),
        ("county", pa.string()),
        ("flow", pa.string()),
        ("metric", pa.string()),
        ("key", pa.string()),
        ("key2", pa.string()),
        ("value", pa.int64()),
        ("text", pa.string()),
    ]
)


def summary_arrow(figures: list[Any], record: ledger.RunRecord) -> pa.Table:
    rows = [
        {"run_id": record.run_id, "compute_at": record.compute_at, **row.asDict()}
        for row in figures
    ]
    return pa.Table.from_pylist(rows, schema=SUMMARY_SCHEMA)


def check_shrink(
    published: Publication, rows: Mapping[str, int], prepared: Prepared, options: RunOptions
) -> None:
    """Stop before publishing (RunFailed: exit 1, the ledger records the line) when county
    tables would keep less than pipeline.yaml's relief.shrink_min_share of their published
    rows, unless ``--allow-shrink``."""
    guards = prepared.guards
    problem = shrink_message(published, rows, guards.shrink_min_share, guards.shrink_min_rows)
    if problem is not None and not options.allow_shrink:
        raise RunFailed(problem)


def validate_staged(
    ingested: DataFrame, staged_rows: DataFrame, min_kept_rows: int = 0
) -> list[SuiteResult]:
    """The three suites, on staged data (never the live pipeline, which would be recomputed).

    raw: every kept row of the extract, from the staged ingest. normalized and annotated:
    the staged county tables, whose rows carry the normalized columns; the job normalizes
    only the rows of subjects a county table can hold, so those are the normalized rows
    that decide anything.
    """
    kept = ingest.kept_rows(ingested)
    results = [validate(kept, "raw", parameters={"raw_min_kept_rows": min_kept_rows})]
    results.extend(validate_together(staged_rows, ["normalized", "annotated"]))
    return results


def _commit_metadata(record: ledger.RunRecord, extra: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "run_id": record.run_id,
        "compute_at": record.compute_at.isoformat(),
        "input_fingerprints": json.dumps(
            {fs.normalize(f.path): f.fingerprint for f in record.inputs}
        ),
        "relief_version": __version__,
        "validation": record.validation or "",
        "rows_read": str(record.rows_read),  # the gogen export's lineCount (DOMAIN.md §5)
        **extra,
    }


# --- spark-submit entry point ---------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """``spark-submit … jobs/statewide.py --input … --warehouse …`` or ``python -m
    relief.jobs.statewide …``: the `relief run` command itself, with its options (``--json`` for a
    JSON result on stdout), messages and exit codes (0, 1 failed, 2 bad usage)."""
    from relief.jobs.cli import main as relief

    relief(["run", *(sys.argv[1:] if argv is None else argv)], prog_name="jobs/statewide.py")


if __name__ == "__main__":
    main()
