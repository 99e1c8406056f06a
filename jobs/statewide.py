"""The statewide job: DOJ extract -> validated, annotated Delta table per county.

Runs from the CLI (``relief run``) or directly under spark-submit::

    spark-submit --py-files dist/relief.zip --files conf/... jobs/statewide.py \\
        --input /data/doj/*.csv.gz --warehouse /data/relief

Wiring only: extract (read and fingerprint inputs), transform (the pure functions of
transforms/), load (stage Parquet with Spark, commit with delta-rs, record the ledger).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import shutil
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from expectations.runner import (
    SuiteResult,
    critical_failure_message,
    summarize,
    validate,
    validate_together,
)
from jobs import __version__
from jobs.config import ConfigError, load_counties
from jobs.config.offenses import load_offenses
from jobs.config.policies import PolicySet, load_policy_set
from jobs.progress import Progress, fmt_count
from jobs.spark import JavaMissingError, build_session
from jobs.warehouse import ledger
from jobs.warehouse.inputs import (
    InputError,
    InputFile,
    LineStats,
    describe_inputs,
    expand_inputs,
    read_staged,
    run_ingest_pass,
    staged_row_count,
)
from jobs.warehouse.lock import WarehouseLocked, warehouse_lock
from jobs.warehouse.storage import (
    Warehouse,
    append_rows,
    clear_staging,
    commit_files,
    remove_orphans,
    staged_parquet_files,
    staged_partitions,
)
from jobs.warehouse.validation import write_results
from transforms import ingest
from transforms.columns import INPUT_INDEX, SOURCE_FILE, SOURCE_LINE, TARGET_COUNTY
from transforms.eligibility import apply_policies
from transforms.history import fan_out_to_counties, prop64_subject_rows, subject_history
from transforms.normalize import normalize
from transforms.offenses import Offenses
from transforms.summary import county_summary
from transforms.vocabulary import Counties, UnknownCounty


class UsageError(Exception):
    """Bad arguments, inputs or configuration: exit code 2, nothing written."""


class RunFailed(Exception):
    """The run started but could not publish its results: exit code 1."""


class ValidationFailed(RunFailed):
    """A critical expectation failed: nothing was committed (runs status failed_validation)."""


@dataclass
class RunOptions:
    inputs: str | list[str]
    warehouse: Path
    compute_at: dt.date = field(default_factory=dt.date.today)
    counties: list[str] | None = None
    master: str | None = None
    conf: dict[str, str] = field(default_factory=dict)
    policy_dir: Path | None = None
    eligibility_options: Path | None = None
    force: bool = False


@dataclass
class Prepared:
    """Everything validated before Spark starts."""

    files: list[InputFile]
    counties: Counties
    offenses: Offenses
    policies: PolicySet
    targets: list[str] | None  # county slugs requested, None = all


def prepare(options: RunOptions) -> Prepared:
    """Validate inputs and configuration; raise UsageError with a message for people."""
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
    except (ConfigError, InputError) as exc:
        raise UsageError(str(exc)) from exc
    return Prepared(files, counties, offenses, policies, targets)


# --- transform ----------------------------------------------------------------------------


class StagedIngest(NamedTuple):
    """What the ingest stage staged: the lines, their counts, and the files fingerprinted."""

    lines: DataFrame  # kept and quarantined lines (transforms/ingest.py with_provenance)
    stats: LineStats
    files: list[InputFile]  # as given, with the fingerprints the ingest pass computed


def stage_ingest(spark: SparkSession, files: list[InputFile], directory: Path) -> StagedIngest:
    """Read, classify, parse and fingerprint the inputs once, into staged Parquet under
    ``directory`` (jobs/warehouse/inputs.py: one Spark task per byte range).

    Counts, quarantine and the pipeline then read the staged Parquet. Raises InputError for
    an input that cannot be read, is given twice or holds no rows.
    """
    done = run_ingest_pass(spark, files, str(directory))
    return StagedIngest(read_staged(spark, str(directory), done), done.stats, done.files)


def annotate_steps(
    rows: DataFrame, prepared: Prepared, compute_at: dt.date
) -> dict[str, DataFrame]:
    """The transform cut after each of its steps, in order; the last is :func:`annotate`.

    Only rows of subjects who may have a Prop 64 conviction are normalized (a cheap screen
    on the raw rows first): the others can reach no county table. ``make bench`` times the
    cuts one by one.
    """
    candidates = prop64_subject_rows(rows, prepared.counties, prepared.offenses)
    normalized = normalize(candidates, prepared.counties, prepared.offenses)
    history = normalized.transform(subject_history).transform(fan_out_to_counties)
    if prepared.targets is not None:
        history = history.where(F.col(TARGET_COUNTY).isin(prepared.targets))
    eligible = apply_policies(
        history, prepared.policies.by_county, prepared.policies.default, compute_at
    )
    return {"screen_and_normalize": normalized, "history": history, "eligibility": eligible}


def annotate(rows: DataFrame, prepared: Prepared, compute_at: dt.date) -> DataFrame:
    """Kept extract rows -> rows of each county table, with determinations."""
    return annotate_steps(rows, prepared, compute_at)["eligibility"]


def validate_extract(
    spark: SparkSession,
    input_spec: str | list[str],
    counties: Counties,
    offenses: Offenses,
) -> list[SuiteResult]:
    """Run the raw and normalized suites on an extract; write nothing to any table.

    Raises jobs.warehouse.inputs.InputError for a missing or unreadable input (bad usage, exit 2).
    Lines ingest would quarantine are left out, as in a run: the suites see kept rows.
    """
    files = describe_inputs(expand_inputs(input_spec))
    with tempfile.TemporaryDirectory(prefix="relief-validate-") as work:
        raw = ingest.kept_rows(stage_ingest(spark, files, Path(work) / "ingested").lines)
        # normalize keeps every raw column unchanged: one projection of the normalized rows
        # serves both suites, so the staged rows are read once.
        normalized = normalize(raw, counties, offenses)
        return validate_together(normalized, ["raw", "normalized"], schemas={"raw": raw})


# --- the run ------------------------------------------------------------------------------


def run_key(prepared: Prepared, compute_at: dt.date) -> str:
    """Identity of a run's inputs: same key -> same tables (idempotence)."""
    payload = {
        "inputs": sorted(f.fingerprint for f in prepared.files),
        "policies": prepared.policies.hashes(prepared.targets),
        "compute_at": compute_at.isoformat(),
        "counties": prepared.targets,
        "relief": __version__,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def run(options: RunOptions, progress: Progress | None = None) -> ledger.RunRecord:
    progress = progress or Progress()
    prepared = prepare(options)  # before Spark: bad config never starts a job
    warehouse = Warehouse(options.warehouse)
    run_id = ledger.new_run_id()
    try:
        with warehouse_lock(warehouse.root, run_id) as dead:
            if dead:
                progress.warn(
                    f"run {dead.get('run_id')} died without finishing; it is marked incomplete "
                    "and its staging files are removed"
                )
            return _run_locked(options, prepared, warehouse, run_id, progress)
    except WarehouseLocked as exc:
        raise RunFailed(str(exc)) from exc


def _run_locked(
    options: RunOptions,
    prepared: Prepared,
    warehouse: Warehouse,
    run_id: str,
    progress: Progress,
) -> ledger.RunRecord:
    record = ledger.RunRecord(
        run_id=run_id,
        started_at=dt.datetime.now(dt.UTC),
        compute_at=options.compute_at,
        inputs=prepared.files,
        counties_requested=prepared.targets,
    )
    try:
        spark = build_session("relief-statewide", master=options.master, conf=options.conf)
    except JavaMissingError as exc:
        raise UsageError(str(exc)) from exc
    ledger.record(warehouse, record)
    staging = warehouse.staging(run_id)
    try:
        _execute(spark, prepared, options, warehouse, record, progress)
    except BaseException as exc:
        record.status = (
            ledger.STATUS_FAILED_VALIDATION
            if isinstance(exc, ValidationFailed)
            else ledger.STATUS_FAILED
        )
        record.message = f"{type(exc).__name__}: {exc}"[:4000]
        record.finished_at = dt.datetime.now(dt.UTC)
        record.stage_seconds = dict(progress.seconds)
        ledger.record(warehouse, record)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return record


def _execute(
    spark: SparkSession,
    prepared: Prepared,
    options: RunOptions,
    warehouse: Warehouse,
    record: ledger.RunRecord,
    progress: Progress,
) -> None:
    run_id = record.run_id
    staging = warehouse.staging(run_id)
    for dead in clear_staging(warehouse, keep_run=run_id):
        progress.info(f"removed staging files of an earlier, unfinished run {dead}")

    with progress.stage("ingest", f"Reading {len(prepared.files)} input file(s)"):
        try:
            staged_ingest = stage_ingest(spark, prepared.files, staging / "ingested")
        except InputError as exc:
            raise UsageError(str(exc)) from exc
        ingested, line_stats = staged_ingest.lines, staged_ingest.stats
        record.rows_read = line_stats.rows_read
        progress.note(f"{fmt_count(record.rows_read)} rows read")

    # The run key needs the inputs' fingerprints, which the ingest pass computes.
    prepared.files = record.inputs = staged_ingest.files
    record.run_key = run_key(prepared, options.compute_at)
    last = ledger.last_successful(warehouse)
    if last is not None and last["run_key"] == record.run_key and not options.force:
        record.status = ledger.STATUS_NO_CHANGE
        record.finished_at = dt.datetime.now(dt.UTC)
        record.message = (
            f"same inputs, policies and compute-at as run {last['run_id']}: nothing committed"
        )
        progress.info(record.message + " (use --force to commit a new version anyway)")
        ledger.record(warehouse, record)
        return

    with progress.stage("quarantine", "Setting bad lines aside"):
        quarantine_dir = staging / "quarantine"
        quarantine_files: list[Path] = []
        if line_stats.quarantined:
            (
                ingest.quarantine_rows(ingested)
                .withColumn("run_id", F.lit(run_id))
                .coalesce(1)
                .sortWithinPartitions(SOURCE_FILE, SOURCE_LINE)
                .write.mode("overwrite")
                .parquet(str(quarantine_dir))
            )
            quarantine_files = staged_parquet_files(quarantine_dir)
        record.rows_quarantined = _parquet_rows(quarantine_files)
        # Kept rows from the staged files' footers: an independent count of what was staged.
        record.rows_kept = staged_row_count(str(staging / "ingested")) - line_stats.quarantined
        rows = ingest.kept_rows(ingested)
        progress.note(
            f"{fmt_count(record.rows_kept)} rows kept, "
            f"{fmt_count(record.rows_quarantined)} lines quarantined"
        )
    if record.rows_read != record.rows_kept + record.rows_quarantined:
        raise RunFailed(
            f"conservation check failed: {record.rows_read} rows read != "
            f"{record.rows_kept} kept + {record.rows_quarantined} quarantined"
        )

    with progress.stage("transform", "Normalizing, building histories, applying policies"):
        annotated = annotate(rows, prepared, options.compute_at)
        tables_dir = staging / "counties"
        (
            annotated.repartition(TARGET_COUNTY)
            .sortWithinPartitions(TARGET_COUNTY, INPUT_INDEX, SOURCE_LINE)
            .write.mode("overwrite")
            .partitionBy(TARGET_COUNTY)
            .parquet(str(tables_dir))
        )
        staged = staged_partitions(tables_dir, TARGET_COUNTY)
        progress.note(f"{len(staged)} county tables staged")

    with progress.stage("validation", "Validating with Great Expectations"):
        staged_rows = spark.read.parquet(str(tables_dir))
        results = validate_staged(ingested, staged_rows)
        record.validation = summarize(results)
        index = write_results(results, warehouse.validation(run_id), run_id)
        for result in results:
            for outcome in result.warnings():
                progress.warn(outcome.message())
        progress.note(f"{record.validation}; Data Docs: {index}")
        failure = critical_failure_message(results)
        if failure:
            raise ValidationFailed(f"{failure}\nNothing was committed. Results: {index}")

    with progress.stage("summary", "Computing county figures"):
        figures = county_summary(staged_rows, options.compute_at).collect()  # small: aggregates
        summary_table = summary_arrow(figures, record)
        progress.note(f"{summary_table.num_rows:,} figures")

    with progress.stage("commit", "Committing county tables"):
        for slug, files in sorted(staged.items()):
            table = warehouse.county(slug)
            remove_orphans(table, keep_run=run_id)
            policy_hash = prepared.policies.hash_for(slug)
            metadata = _commit_metadata(
                record,
                prepared,
                {"county": slug, "policy_hash": policy_hash,
                 "policy": prepared.policies.for_county(slug).canonical_json()},
            )  # fmt: skip
            rows_in_table = _parquet_rows(files)
            version = commit_files(table, files, run_id, metadata)
            record.county_versions.append(
                {
                    "county": slug,
                    "version": version,
                    "rows": rows_in_table,
                    "policy_hash": policy_hash,
                }
            )
        if quarantine_files:
            remove_orphans(warehouse.quarantine, keep_run=run_id)
            record.quarantine_version = commit_files(
                warehouse.quarantine,
                quarantine_files,
                run_id,
                _commit_metadata(record, prepared, {}),
                mode="append",
            )
        if summary_table.num_rows:
            record.summary_version = append_rows(
                warehouse.summary, summary_table, _commit_metadata(record, prepared, {})
            )
        progress.note(f"{len(record.county_versions)} county tables committed")

    record.status = ledger.STATUS_SUCCEEDED
    record.finished_at = dt.datetime.now(dt.UTC)
    record.stage_seconds = dict(progress.seconds)
    ledger.record(warehouse, record)


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


def validate_staged(ingested: DataFrame, staged_rows: DataFrame) -> list[SuiteResult]:
    """The three suites, on staged data (never the live pipeline, which would be recomputed).

    raw: every kept row of the extract, from the staged ingest. normalized and annotated:
    the staged county tables, whose rows carry the normalized columns; the job normalizes
    only the rows of subjects a county table can hold, so those are the normalized rows
    that decide anything.
    """
    results = [validate(ingest.kept_rows(ingested), "raw")]
    results.extend(validate_together(staged_rows, ["normalized", "annotated"]))
    return results


def _commit_metadata(
    record: ledger.RunRecord, prepared: Prepared, extra: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        "run_id": record.run_id,
        "compute_at": record.compute_at.isoformat(),
        "input_fingerprints": json.dumps({f.path: f.fingerprint for f in prepared.files}),
        "relief_version": __version__,
        "validation": record.validation or "",
        "rows_read": str(record.rows_read),  # the gogen export's lineCount (DOMAIN.md §5)
        **extra,
    }


def _parquet_rows(files: list[Path]) -> int:
    return sum(pq.read_metadata(f).num_rows for f in files)


# --- spark-submit entry point ---------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="jobs/statewide.py", description=__doc__)
    parser.add_argument("--input", required=True)
    parser.add_argument("--warehouse", required=True, type=Path)
    parser.add_argument("--compute-at", type=dt.date.fromisoformat, default=dt.date.today())
    parser.add_argument("--counties")
    parser.add_argument("--policy-dir", type=Path)
    parser.add_argument("--eligibility-options", type=Path)
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args(argv)
    options = RunOptions(
        inputs=args.input,
        warehouse=args.warehouse,
        compute_at=args.compute_at,
        counties=args.counties.split(",") if args.counties else None,
        policy_dir=args.policy_dir,
        eligibility_options=args.eligibility_options,
        force=args.force,
    )
    try:
        result = run(options)
    except UsageError as exc:
        print(f"relief: {exc}", file=sys.stderr)
        return 2
    except RunFailed as exc:
        print(f"relief: run failed: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"run_id": result.run_id, "status": result.status}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
